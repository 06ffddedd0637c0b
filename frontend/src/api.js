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

export const SESSION_HEADER = "X-Session-Token";
export const WORKSPACE_HEADER = "X-Workspace";

let askForAccess = null;

/**
 * Set the function that asks the trader for the platform's access token (the login form):
 * it resolves once logged in, or rejects when the trader gives up.
 */
export function onAccessRequired(fn) {
  askForAccess = fn;
}

/** True for the 401 of a platform behind ACCESS_TOKEN (not a session's 401). */
const needsAccess = (status, body) =>
  status === 401 && Array.isArray(body?.detail) && body.detail[0]?.field === "Authorization";

async function send(method, path, { query, json, signal, token, headers, accept = "application/json" }) {
  const url = new URL(path, window.location.href);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  // The session token travels in a header, never in the URL (history, logs, Referer).
  const init = { method, signal, headers: { ...headers, accept }, credentials: "same-origin" };
  if (token) init.headers[SESSION_HEADER] = token;
  if (json !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new NetworkError(err);
  }
}

/** The ApiError of an answer's status, body text and Retry-After header. */
function errorOf(status, text, retryAfter) {
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text.slice(0, 200) };
  }
  const retry = Number.parseInt(retryAfter ?? "", 10);
  return new ApiError(status, body, Number.isFinite(retry) ? retry : null);
}

async function failure(res) {
  return errorOf(res.status, await res.text(), res.headers.get("retry-after"));
}

const RETRY_DELAY_MS = 250;

/**
 * Send a request; behind an access token, ask for it once (login form) and send again. A GET
 * that fails with 500 or a dropped connection is sent once more: that is what a request gets
 * whose replica died under it (Serve does not replay accepted requests); a GET is safe to repeat.
 */
async function answer(method, path, options = {}) {
  let res;
  try {
    res = await send(method, path, options);
  } catch (err) {
    if (method !== "GET" || !(err instanceof NetworkError)) throw err;
    res = null; // the connection dropped with its replica: once more, below
  }
  if (method === "GET" && (res === null || res.status === 500)) {
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    res = await send(method, path, options);
  }
  if (res.status === 401 && askForAccess) {
    const err = await failure(res);
    if (!needsAccess(err.status, err.body)) throw err;
    await askForAccess(err);
    res = await send(method, path, options);
  }
  if (!res.ok) throw await failure(res);
  return res;
}

async function request(method, path, options = {}) {
  const res = await answer(method, path, options);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// --- access and sessions -------------------------------------------------------------------

/** Log in with the platform's access token: the answer sets an HttpOnly cookie. */
export async function login(accessToken) {
  const res = await send("POST", "login", { json: { access_token: accessToken } });
  if (!res.ok) throw await failure(res);
}

/** A new session: {session_token, expires_in, workspace, workspace_expires_in}. In
 * ``workspace`` (sent as a header, a secret like the token) while the platform knows it. */
export const initiateSession = (workspace = null) =>
  request("GET", "utils/session/initiate", { headers: workspace ? { [WORKSPACE_HEADER]: workspace } : {} });

export const heartbeatSession = (token) => request("POST", "utils/session/heartbeat", { token });

// --- chart data ---------------------------------------------------------------------------

/** The newest bars of a chart: {request_id, total, has_more, tz_offsets, bars, ...}. */
export const fetchHistorical = (token, spec, signal) =>
  request("GET", "historical/", {
    signal, token,
    query: { symbol: spec.symbol, interval: spec.interval, start: spec.start, end: spec.end, rth: spec.rth },
  });

/** The bars just before ``before`` (UTC seconds) of an earlier /historical answer. */
export const fetchChunk = (token, requestId, before, limit, signal) =>
  request("GET", "historical/chunk", { signal, token, query: { request_id: requestId, before, limit } });

// --- strategies, backtests, optimizations ---------------------------------------------------

export const fetchStrategies = () => request("GET", "strategies/");

export const runBacktest = (token, body, signal) =>
  request("POST", "backtest/", { signal, token, json: body });

/** Submit an optimization: 202 {job_id, combinations}. */
export const submitOptimization = (token, body) =>
  request("POST", "optimize/", { token, json: body });

export const optimizationStatus = (token, jobId) =>
  request("GET", `optimize/${encodeURIComponent(jobId)}`, { token });

export const cancelOptimization = (token, jobId) =>
  request("DELETE", `optimize/${encodeURIComponent(jobId)}`, { token });

/**
 * Follow the job's server-sent events over fetch (an EventSource cannot send the session
 * header): ``onEvent(name, data)`` for each event; resolves when the stream closes.
 */
export const followOptimization = (token, jobId, onEvent, signal) =>
  followEvents(`optimize/${encodeURIComponent(jobId)}/events`, {}, token, onEvent, signal);

/**
 * Follow today's bars of a chart ({symbol, interval, rth}) from ``since`` (the newest bar
 * held): ``onEvent("bar" | "status" | "end", data)``; resolves when the stream closes.
 */
export const followLiveBars = (token, spec, since, onEvent, signal) =>
  followEvents("historical/stream", {
    symbol: spec.symbol, interval: spec.interval, rth: spec.rth,
    ...(since === null || since === undefined ? {} : { since }),
  }, token, onEvent, signal);

/** Read a server-sent event stream over fetch, calling ``onEvent(name, data)`` per event. */
async function followEvents(path, query, token, onEvent, signal) {
  const res = await answer("GET", path, { query, token, signal, accept: "text/event-stream" });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// --- stored runs ------------------------------------------------------------------------------

/** The workspace's runs, newest first: {runs: [{run_id, strategy, symbol, ..., metrics}], total}. */
export const listRuns = (token, limit = 200) => request("GET", "runs/", { token, query: { limit } });

/** A whole stored run: {run_id, kind, created, request, summary, result, stored}. */
export const fetchRun = (token, runId) => request("GET", `runs/${encodeURIComponent(runId)}`, { token });

export const deleteRun = (token, runId) => request("DELETE", `runs/${encodeURIComponent(runId)}`, { token });

/**
 * A run's download ("trades.csv" or "report.json") as {blob, filename}: fetched with the session
 * header (a plain link could not carry it), to be saved by the page.
 */
export async function downloadRun(token, runId, file) {
  const res = await answer("GET", `runs/${encodeURIComponent(runId)}/${file}`, { token, accept: "*/*" });
  const named = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "");
  return { blob: await res.blob(), filename: named?.[1] ?? `run-${runId}-${file}` };
}

// --- imported data ---------------------------------------------------------------------------

/** The market-data sources and their symbols: {sources: [{name, kind, symbols}]}. */
export const fetchDataSources = (token) => request("GET", "data/", { token });

/** How far the server is with an upload: {import_id, state, rows, bytes_read, bytes_total}. */
export const importStatus = (token, importId, signal) =>
  request("GET", `data/imports/${encodeURIComponent(importId)}`, { token, signal });

export const deleteImported = (token, symbol) =>
  request("DELETE", `data/${encodeURIComponent(symbol)}`, { token });

/**
 * POST a multipart form with XMLHttpRequest, the one browser API that reports upload progress:
 * ``onProgress(sent, total)`` as bytes leave. Resolves to {status, text, retryAfter}; rejects
 * with NetworkError (or an AbortError when ``signal`` aborts).
 */
function postForm(path, form, { token, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", new URL(path, window.location.href));
    xhr.withCredentials = true;
    xhr.setRequestHeader("accept", "application/json");
    if (token) xhr.setRequestHeader(SESSION_HEADER, token);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded, event.total);
    });
    xhr.addEventListener("load", () =>
      resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader("retry-after") }));
    xhr.addEventListener("error", () => reject(new NetworkError(new Error("upload failed"))));
    xhr.addEventListener("abort", () => reject(new DOMException("The upload was cancelled.", "AbortError")));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

/**
 * Import a CSV or Parquet file: ``fields`` are {file, symbol, timezone, resolution, session,
 * import_id} (blank ones are left out). Answers {symbol, bars, first, last, resolution, ...}.
 */
export async function importFile(token, fields, { onProgress, signal } = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && value !== "") form.append(name, value);
  }
  let res = await postForm("data/import", form, { token, onProgress, signal });
  if (res.status === 401 && askForAccess) {
    const err = errorOf(res.status, res.text, res.retryAfter);
    if (!needsAccess(err.status, err.body)) throw err;
    await askForAccess(err);
    res = await postForm("data/import", form, { token, onProgress, signal });
  }
  if (res.status < 200 || res.status >= 300) throw errorOf(res.status, res.text, res.retryAfter);
  return res.text ? JSON.parse(res.text) : null;
}

export const fetchHealth = () => request("GET", "health");
