// Wiring of the app: chart controls, session, chart data, panels, the import dialog, status bar
// and the read-only state on ``window.__app`` that the browser tests and the benchmark read.
import "./style.css";

import { fetchHealth } from "./api.js";
import { ChartView } from "./chart.js";
import { ChartData } from "./history.js";
import { ImportDialog } from "./importer.js";
import { LiveBars } from "./live.js";
import { installLogin } from "./login.js";
import { OptimizePanel } from "./optimize.js";
import { loadPrefs, savePrefs } from "./prefs.js";
import { chartOfRun, createdText, RunsPanel } from "./runs.js";
import { Session } from "./session.js";
import { StrategyPanel } from "./strategy.js";
import { isoDate, normalizeSymbol, SymbolSuggestions } from "./symbols.js";
import { exchangeDate, setMarketClock } from "./time.js";
import { Toasts } from "./toast.js";

const SYMBOLS = ["SPY", "QQQ", "IWM", "DIA", "AAPL", "MSFT", "AMZN", "GOOG", "META", "NVDA", "TSLA",
  "AMD", "NFLX", "JPM", "XOM", "INTC", "BAC", "KO", "DIS", "BA"];
const INTERVALS = ["5s", "15s", "30s", "1m", "2m", "3m", "5m", "10m", "15m", "30m", "1h", "2h", "4h", "1d", "1w"];
const PRESETS = [["5D", 7], ["1M", 31], ["3M", 92], ["1Y", 365]];
const HEALTH_MS = 15_000;
const $ = (id) => document.getElementById(id);

const toasts = new Toasts($("toasts"));
const session = new Session();
const view = new ChartView($("chart"), $("legend"));
const data = new ChartData({ session, view, toasts, onChange: showChartState });
const live = new LiveBars({
  session, view, badge: $("live-badge"), text: $("live-text"), onChange: () => showChartState(data.state()),
});
data.onLoad((spec, reaches) => (spec ? live.follow(spec, reaches) : live.stop()));
const strategy = new StrategyPanel({ session, view, data, toasts });
const optimize = new OptimizePanel({ session, data, strategy, toasts, showTab });
const suggestions = new SymbolSuggestions({ session, list: $("symbols"), fallback: SYMBOLS });
const importer = new ImportDialog({ session, toasts, suggestions, onChart: chartImported });
const runs = new RunsPanel({ session, toasts, onOpen: showStoredRun });

// Every backtest is stored as a run: the Runs list hears of each one the panel receives.
strategy.onResult((result) => {
  if (result?.run_id) runs.refresh();
});

/**
 * Show a stored run ({summary, result}) in the Backtest panel as a fresh run is shown: drawn on
 * the chart when it ran on the chart on screen, else labelled as another chart's (with "Show
 * that chart"), by the panel's own stale-result logic.
 */
function showStoredRun(record) {
  if (record.kind === "optimize") {
    optimize.showStored(record);
    return;
  }
  const spec = chartOfRun(record.summary);
  strategy.showResult(record.result, spec);
  const summary = $("backtest-summary");
  summary.textContent = `Stored run of ${createdText(record.created)} · ${summary.textContent}`;
  showTab("strategy");
}

const UNIT_S = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const seconds = (interval) => {
  const match = /^(\d+)([smhdw])$/.exec(interval ?? "");
  return match ? Number(match[1]) * UNIT_S[match[2]] : null;
};

/** The finest chart interval an imported resolution allows ("1s" -> "5s", "1m" -> "1m"). */
function intervalFor(resolution, current) {
  const base = seconds(resolution);
  if (!base) return current;
  return INTERVALS.find((i) => seconds(i) >= base && seconds(i) % base === 0) ?? current;
}

/** Put a chart spec ({symbol, interval, start, end, rth}) into the controls and chart it. */
function showChart(spec) {
  $("symbol").value = spec.symbol;
  $("interval").value = spec.interval;
  $("start").value = spec.start;
  $("end").value = spec.end;
  $(spec.rth === false ? "hours-eth" : "hours-rth").checked = true;
  return loadChart();
}
strategy.showChart = showChart;

/** Chart an imported symbol ({symbol, first, last, resolution}) over all its bars. */
function chartImported(info) {
  $("symbol").value = info.symbol;
  $("interval").value = intervalFor(info.resolution, $("interval").value);
  if (info.first) $("start").value = isoDate(info.first);
  if (info.last) $("end").value = isoDate(info.last);
  return loadChart();
}

function buildControls() {
  $("interval").innerHTML = INTERVALS.map((i) => `<option>${i}</option>`).join("");
  $("presets").innerHTML = PRESETS.map(([label, days]) =>
    `<button type="button" class="join-item btn btn-sm btn-ghost border-base-300 px-2" data-days="${days}" title="Last ${label}">${label}</button>`).join("");
  $("presets").addEventListener("click", (event) => {
    const days = event.target.closest("button")?.dataset.days;
    if (!days) return;
    $("start").value = exchangeDate(Number(days));
    $("end").value = exchangeDate(0);
    $("chart-form").requestSubmit();
  });
  const saved = loadPrefs().chart ?? {};
  $("symbol").value = saved.symbol ?? "AAPL";
  $("interval").value = INTERVALS.includes(saved.interval) ? saved.interval : "5m";
  // Remembered dates past the market's today (a replay's day is in the past) are not kept.
  const keep = saved.end && saved.end <= exchangeDate(0);
  $("start").value = keep && saved.start ? saved.start : exchangeDate(14);
  $("end").value = keep ? saved.end : exchangeDate(0);
  $(saved.rth === false ? "hours-eth" : "hours-rth").checked = true;
  $("chart-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadChart();
  });
  $("interval").addEventListener("change", () => $("chart-form").requestSubmit());
  for (const radio of document.querySelectorAll("input[name=hours]")) {
    radio.addEventListener("change", () => $("chart-form").requestSubmit());
  }
}

/** The chart the controls describe. */
function chartSpec() {
  return {
    symbol: normalizeSymbol($("symbol").value),
    interval: $("interval").value,
    start: $("start").value,
    end: $("end").value,
    rth: $("hours-rth").checked,
  };
}

function loadChart() {
  const spec = chartSpec();
  $("symbol").value = spec.symbol;
  const missing = ["symbol", "start", "end"].find((field) => !spec[field]);
  if (missing) {
    $(missing).focus();
    toasts.show({ kind: "error", title: "Invalid request", message: `${missing === "symbol" ? "Symbol" : missing === "start" ? "From" : "To"}: required`, key: "chart" });
    return Promise.resolve(false);
  }
  savePrefs({ chart: spec });
  return data.load(spec).then((loaded) => {
    if (loaded) suggestions.remember(spec.symbol);
    return loaded;
  });
}

function showChartState(state) {
  const loading = state.loading || state.loadingOlder;
  $("chart-loading").classList.toggle("hidden", !loading);
  $("chart-loading-text").textContent = state.loading ? `Loading ${state.pending?.symbol ?? ""} ${state.pending?.interval ?? ""}…` : "Loading older bars…";
  $("load").disabled = state.loading;
  $("load").querySelector(".loading").classList.toggle("hidden", !state.loading);
  $("chart").setAttribute("aria-busy", String(loading));
  const snap = view.snapshot();
  const notice = !state.loading && snap.bars === 0 ? state.notice : null;
  $("chart-notice-text").textContent = notice ?? "";
  $("chart-notice").classList.toggle("hidden", !notice);
  $("chart-empty").classList.toggle("hidden", snap.bars > 0 || state.loading || Boolean(notice));
  if (state.timezone) $("status-tz").textContent = `Exchange time (${state.timezone})`;
  if (!state.requestId) return;
  const total = state.total + snap.liveAppended;
  $("status-bars").textContent = `${snap.bars.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} bars`;
  $("status-history").textContent = state.loadingOlder ? "loading older bars…" : state.hasMore ? "scroll left for older bars" : "all bars loaded";
  const t = state.timings;
  $("status-timing").textContent = t.loadMs !== null ? `first candle ${Math.round(t.loadMs)} ms${t.chunkMs !== null ? ` · last chunk ${Math.round(t.chunkMs)} ms` : ""}` : "";
}

const TABS = ["strategy", "optimize", "runs"];

function showTab(name) {
  for (const tab of TABS) {
    const on = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(on));
    $(`tab-${tab}`).classList.toggle("tab-active", on);
    $(`tab-${tab}`).tabIndex = on ? 0 : -1;
    $(`panel-${tab}`).hidden = !on;
  }
  savePrefs({ tab: name });
}

function buildTabs() {
  const tabs = TABS;
  for (const name of tabs) {
    $(`tab-${name}`).addEventListener("click", () => showTab(name));
    $(`tab-${name}`).addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(name) + step + tabs.length) % tabs.length];
      showTab(next);
      $(`tab-${next}`).focus();
    });
  }
  showTab(TABS.includes(loadPrefs().tab) ? loadPrefs().tab : "strategy");
}

function showSession({ state, error }) {
  const dot = $("session").firstElementChild;
  const text = $("session").lastElementChild;
  dot.className = `status ${state === "live" ? "status-success" : "status-error"}`;
  text.textContent = state === "live" ? `session ${session.token.slice(0, 6)}…` : "session error";
  $("session").title = state === "live"
    ? `Session live; heartbeat every minute (last ${new Date(session.lastBeat).toLocaleTimeString()})`
    : `Session error: ${error?.message ?? ""}`;
}

async function refreshHealth() {
  const dot = $("health").firstElementChild;
  const text = $("health").lastElementChild;
  try {
    const h = await fetchHealth();
    if (h.market) setMarketClock(h.market);
    const ok = h.status === "ok";
    dot.className = `status ${ok ? "status-success" : "status-warning"}`;
    text.textContent = ok ? "platform ok" : "degraded";
    const parts = Object.entries(h.components ?? {}).map(([name, state]) => `${name} ${state}`);
    $("health").title = parts.join(", ") || h.status;
  } catch {
    dot.className = "status status-error";
    text.textContent = "offline";
  }
}

window.__app = Object.freeze({
  chart: () => view.snapshot(),
  times: () => view.utc.slice(),
  data: () => data.state(),
  live: () => live.snapshot(),
  livePaints: () => live.paintLog(),
  session: () => ({ token: session.token, initiations: session.initiations, heartbeats: session.heartbeats, resumed: session.resumed }),
  backtest: () => strategy.snapshot(),
  tradeOrder: () => strategy.list.order.slice(),
  optimize: () => optimize.snapshot(),
  runs: () => runs.snapshot(),
  toasts: () => toasts.shown.map((t) => ({ ...t })),
  imports: () => importer.snapshot(),
  symbols: () => suggestions.snapshot(),
  ready: () => ready,
});

let ready = false;

async function start() {
  installLogin();
  await refreshHealth(); // the market's clock first: the default dates are its days
  buildControls();
  buildTabs();
  session.onChange(showSession);
  setInterval(refreshHealth, HEALTH_MS);
  try {
    await session.start();
  } catch (err) {
    toasts.show({ kind: "error", title: "Cannot start a session", message: err.message, action: { label: "Retry", run: () => window.location.reload() } });
  }
  suggestions.refresh(); // imported and feed symbols for the symbol box, in the background
  await strategy.init();
  await loadChart();
  optimize.onStored = () => runs.refresh(); // a finished job is a run too
  await optimize.resume(); // a job started before a reload: its progress (and cancel) or result
  ready = true; // the remembered chart has loaded (or failed with a toast)
}

start();
