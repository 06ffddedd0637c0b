// A run's indicators as the chart shows them: names with the run's parameters ("SMA 10",
// "BB upper (20, 2)"), a colour each, and the panes they go in (overlays on price, one pane per
// other pane name, in the order the answer names them). Pure: no chart, no DOM.

export const OVERLAY_COLORS = ["#f5a623", "#42a5f5", "#ce93d8", "#ffee58", "#26c6da", "#ff7043", "#9ccc65", "#ec407a"];
export const PANE_COLORS = ["#42a5f5", "#f5a623", "#ce93d8", "#26c6da", "#ffee58", "#ff7043"];

const KINDS = {
  sma: "SMA", ema: "EMA", wma: "WMA", ma: "MA", rsi: "RSI", macd: "MACD", bb: "BB",
  boll: "BB", bollinger: "BB", donchian: "Donchian", dc: "Donchian", atr: "ATR", vwap: "VWAP",
};
const MOVING_AVERAGES = new Set(["sma", "ema", "wma", "ma"]);

/** A name written for people ("SMA 10", "Upper band"), not a key ("sma_fast"). */
export const isDisplayName = (name) => /[\sA-Z]/.test(String(name).trim());

const number = (v) => (typeof v === "number" && Number.isFinite(v) ? Number(v.toPrecision(6)) : null);

/**
 * The legend name of an indicator of a run with ``params``: ``label`` when the answer gives one,
 * the name itself when written for people ("SMA 10", "Upper band"); from a key, a moving average named after a parameter reads as that parameter's value ("sma_fast" with
 * fast=10: "SMA 10"); others read their words and the run's numeric parameters, less those
 * that are the pane's levels ("rsi" with window=14, lower=30, upper=70, levels [30, 70]:
 * "RSI (14)"; "bb_upper" with window=20, width=2: "BB upper (20, 2)").
 */
export function indicatorLabel(indicator, params = {}) {
  if (typeof indicator.label === "string" && indicator.label) return indicator.label;
  if (isDisplayName(indicator.name)) return String(indicator.name).trim();
  const [kind = "", ...rest] = String(indicator.name).split(/[_\s]+/).filter(Boolean);
  const head = KINDS[kind.toLowerCase()] ?? kind.toUpperCase();
  if (MOVING_AVERAGES.has(kind.toLowerCase()) && rest.length === 1 && number(params[rest[0]]) !== null) {
    return `${head} ${number(params[rest[0]])}`;
  }
  const levels = new Set((indicator.levels ?? []).map(number));
  const values = Object.values(params).map(number).filter((v) => v !== null && !levels.has(v));
  const words = rest.join(" ");
  return `${head}${words ? ` ${words}` : ""}${values.length ? ` (${values.join(", ")})` : ""}`;
}

/** The pane of an indicator: null for an overlay on price, else its pane's name. */
export const paneName = (indicator) =>
  !indicator.pane || indicator.pane === "overlay" || indicator.pane === "price" ? null : String(indicator.pane);

/**
 * The run's indicators laid out: ``overlays`` (on price) and ``panes`` (one per pane name, in
 * order of first mention, each with its series and the union of their levels), every series with
 * its label and colour.
 */
export function layoutIndicators(indicators, params = {}) {
  const overlays = [];
  const panes = [];
  for (const indicator of indicators ?? []) {
    if (!indicator || !Array.isArray(indicator.t) || !Array.isArray(indicator.v)) continue;
    const name = paneName(indicator);
    const item = {
      name: String(indicator.name),
      label: indicatorLabel(indicator, params),
      pane: name ?? "overlay",
      style: indicator.style === "histogram" ? "histogram" : "line",
      levels: (indicator.levels ?? []).filter((x) => typeof x === "number" && Number.isFinite(x)),
      t: indicator.t,
      v: indicator.v,
    };
    if (name === null) {
      item.color = OVERLAY_COLORS[overlays.length % OVERLAY_COLORS.length];
      overlays.push(item);
      continue;
    }
    let pane = panes.find((p) => p.name === name);
    if (!pane) {
      pane = { name, series: [], levels: [] };
      panes.push(pane);
    }
    item.color = PANE_COLORS[pane.series.filter((s) => s.style === "line").length % PANE_COLORS.length];
    pane.series.push(item);
    for (const level of item.levels) if (!pane.levels.includes(level)) pane.levels.push(level);
  }
  for (const pane of panes) pane.title = paneTitle(pane, params);
  return { overlays, panes };
}

/** A pane's heading: its first series' label ("RSI (14)", "MACD (12, 26, 9)"). */
function paneTitle(pane, params) {
  const first = pane.series[0];
  if (pane.series.length === 1) return first.label;
  const kind = KINDS[pane.name.toLowerCase()] ?? pane.name.toUpperCase();
  const levels = new Set(pane.levels.map(number));
  // Names that say it all ("MACD (12, 26)", "Signal (9)"): no heading of its own.
  if (pane.series.some((s) => s.label.toLowerCase().startsWith(kind.toLowerCase()))) return "";
  if (pane.series.some((s) => /\d/.test(s.label))) return kind; // the names carry the parameters
  const values = Object.values(params).map(number).filter((v) => v !== null && !levels.has(v));
  return `${kind}${values.length ? ` (${values.join(", ")})` : ""}`;
}

/** Decimals to show for a series' values (4 below 1 in magnitude, else 2). */
export function precisionOf(values) {
  let most = 0;
  for (const v of values) if (v !== null && Math.abs(v) > most) most = Math.abs(v);
  return most >= 1 || most === 0 ? 2 : 4;
}
