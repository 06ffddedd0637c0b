// The Backtest panel: a form built from /strategies (types, bounds, steps, constraints enforced
// in the browser too), trading settings, and the run's results (indicators, trades, equity,
// drawdown on the chart; metrics and every trade in the panel). Results belong to the chart
// they ran on: after the chart changes they are labelled as another chart's, never shown as if
// they were this one's.
import { fetchStrategies, runBacktest } from "./api.js";
import { explain } from "./errors.js";
import { escapeHtml, formatMetric, formatMoney, METRIC_INFO, metricTone } from "./format.js";
import { loadPrefs, savePrefs } from "./prefs.js";
import { floorIndex } from "./trades.js";
import { TradeList } from "./tradelist.js";

// Trading settings: fractions in the API, percentages on screen where that reads better.
// ``group`` fields are sent nested (entry, sizing); ``toggle`` fields are checkboxes.
const TRADING = [
  { name: "direction", label: "Direction", type: "select", options: [["long", "Long only"], ["short", "Short only"], ["both", "Long & short"]], value: "long" },
  { name: "fill", label: "Fill", type: "select", options: [["next_open", "Next open"], ["close", "Signal close"]], value: "next_open" },
  { name: "entry_type", label: "Entry order", type: "select", group: ["entry", "type"], options: [["market", "Market"], ["limit", "Limit (buy below)"], ["stop", "Stop (buy above)"]], value: "market" },
  { name: "entry_offset", label: "Entry offset %", pct: true, group: ["entry", "offset"], min: 0, max: 50, step: "any", value: 0, title: "Limit/stop distance from the signal close" },
  { name: "entry_valid_bars", label: "Order valid bars", group: ["entry", "valid_bars"], min: 1, max: 100000, step: 1, value: 1 },
  { name: "sizing_mode", label: "Sizing", type: "select", options: [["equity_fraction", "% of equity"], ["cash", "Cash $"], ["units", "Units"], ["risk", "Risk % at stop"]], value: "equity_fraction" },
  { name: "size_value", label: "Size", min: 0.000001, step: "any", value: 100, title: "% of equity, $ of cash, units, or % of equity risked at the stop" },
  { name: "whole_units", label: "Whole units", type: "toggle", value: false },
  { name: "stop_loss", label: "Stop loss %", pct: true, min: 0.01, max: 99.99, step: "any", optional: true },
  { name: "take_profit", label: "Take profit %", pct: true, min: 0.01, max: 10000, step: "any", optional: true },
  { name: "trailing_stop", label: "Trailing stop %", pct: true, min: 0.01, max: 99.99, step: "any", optional: true },
  { name: "exit_after_bars", label: "Exit after bars", min: 1, max: 10000000, step: 1, optional: true },
  { name: "flat_at_close", label: "Flat at session close", type: "toggle", value: false },
  { name: "intrabar", label: "Intrabar fills", type: "select", options: [["pessimistic", "Stop first"], ["base_bars", "From 1s/1m bars"]], value: "pessimistic", title: "When one bar reaches several order levels" },
  { name: "commission", label: "Commission %", pct: true, min: 0, max: 10, step: 0.01, value: 0.05 },
  { name: "commission_fixed", label: "Fixed fee $", min: 0, step: 0.01, value: 0 },
  { name: "slippage", label: "Slippage %", pct: true, min: 0, max: 10, step: 0.01, value: 0 },
  { name: "initial_cash", label: "Initial cash $", min: 1, step: "any", value: 100000 },
];
const PERCENT_SIZING = new Set(["equity_fraction", "risk"]);

const OPS = { "<": (a, b) => a < b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b };

/** Parse "fast < slow" into {left, op, right}, or null. */
export function parseConstraint(text) {
  const match = /^\s*(\w+)\s*(<=|>=|<|>)\s*(\w+)\s*$/.exec(text);
  return match ? { left: match[1], op: match[2], right: match[3], text } : null;
}

/** Does ``values`` satisfy every constraint? */
export const satisfies = (constraints, values) =>
  constraints.every((c) => !(c.left in values && c.right in values) || OPS[c.op](values[c.left], values[c.right]));

function inputFor(spec, value) {
  const id = `param-${spec.name}`;
  const title = escapeHtml(spec.description || spec.name);
  if (spec.type === "bool") {
    return `<label class="flex items-center gap-2 text-sm" title="${title}"><input id="${id}" data-param="${spec.name}" type="checkbox" class="toggle toggle-sm" ${value ? "checked" : ""}> ${escapeHtml(spec.name)}</label>`;
  }
  if (spec.type === "choice") {
    const options = spec.choices.map((c) => `<option ${c === value ? "selected" : ""}>${escapeHtml(c)}</option>`).join("");
    return `<div title="${title}"><label for="${id}" class="field-label">${escapeHtml(spec.name)}</label><select id="${id}" data-param="${spec.name}" class="select select-sm w-full">${options}</select></div>`;
  }
  const step = spec.step ?? (spec.type === "int" ? 1 : "any");
  const bounds = `${spec.min !== undefined ? `min="${spec.min}"` : ""} ${spec.max !== undefined ? `max="${spec.max}"` : ""}`;
  const range = spec.min !== undefined || spec.max !== undefined ? ` (${spec.min ?? "…"}–${spec.max ?? "…"})` : "";
  return `<div title="${title}${escapeHtml(range)}"><label for="${id}" class="field-label">${escapeHtml(spec.name)}<span class="normal-case opacity-70">${escapeHtml(range)}</span></label><input id="${id}" data-param="${spec.name}" type="number" inputmode="decimal" step="${step}" ${bounds} required value="${value}" class="input input-sm w-full font-mono"></div>`;
}

export class StrategyPanel {
  constructor({ session, view, data, toasts }) {
    this.session = session;
    this.view = view;
    this.data = data;
    this.toasts = toasts;
    this.strategies = [];
    this.lastResult = null;
    this.resultSpec = null; // the chart the last result ran on
    this.stale = false; // true once the chart on screen is another one
    this.running = false;
    this.runs = 0;
    this.reveals = 0; // trades shown on the chart from the list
    this.revealFailures = 0;
    this._revealTicket = 0;
    this.showChart = null; // set by the app: load a chart spec into the controls and chart it
    this.listeners = new Set();
    this.resultListeners = new Set();
    this.form = document.getElementById("backtest-form");
    this.select = document.getElementById("strategy");
    this.fields = document.getElementById("param-fields");
    this.button = document.getElementById("run-backtest");
    this._buildTrading();
    this.select.addEventListener("change", () => {
      this._buildParams();
      savePrefs({ strategy: this.select.value });
      this._emit();
    });
    this.fields.addEventListener("input", (e) => this._onParamInput(e));
    this.list = new TradeList(document.getElementById("trades-table"), { onSelect: (trade) => this.showTrade(trade) });
    document.getElementById("backtest-stale-show").addEventListener("click", () => {
      if (this.resultSpec && this.showChart) this.showChart(this.resultSpec);
    });
    view.onReset(() => this._onChartReset());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
  }

  /** Show ``result`` of a backtest over chart ``spec`` (a fresh run or a stored one): drawn on
   * the chart when it is the one on screen, else labelled as another chart's. */
  showResult(result, spec) {
    this.lastResult = result;
    this.resultSpec = spec;
    this.stale = !sameChart(spec, this.data.spec);
    if (!this.stale) this.view.setBacktest(result);
    this._showResult(result);
  }

  /** Call ``fn(result)`` after each backtest this panel runs. */
  onResult(fn) {
    this.resultListeners.add(fn);
  }

  /** Listen to strategy changes (the optimize panel rebuilds its grid). */
  onStrategyChange(fn) {
    this.listeners.add(fn);
  }

  _emit() {
    for (const fn of this.listeners) fn(this.current());
  }

  /** Load the strategy list and build the form. */
  async init() {
    try {
      const answer = await fetchStrategies();
      this.strategies = answer.strategies.map((s) => ({ ...s, parsed: s.constraints.map(parseConstraint).filter(Boolean) }));
      if (answer.failed && Object.keys(answer.failed).length) {
        this.toasts.show({ kind: "warning", title: "Some strategies failed to load", message: Object.keys(answer.failed).join(", ") });
      }
    } catch (err) {
      this.toasts.show({ ...explain(err, "Loading strategies"), action: { label: "Retry", run: () => this.init() } });
      return;
    }
    const saved = loadPrefs().strategy;
    this.select.innerHTML = this.strategies
      .map((s) => `<option value="${escapeHtml(s.name)}" ${s.name === saved ? "selected" : ""}>${escapeHtml(s.title)}</option>`)
      .join("");
    this._buildParams();
    this._emit();
  }

  /** The selected strategy's spec. */
  current() {
    return this.strategies.find((s) => s.name === this.select.value) ?? null;
  }

  _buildParams() {
    const spec = this.current();
    if (!spec) return;
    const saved = loadPrefs().params?.[spec.name] ?? {};
    document.getElementById("strategy-description").textContent = spec.description;
    this.fields.innerHTML = spec.params.map((p) => inputFor(p, saved[p.name] ?? p.default)).join("");
    document.getElementById("constraints").textContent = spec.constraints.length ? `Constraints: ${spec.constraints.join(", ")}` : "";
    this._validate(false);
  }

  _buildTrading() {
    const saved = loadPrefs().trading ?? {};
    const root = document.getElementById("trading-fields");
    root.innerHTML = TRADING.map((f) => {
      const value = saved[f.name] ?? f.value ?? "";
      const title = f.title ? ` title="${escapeHtml(f.title)}"` : "";
      if (f.type === "select") {
        const options = f.options.map(([v, label]) => `<option value="${v}" ${v === value ? "selected" : ""}>${label}</option>`).join("");
        return `<div${title}><label for="trading-${f.name}" class="field-label">${f.label}</label><select id="trading-${f.name}" data-trading="${f.name}" class="select select-sm w-full">${options}</select></div>`;
      }
      if (f.type === "toggle") {
        return `<label class="flex items-center gap-2 self-end pb-1 text-xs"${title}><input id="trading-${f.name}" data-trading="${f.name}" type="checkbox" class="toggle toggle-xs" ${value ? "checked" : ""}> ${f.label}</label>`;
      }
      const bounds = `${f.min !== undefined ? `min="${f.min}"` : ""} ${f.max !== undefined ? `max="${f.max}"` : ""}`;
      return `<div${title}><label for="trading-${f.name}" class="field-label">${f.label}</label><input id="trading-${f.name}" data-trading="${f.name}" type="number" step="${f.step}" ${bounds} ${f.optional ? 'placeholder="off"' : "required"} value="${value}" class="input input-sm w-full font-mono"></div>`;
    }).join("");
    root.addEventListener("input", (event) => {
      const input = event.target;
      this._checkNumber(input);
      savePrefs({ trading: this._tradingValues(false) });
    });
  }

  _checkNumber(input) {
    // Bounds and steps from the spec, enforced before anything is sent.
    input.setCustomValidity("");
    if (input.type !== "number") return true;
    if (input.value === "" && !input.required) return true;
    const value = Number(input.value);
    let message = "";
    if (input.value === "" || !Number.isFinite(value)) message = "Enter a number";
    else if (input.min !== "" && value < Number(input.min)) message = `Must be at least ${input.min}`;
    else if (input.max !== "" && value > Number(input.max)) message = `Must be at most ${input.max}`;
    else if (input.step === "1" && !Number.isInteger(value)) message = "Must be a whole number";
    input.setCustomValidity(message);
    input.classList.toggle("input-error", Boolean(message));
    input.title = message;
    return !message;
  }

  _onParamInput(event) {
    this._checkNumber(event.target);
    this._validate(false);
    const spec = this.current();
    if (spec) {
      const prefs = loadPrefs();
      savePrefs({ params: { ...(prefs.params ?? {}), [spec.name]: this.params(false) } });
    }
  }

  /** Parameter values from the form (numbers as numbers). */
  params(strict = true) {
    const spec = this.current();
    const out = {};
    for (const p of spec?.params ?? []) {
      const input = this.fields.querySelector(`[data-param="${p.name}"]`);
      if (!input) continue;
      if (p.type === "bool") out[p.name] = input.checked;
      else if (p.type === "choice") out[p.name] = input.value;
      else out[p.name] = input.value === "" && !strict ? "" : Number(input.value);
    }
    return out;
  }

  /** Put ``params`` into the form (e.g. a row of the optimization results). */
  setParams(params) {
    for (const [name, value] of Object.entries(params)) {
      const input = this.fields.querySelector(`[data-param="${name}"]`);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value;
      this._checkNumber(input);
    }
    this._validate(false);
  }

  _validate(report) {
    const spec = this.current();
    let ok = true;
    for (const input of this.fields.querySelectorAll("input[type=number]")) ok = this._checkNumber(input) && ok;
    const values = this.params(false);
    const broken = (spec?.parsed ?? []).find((c) => !satisfies([c], values));
    const target = broken ? this.fields.querySelector(`[data-param="${broken.left}"]`) : null;
    if (target && target.validity.valid) {
      target.setCustomValidity(`Must satisfy ${broken.text}`);
      target.classList.add("input-error");
      ok = false;
    }
    if (!ok && report) this.form.reportValidity();
    return ok;
  }

  _tradingValues(strict = true) {
    const out = {};
    for (const f of TRADING) {
      const input = document.querySelector(`[data-trading="${f.name}"]`);
      if (f.type === "select") out[f.name] = input.value;
      else if (f.type === "toggle") out[f.name] = input.checked;
      else if (input.value === "") out[f.name] = f.optional || !strict ? null : Number.NaN;
      else out[f.name] = Number(input.value);
    }
    return out;
  }

  /** The trading settings as the API wants them (fractions; entry and sizing nested). */
  trading() {
    const values = this._tradingValues();
    const out = {};
    for (const f of TRADING) {
      let value = values[f.name];
      if (f.pct && value !== null) value /= 100;
      if (f.group) (out[f.group[0]] ??= {})[f.group[1]] = value;
      else out[f.name] = value;
    }
    const { sizing_mode: mode, size_value: size } = out;
    delete out.sizing_mode;
    delete out.size_value;
    out.sizing = { mode, value: PERCENT_SIZING.has(mode) ? size / 100 : size };
    return out;
  }

  /** Validate the whole form, showing the browser's messages; true when it can be sent. */
  validate() {
    let ok = this._validate(true);
    for (const input of document.querySelectorAll("[data-trading]")) ok = this._checkNumber(input) && ok;
    if (!ok) {
      const details = document.getElementById("costs");
      if (document.querySelector("[data-trading]:invalid")) details.open = true;
      this.form.reportValidity();
    }
    return ok;
  }

  /** Run the backtest of the form over the chart's symbol and range. */
  async run(params = null) {
    if (params) this.setParams(params);
    const spec = this.data.spec;
    if (!spec) {
      this.toasts.show({ kind: "info", title: "Load a chart first", message: "The backtest runs over the chart's symbol and range." });
      return null;
    }
    if (!this.validate()) return null;
    const chart = { ...spec };
    const body = { strategy: this.select.value, params: this.params(), ...chart, ...this.trading() };
    this.running = true;
    this._busy(true);
    try {
      const result = await this.session.call((token) => runBacktest(token, body));
      withBarCounts(result);
      this.runs += 1;
      this.showResult(result, chart);
      this.toasts.dismiss("backtest");
      for (const fn of this.resultListeners) fn(result);
      return result;
    } catch (err) {
      this.toasts.show({ ...explain(err, "Backtest"), key: "backtest" });
      return null;
    } finally {
      this.running = false;
      this._busy(false);
    }
  }

  _busy(on) {
    this.button.disabled = on;
    this.button.querySelector(".loading").classList.toggle("hidden", !on);
  }

  _showResult(result) {
    document.getElementById("backtest-result").classList.remove("hidden");
    const params = Object.entries(result.params).map(([k, v]) => `${k}=${v}`).join(", ");
    document.getElementById("backtest-summary").textContent = `${result.symbol} ${result.interval} · ${result.bars.toLocaleString("en-US")} bars · ${params}`;
    document.getElementById("backtest-summary").title = `${chartName(this.resultSpec)} · ${params}`;
    const m = result.metrics;
    const final = result.equity.v.at(-1);
    const rows = [["Final equity", formatMoney(final ?? 0), final >= (result.equity.v[0] ?? 0) ? "up" : "down"]];
    for (const name of Object.keys(METRIC_INFO)) rows.push([METRIC_INFO[name].label, formatMetric(name, m[name]), metricTone(name, m[name])]);
    document.querySelector("#metrics-table tbody").innerHTML = rows
      .map(([label, value, tone]) => `<tr><th class="font-normal opacity-75">${label}</th><td class="text-right font-mono ${tone}" data-metric="${escapeHtml(label)}">${value}</td></tr>`)
      .join("");
    document.getElementById("trade-count").textContent = result.trades.length.toLocaleString("en-US");
    this.list.setTrades(result.trades.map((t, k) => ({ ...t, k })), {
      zone: this.data.timezone, daily: ["1d", "1w"].includes(result.interval),
    });
    this._showStale();
  }

  _showStale() {
    const box = document.getElementById("backtest-result");
    box.classList.toggle("stale", this.stale);
    const note = document.getElementById("backtest-stale");
    note.hidden = !this.stale;
    document.getElementById("backtest-title").textContent = this.stale ? "Results of another chart" : "Results";
    document.getElementById("backtest-stale-text").textContent = this.stale && this.resultSpec
      ? `Results of ${chartName(this.resultSpec)}, not of the chart on screen. Run the backtest again for this chart.`
      : "";
  }

  /** The chart was replaced (new symbol, interval, range or hours, or a reload of the same). */
  _onChartReset() {
    if (!this.lastResult) return;
    const same = sameChart(this.resultSpec, this.data.spec);
    if (same) this.view.setBacktest(this.lastResult); // the same chart again: draw the run again
    if (this.stale !== !same) {
      this.stale = !same;
      this._showStale();
    }
  }

  /**
   * Show a trade of the list on the chart: page back through older bars until its entry is
   * loaded (a trade far in the past), then scroll there. Resolves true once shown.
   */
  async showTrade(trade) {
    if (this.stale) {
      this.toasts.show({ kind: "info", title: "Results of another chart", message: `This trade is of ${chartName(this.resultSpec)}. Show that chart or run the backtest again.`, key: "backtest" });
      return false;
    }
    const ticket = ++this._revealTicket;
    this.list.select(trade.k);
    this.view.highlightTrade(trade.k);
    const loaded = await this.data.ensureLoaded(trade.entry_time);
    if (ticket !== this._revealTicket || this.stale) return false;
    if (!loaded) {
      this.revealFailures += 1;
      if (!this.data.loading) {
        this.toasts.show({ kind: "warning", title: "Trade not shown", message: "The bars of this trade could not be loaded.", key: "backtest" });
      }
      return false;
    }
    const shown = this.view.revealSpan(trade.entry_time, trade.exit_time);
    if (shown) this.reveals += 1;
    return shown;
  }

  /** A read-only snapshot for tests. */
  snapshot() {
    const r = this.lastResult;
    return {
      runs: this.runs,
      running: this.running,
      trades: r?.trades.length ?? null,
      metrics: r ? { ...r.metrics } : null,
      indicators: r?.indicators?.length ?? null,
      stale: this.stale,
      resultOf: this.resultSpec ? { ...this.resultSpec } : null,
      reveals: this.reveals,
      revealFailures: this.revealFailures,
      list: this.list.snapshot(),
    };
  }
}

/** Do two chart specs name the same chart? */
export function sameChart(a, b) {
  return Boolean(a && b) && ["symbol", "interval", "start", "end", "rth"].every((k) => a[k] === b[k]);
}

/** "TSLA 5m 2025-01-02 – 2025-01-06, regular hours" */
export function chartName(spec) {
  if (!spec) return "another chart";
  return `${spec.symbol} ${spec.interval} ${spec.start} – ${spec.end}, ${spec.rth ? "regular" : "extended"} hours`;
}

/** Give each trade the number of bars it was held (``bars``) where the answer does not, from
 * the run's bar times. */
function withBarCounts(result) {
  const times = result.equity?.t ?? [];
  if (!times.length) return result;
  for (const trade of result.trades) {
    if (typeof trade.bars === "number") continue; // the answer says
    const a = floorIndex(times, trade.entry_time);
    const b = floorIndex(times, trade.exit_time);
    if (a >= 0 && b >= 0 && times[a] === trade.entry_time && times[b] === trade.exit_time) trade.bars = b - a;
  }
  return result;
}
