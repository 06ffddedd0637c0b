// What an API error means to a trader: a toast title and message.
import { ApiError, NetworkError } from "./api.js";

const FIELD_NAMES = {
  symbol: "Symbol", interval: "Interval", start: "From", end: "To", rth: "Hours",
  strategy: "Strategy", objective: "Objective", top_n: "Top results",
  "X-Session-Token": "Session", request_id: "Chart",
  file: "File", timezone: "Time zone", resolution: "Resolution", session: "Session hours",
  import_id: "Import",
};

/** A readable name for a field the platform named ("params.fast" -> "fast"). */
export function fieldLabel(field) {
  if (!field) return "";
  if (FIELD_NAMES[field]) return FIELD_NAMES[field];
  return field.replace(/^(params|grid)\./, "").replace(/^walk_forward\./, "walk-forward ")
    .replaceAll("_", " ");
}

/** {kind, title, message} for a toast about ``err`` while doing ``what`` ("Loading the chart"). */
export function explain(err, what) {
  if (err instanceof NetworkError) {
    return { kind: "error", title: `${what} failed`, message: err.message };
  }
  if (!(err instanceof ApiError)) {
    return { kind: "error", title: `${what} failed`, message: String(err?.message ?? err) };
  }
  if (err.status === 422) {
    const message = err.fields.length
      ? err.fields.map((f) => `${fieldLabel(f.field)}: ${f.message}`).join(" · ")
      : err.message;
    return { kind: "error", title: "Invalid request", message };
  }
  if (err.kind === "unknown_symbol") {
    return { kind: "error", title: "Unknown symbol", message: err.fields[0]?.message ?? err.message };
  }
  if (err.status === 503) {
    const feed = err.kind === "feed_unavailable";
    return {
      kind: "warning",
      title: feed ? "Market data feed unavailable" : "Platform busy",
      message: `${err.message}${err.retryAfterS ? ` (retrying in ${err.retryAfterS} s)` : ""}`,
    };
  }
  if (err.status === 429) {
    return { kind: "warning", title: "Too many jobs", message: err.message };
  }
  return { kind: "error", title: `${what} failed (${err.status})`, message: err.message };
}
