// The platform's HTTP API: one function per endpoint, JSON in and out, errors as ApiError.
// No DOM here: the view modules decide how an error is shown.

/** An answer other than 2xx, with what the platform's JSON error body says. */
export class ApiError extends Error {
  constructor(status, body, retryAfterS = null) {
    super(describe(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.kind = body?.error ?? null;
    this.retryAfterS = retryAfterS;
    this.fields = Array.isArray(body?.detail) ? body.detail : [];
  }

  /** The first field the platform named (e.g. "end", "grid.fast"), or null. */
  get field() {
    return this.fields[0]?.field ?? null;
  }
}

/** A request that never reached the platform (network down, server gone). */
export class NetworkError extends Error {
  constructor(cause) {
    super("The platform cannot be reached. Check that it is running.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

function describe(status, body) {
  const detail = body?.detail;
  if (Array.isArray(detail) && detail.length) {
    return detail.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join("; ");
  }
  if (typeof detail === "string" && detail) return detail;
  return `HTTP ${status}`;
}

async function request(method, path, { query, json, signal } = {}) {
  const url = new URL(path, window.location.href);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  const init = { method, signal, headers: { accept: "application/json" } };
  if (json !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new NetworkError(err);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text.slice(0, 200) };
  }
  if (!res.ok) {
    const retry = Number.parseInt(res.headers.get("retry-after") ?? "", 10);
    throw new ApiError(res.status, body, Number.isFinite(retry) ? retry : null);
  }
  return body;
}

// --- sessions -----------------------------------------------------------------------------

export const initiateSession = () => request("GET", "utils/session/initiate");

export const heartbeatSession = (token) =>
  request("POST", "utils/session/heartbeat", { json: { session_token: token } });

// --- chart data ---------------------------------------------------------------------------

/** The newest bars of a chart: {request_id, total, has_more, tz_offsets, bars, ...}. */
export const fetchHistorical = (token, spec, signal) =>
  request("GET", "historical/", {
    signal,
    query: {
      symbol: spec.symbol, interval: spec.interval, start: spec.start, end: spec.end,
      rth: spec.rth, session_token: token,
    },
  });

/** The bars just before ``before`` (UTC seconds) of an earlier /historical answer. */
export const fetchChunk = (token, requestId, before, limit, signal) =>
  request("GET", "historical/chunk", {
    signal,
    query: { request_id: requestId, before, limit, session_token: token },
  });

// --- strategies, backtests, optimizations ---------------------------------------------------

export const fetchStrategies = () => request("GET", "strategies/");

export const runBacktest = (token, body, signal) =>
  request("POST", "backtest/", { signal, json: { ...body, session_token: token } });

/** Submit an optimization: 202 {job_id, combinations}. */
export const submitOptimization = (token, body) =>
  request("POST", "optimize/", { json: { ...body, session_token: token } });

export const optimizationStatus = (token, jobId) =>
  request("GET", `optimize/${encodeURIComponent(jobId)}`, { query: { session_token: token } });

export const cancelOptimization = (token, jobId) =>
  request("DELETE", `optimize/${encodeURIComponent(jobId)}`, { query: { session_token: token } });

/** URL of the job's server-sent events (progress, then end). */
export function optimizationEventsUrl(token, jobId) {
  const url = new URL(`optimize/${encodeURIComponent(jobId)}/events`, window.location.href);
  url.searchParams.set("session_token", token);
  return url.toString();
}

export const fetchHealth = () => request("GET", "health");
