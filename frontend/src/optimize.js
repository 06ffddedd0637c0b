// The Optimize panel: a grid per parameter with the live combination count, objective and
// walk-forward options; a submitted job's progress from its event stream (polling if the stream
// breaks), cancel; results as a top-N table (a row runs that backtest on the chart), a heatmap
// of the objective over any two parameters, and the walk-forward splits.
import {
  ApiError,
  cancelOptimization,
  followOptimization,
  optimizationStatus,
  submitOptimization,
} from "./api.js";
import { explain } from "./errors.js";
import { escapeHtml, formatMetric, formatParam, METRIC_INFO } from "./format.js";
import { comboParams, Heatmap, heatmapGrid } from "./heatmap.js";
import { loadPrefs, savePrefs } from "./prefs.js";
import { satisfies } from "./strategy.js";
import { formatUtcAsExchange } from "./time.js";
import { drawBands, drawCurve, drawFan, downloadText, surfaceCsv, topCsv } from "./optimize_views.js";

const SWEEP_INTERVALS = ["1m", "5m", "15m", "30m", "1h", "1d"];
const JOB_KEY = "optimize-job"; // the running job's id, kept across reloads to reattach

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const ENUMERATE_UP_TO = 200_000;
const POLL_MS = 1000;

/** The values a numeric range gives: min, min+step, ... up to max (inclusive). */
export function rangeValues(min, max, step, integer) {
  if (![min, max, step].every(Number.isFinite) || step <= 0 || max < min) return null;
  const count = Math.floor((max - min) / step + 1e-9) + 1;
  if (count > 100_000) return { count, values: null };
  const values = [];
  for (let i = 0; i < count; i += 1) {
    const v = min + i * step;
    values.push(integer ? Math.round(v) : Number(v.toPrecision(12)));
  }
  return { count, values };
}

/** Default grid of a numeric parameter: about five values around its default. */
function defaultRange(p) {
  const step = p.step ?? (p.type === "int" ? 1 : Math.max(Math.abs(p.default) / 10, 0.1));
  const lo = Math.max(p.min ?? -Infinity, p.default - 2 * step * Math.max(1, Math.round(p.default / (5 * step))));
  const hi = Math.min(p.max ?? Infinity, p.default + 2 * step * Math.max(1, Math.round(p.default / (5 * step))));
  const stride = step * Math.max(1, Math.round((hi - lo) / (4 * step)));
  return { min: lo, max: hi, step: stride };
}

export class OptimizePanel {
  constructor({ session, data, strategy, toasts, showTab }) {
    this.session = session;
    this.data = data;
    this.strategy = strategy;
    this.toasts = toasts;
    this.showTab = showTab;
    this.spec = null;
    this.job = null;
    this.status = null;
    this.result = null;
    this.events = null;
    this.progressEvents = 0;
    this.pollTimer = null;
    this.form = document.getElementById("optimize-form");
    this.rows = document.getElementById("grid-rows");
    this.heatmap = new Heatmap(document.getElementById("heatmap"), document.getElementById("heat-tip"), {
      onPick: (combo) => this._backtestCombo(combo),
      format: (v) => this._formatObjective(v),
    });
    const objective = document.getElementById("objective");
    const savedObjective = loadPrefs().objective ?? "sharpe";
    objective.innerHTML = Object.entries(METRIC_INFO)
      .filter(([name, info]) => name !== "num_trades" && !info.notObjective)
      .map(([name, info]) => `<option value="${name}" ${name === savedObjective ? "selected" : ""}>${info.label}</option>`)
      .join("");
    objective.addEventListener("change", () => savePrefs({ objective: objective.value }));
    const wf = document.getElementById("wf-enabled");
    wf.addEventListener("change", () => {
      for (const id of ["wf-splits", "wf-oos"]) document.getElementById(id).disabled = !wf.checked;
    });
    this.rows.addEventListener("input", () => this._updateCount(true));
    this.rows.addEventListener("change", () => this._updateCount(true));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    document.getElementById("cancel-optimize").addEventListener("click", () => this.cancel());
    for (const id of ["heat-x", "heat-y", "heat-layer"]) document.getElementById(id).addEventListener("change", () => this._drawHeatmap());
    const method = document.getElementById("opt-method");
    method.addEventListener("change", () => {
      document.getElementById("opt-trials").disabled = method.value === "grid";
    });
    document.getElementById("opt-intervals").innerHTML = SWEEP_INTERVALS.map((i) =>
      `<label class="flex items-center gap-1"><input type="checkbox" class="checkbox checkbox-xs" data-interval="${i}"> ${i}</label>`).join("");
    document.getElementById("opt-download-top").addEventListener("click", () =>
      this.result && downloadText(`top-${this.lastJobId ?? "job"}.csv`, topCsv(this.result), "text/csv"));
    document.getElementById("opt-download-surface").addEventListener("click", () =>
      this.result && downloadText(`surface-${this.lastJobId ?? "job"}.csv`, surfaceCsv(this.result), "text/csv"));
    strategy.onStrategyChange((spec) => this.setStrategy(spec));
  }

  /** Rebuild the grid rows for strategy ``spec``. */
  setStrategy(spec) {
    this.spec = spec;
    if (!spec) return;
    document.getElementById("opt-strategy-name").textContent = spec.title;
    const saved = loadPrefs().grids?.[spec.name] ?? {};
    this.rows.innerHTML = spec.params.map((p) => {
      const label = `<th scope="row" class="font-mono font-normal" title="${escapeHtml(p.description)}">${escapeHtml(p.name)}</th>`;
      if (p.type === "bool" || p.type === "choice") {
        const options = p.type === "bool" ? ["true", "false"] : p.choices;
        const value = saved[p.name]?.value ?? "all";
        const opts = ["all", ...options].map((o) => `<option ${o === value ? "selected" : ""}>${escapeHtml(o)}</option>`).join("");
        return `<tr data-grid="${p.name}" data-kind="${p.type}">${label}<td colspan="3"><select class="select select-xs w-full" aria-label="${escapeHtml(p.name)} values">${opts}</select></td><td class="count text-right font-mono"></td></tr>`;
      }
      const r = saved[p.name] ?? defaultRange(p);
      const bounds = `${p.min !== undefined ? `min="${p.min}"` : ""} ${p.max !== undefined ? `max="${p.max}"` : ""}`;
      const stepAttr = p.type === "int" ? 'step="1"' : 'step="any"';
      const cell = (key, value, extra = bounds) =>
        `<td class="px-0.5"><input data-key="${key}" type="number" ${key === "step" ? 'min="0"' : extra} ${stepAttr} value="${formatParam(value)}" required class="input input-xs w-full font-mono" aria-label="${escapeHtml(p.name)} ${key}"></td>`;
      return `<tr data-grid="${p.name}" data-kind="${p.type}">${label}${cell("min", r.min)}${cell("max", r.max)}${cell("step", r.step)}<td class="count text-right font-mono"></td></tr>`;
    }).join("");
    this._updateCount(false);
  }

  /** The grid as the API wants it, with each row's value list; sets validity messages. */
  _grid() {
    const grid = {};
    const lists = {};
    let ok = true;
    for (const row of this.rows.querySelectorAll("tr[data-grid]")) {
      const name = row.dataset.grid;
      const p = this.spec.params.find((q) => q.name === name);
      const countCell = row.querySelector(".count");
      if (row.dataset.kind === "bool" || row.dataset.kind === "choice") {
        const choice = row.querySelector("select").value;
        const all = p.type === "bool" ? [true, false] : p.choices;
        const values = choice === "all" ? all : [p.type === "bool" ? choice === "true" : choice];
        grid[name] = values;
        lists[name] = values;
        countCell.textContent = String(values.length);
        continue;
      }
      const inputs = Object.fromEntries([...row.querySelectorAll("input")].map((i) => [i.dataset.key, i]));
      const [min, max, step] = ["min", "max", "step"].map((k) => Number(inputs[k].value));
      for (const input of Object.values(inputs)) input.setCustomValidity("");
      let message = null;
      let bad = inputs.min;
      if (!Number.isFinite(min) || inputs.min.value === "") message = "Enter a number";
      else if (p.min !== undefined && min < p.min) message = `${name} must be at least ${p.min}`;
      else if (!Number.isFinite(max) || inputs.max.value === "") [message, bad] = ["Enter a number", inputs.max];
      else if (p.max !== undefined && max > p.max) [message, bad] = [`${name} must be at most ${p.max}`, inputs.max];
      else if (max < min) [message, bad] = ["Max must be at least min", inputs.max];
      else if (!(step > 0)) [message, bad] = ["Step must be positive", inputs.step];
      else if (p.type === "int" && ![min, max, step].every(Number.isInteger)) [message, bad] = ["Whole numbers only", inputs.step];
      const range = message ? null : rangeValues(min, max, step, p.type === "int");
      for (const input of Object.values(inputs)) input.classList.remove("input-error");
      if (message) {
        bad.setCustomValidity(message);
        bad.classList.add("input-error");
        countCell.textContent = "–";
        ok = false;
        continue;
      }
      countCell.textContent = range.count.toLocaleString("en-US");
      grid[name] = min === max ? [p.type === "int" ? Math.round(min) : min] : { min, max, step };
      lists[name] = range.values;
    }
    return { grid, lists, ok };
  }

  _updateCount(save) {
    if (!this.spec) return null;
    const { grid, lists, ok } = this._grid();
    const out = document.getElementById("combinations");
    if (!ok) {
      out.textContent = "–";
      return null;
    }
    const names = Object.keys(lists);
    const total = names.reduce((n, name) => n * (lists[name]?.length ?? Infinity), 1);
    let valid = total;
    const constraints = this.strategy.current()?.parsed ?? [];
    if (constraints.length && Number.isFinite(total) && total <= ENUMERATE_UP_TO) {
      valid = 0;
      const values = {};
      const walk = (k) => {
        if (k === names.length) {
          if (satisfies(constraints, values)) valid += 1;
          return;
        }
        for (const v of lists[names[k]]) {
          values[names[k]] = v;
          walk(k + 1);
        }
      };
      walk(0);
    }
    out.textContent = Number.isFinite(valid)
      ? `${valid.toLocaleString("en-US")}${valid !== total ? ` of ${total.toLocaleString("en-US")}` : ""}`
      : "too many";
    out.title = valid !== total ? "Combinations that satisfy the strategy's constraints, of the full grid" : "";
    this.combinations = valid;
    if (save) {
      const prefs = loadPrefs();
      const saved = {};
      for (const row of this.rows.querySelectorAll("tr[data-grid]")) {
        const select = row.querySelector("select");
        saved[row.dataset.grid] = select
          ? { value: select.value }
          : Object.fromEntries([...row.querySelectorAll("input")].map((i) => [i.dataset.key, Number(i.value)]));
      }
      savePrefs({ grids: { ...(prefs.grids ?? {}), [this.spec.name]: saved } });
    }
    return grid;
  }

  /** Submit the optimization of the grid over the chart's symbol and range. */
  async submit() {
    if (!this.data.spec) {
      this.toasts.show({ kind: "info", title: "Load a chart first", message: "The optimization runs over the chart's symbol and range." });
      return;
    }
    const grid = this._updateCount(true);
    if (!grid || !this.form.reportValidity() || !this.strategy.validate()) {
      if (!grid) this.form.reportValidity();
      return;
    }
    const body = {
      strategy: this.spec.name,
      grid,
      objective: document.getElementById("objective").value,
      top_n: Number(document.getElementById("top-n").value) || 20,
      ...this.data.spec,
      ...this.strategy.trading(),
    };
    Object.assign(body, this._advanced());
    if (document.getElementById("wf-enabled").checked) {
      body.walk_forward = {
        splits: Number(document.getElementById("wf-splits").value),
        oos_fraction: Number(document.getElementById("wf-oos").value),
      };
    }
    this._stopWatching();
    document.getElementById("opt-result").classList.add("hidden");
    this._progress({ status: "submitting", done: 0, total: this.combinations ?? 0, eta_s: null });
    try {
      const answer = await this.session.call((token) => submitOptimization(token, body));
      this.job = { id: answer.job_id, token: this.session.token, combinations: answer.trials ?? answer.combinations, objective: body.objective };
      localStorage.setItem(JOB_KEY, answer.job_id);
      this.progressEvents = 0;
      this._progress({ status: "queued", done: 0, total: answer.trials ?? answer.combinations, eta_s: null });
      this._watch();
    } catch (err) {
      this._progress(null);
      this.toasts.show({ ...explain(err, "Optimization"), key: "optimize" });
    }
  }

  _watch() {
    const { id, token } = this.job;
    const stream = new AbortController();
    this.events = stream;
    let ended = false;
    followOptimization(token, id, (name, data) => {
      if (this.events !== stream) return;
      if (name === "progress") {
        this.progressEvents += 1;
        this._progress(data);
      } else if (name === "end") {
        ended = true;
        this.events = null;
        stream.abort();
        this._finish(data);
      }
    }, stream.signal).catch(() => {}).finally(() => {
      // The stream broke (or closed) before its end event: fall back to polling the job.
      if (ended || this.events !== stream) return;
      this.events = null;
      this._poll();
    });
  }

  _poll() {
    if (!this.job) return;
    const { id, token } = this.job;
    this.pollTimer = setTimeout(async () => {
      try {
        const status = await optimizationStatus(token, id);
        if (TERMINAL.has(status.status)) this._finish(status);
        else {
          this._progress({ status: status.status, ...status.progress, eta_s: status.eta_s });
          this._poll();
        }
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          this._progress(null);
          this.toasts.show({ kind: "error", title: "Optimization lost", message: "The job is gone (its session may have expired)." });
          this.job = null;
        } else {
          this._poll();
        }
      }
    }, POLL_MS);
  }

  _stopWatching() {
    this.events?.abort();
    this.events = null;
    clearTimeout(this.pollTimer);
  }

  async _finish(final) {
    this._stopWatching();
    const job = this.job;
    let status = final;
    if (status.status === "succeeded" && !status.result && job) {
      try {
        status = await optimizationStatus(job.token, job.id);
      } catch (err) {
        this.toasts.show({ ...explain(err, "Reading the optimization result"), key: "optimize" });
      }
    }
    this.status = status;
    this._progress({ status: status.status, ...(status.progress ?? { done: status.done, total: status.total }), eta_s: null }, true);
    if (status.status === "succeeded" && status.result) {
      this.result = status.result;
      this._showResult(status.result);
      const { placement, timings } = status.result;
      if (placement && timings) {
        document.getElementById("opt-eta").textContent =
          `${placement.device.toUpperCase()} · ${placement.chunks} chunk${placement.chunks === 1 ? "" : "s"} · ${timings.total_s.toFixed(1)} s`;
      }
      if (status.result.run_id) this.onStored?.();
      if (!this._resuming) {
        this.toasts.show({ kind: "success", title: "Optimization finished", message: `${(status.progress?.total ?? 0).toLocaleString("en-US")} combinations tested.`, key: "optimize" });
      }
    } else if (status.status === "failed") {
      this.toasts.show({ kind: "error", title: "Optimization failed", message: status.error ?? "unknown error", key: "optimize" });
    } else if (status.status === "cancelled") {
      this.toasts.show({ kind: "info", title: "Optimization cancelled", key: "optimize" });
    } else if (status.status !== "succeeded") {
      this.toasts.show({ kind: "error", title: "Optimization lost", message: status.error ?? status.status, key: "optimize" });
    }
    this.lastJobId = job?.id ?? this.lastJobId;
    this.job = null;
    this._resuming = false;
  }

  /** Cancel the running job. */
  async cancel() {
    if (!this.job) return;
    const { id, token } = this.job;
    try {
      const status = await cancelOptimization(token, id);
      if (TERMINAL.has(status.status)) this._finish(status);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return; // it finished first: the stream says how
      this.toasts.show({ ...explain(err, "Cancelling"), key: "optimize" });
    }
  }

  _progress(p, final = false) {
    const box = document.getElementById("opt-progress");
    const running = p && !final && !TERMINAL.has(p.status);
    document.getElementById("cancel-optimize").hidden = !running || !this.job;
    document.getElementById("run-optimize").disabled = Boolean(running);
    if (!p) {
      box.hidden = true;
      this.progress = null;
      return;
    }
    this.progress = { ...p };
    box.hidden = false;
    const bar = document.getElementById("opt-bar");
    const total = p.total || 0;
    bar.max = Math.max(1, total);
    bar.value = Math.min(p.done ?? 0, bar.max);
    bar.className = `progress w-full ${p.status === "failed" ? "progress-error" : p.status === "succeeded" ? "progress-success" : "progress-primary"}`;
    const pct = total ? Math.floor(((p.done ?? 0) / total) * 100) : 0;
    document.getElementById("opt-status").textContent =
      `${p.status} · ${(p.done ?? 0).toLocaleString("en-US")} / ${total.toLocaleString("en-US")} (${pct}%)`;
    document.getElementById("opt-eta").textContent =
      running && p.eta_s !== null && p.eta_s !== undefined ? `~${Math.ceil(p.eta_s)} s left` : "";
  }

  _objectiveName() {
    return this.result?.objective ?? this.status?.objective ?? "sharpe";
  }

  _formatObjective(v) {
    return formatMetric(this._objectiveName(), v);
  }

  _maximize() {
    // The platform ranks the top list best first: its order says which way is better.
    const top = this.result?.top ?? [];
    const name = this._objectiveName();
    const values = top.map((r) => r.metrics?.[name]).filter((v) => Number.isFinite(v));
    if (values.length >= 2 && values[0] !== values.at(-1)) return values[0] > values.at(-1);
    return !METRIC_INFO[name]?.lowerIsBetter;
  }

  _showResult(result) {
    document.getElementById("opt-result").classList.remove("hidden");
    const objective = result.objective;
    const names = result.surface?.names ?? Object.keys(result.best?.params ?? {});
    const table = document.getElementById("top-table");
    // A second metric beside the objective: the return, or the Sharpe ratio when the return is it.
    const second = objective === "total_return" ? "sharpe" : "total_return";
    const head = `<thead><tr><th>#</th>${names.map((n) => `<th class="font-mono">${escapeHtml(n)}</th>`).join("")}<th class="text-right">${escapeHtml(METRIC_INFO[objective]?.label ?? objective)}</th><th class="text-right">${escapeHtml(METRIC_INFO[second]?.label ?? second)}</th><th class="text-right">Trades</th></tr></thead>`;
    const rows = result.top.map((row, i) =>
      `<tr tabindex="0" data-row="${i}"><td>${i + 1}</td>${names.map((n) => `<td class="font-mono">${formatParam(row.params[n])}</td>`).join("")}` +
      `<td class="text-right font-mono">${formatMetric(objective, row.metrics[objective])}</td>` +
      `<td class="text-right font-mono ${row.metrics[second] >= 0 ? "up" : "down"}">${formatMetric(second, row.metrics[second])}</td>` +
      `<td class="text-right font-mono">${formatMetric("num_trades", row.metrics.num_trades)}</td></tr>`).join("");
    table.innerHTML = `${head}<tbody>${rows}</tbody>`;
    const pick = (tr) => {
      if (!tr?.dataset.row) return;
      for (const other of table.querySelectorAll("tr.row-active")) other.classList.remove("row-active", "bg-base-300");
      tr.classList.add("row-active", "bg-base-300");
      this.strategy.run(result.top[Number(tr.dataset.row)].params);
    };
    table.onclick = (e) => pick(e.target.closest("tr"));
    table.onkeydown = (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        pick(e.target.closest("tr"));
      }
    };
    const axes = result.surface?.names ?? [];
    const [hx, hy] = ["heat-x", "heat-y"].map((id) => document.getElementById(id));
    const numeric = axes.filter((n) => result.surface.axes[n].length > 1);
    const choices = numeric.length ? numeric : axes;
    hx.innerHTML = choices.map((n) => `<option>${escapeHtml(n)}</option>`).join("");
    hy.innerHTML = ['<option value="">(none)</option>', ...choices.map((n) => `<option>${escapeHtml(n)}</option>`)].join("");
    hx.value = choices[0] ?? "";
    hy.value = choices[1] ?? "";
    this._drawHeatmap();
    this._showSummary(result);
    this._showCensus(result.census);
    this._showMonteCarlo(result.monte_carlo);
    this._showWalkForward(result.walk_forward);
    const efficiency = result.walk_forward_efficiency;
    document.getElementById("wf-efficiency").textContent = result.walk_forward
      ? `efficiency ${Number.isFinite(efficiency) ? efficiency.toFixed(2) : "–"} (out-of-sample CAGR / in-sample)` : "";
    if (result.walk_forward_equity) drawCurve(document.getElementById("wf-equity"), result.walk_forward_equity);
  }

  /** Search, robustness and ranking settings from the form (only what differs from the API's defaults). */
  _advanced() {
    const out = {};
    const method = document.getElementById("opt-method").value;
    if (method !== "grid") {
      out.search = { method, trials: Number(document.getElementById("opt-trials").value) || 500, seed: Number(document.getElementById("opt-seed").value) || 0 };
    }
    out.min_trades = Number(document.getElementById("opt-min-trades").value) || 0;
    out.select = document.getElementById("opt-select").value;
    const paths = Number(document.getElementById("opt-mc-paths").value);
    if (paths >= 100) out.monte_carlo = { paths, top: 5, seed: Number(document.getElementById("opt-seed").value) || 0 };
    const symbols = document.getElementById("opt-symbols").value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    if (symbols.length) out.symbols = symbols;
    const intervals = [...document.querySelectorAll("[data-interval]:checked")].map((i) => i.dataset.interval);
    if (intervals.length) out.intervals = intervals;
    return out;
  }

  _showSummary(result) {
    const search = result.search ?? {};
    const lines = [];
    const evaluated = search.evaluated ?? result.combinations;
    lines.push(`${(evaluated ?? 0).toLocaleString("en-US")} combinations evaluated${search.method && search.method !== "grid" ? ` by ${search.method} search (${search.sampler ?? "seeded draws"}, seed ${search.seed}) of ${search.grid_combinations.toLocaleString("en-US")}` : ""}; ${(result.ranked ?? 0).toLocaleString("en-US")} ranked, ${(result.below_min_trades ?? 0).toLocaleString("en-US")} with fewer than ${result.min_trades} trades left out.`);
    const dsr = result.deflated_sharpe;
    if (dsr !== undefined) {
      lines.push(`Deflated Sharpe of the best: <strong class="${dsr >= 0.95 ? "up" : "down"}">${Number.isFinite(dsr) ? dsr.toFixed(3) : "–"}</strong> (chance its Sharpe beats the luckiest of ${result.trials} unskilled trials; 0.95+ is convincing).`);
    }
    if (!result.best) lines.push("<strong class=\"down\">No combination made the minimum number of trades.</strong>");
    else if (result.select === "plateau") lines.push("Best chosen by its plateau: the mean objective over its grid neighbours.");
    document.getElementById("opt-summary").innerHTML = lines.map((l) => `<p>${l}</p>`).join("");
  }

  _showCensus(census) {
    const box = document.getElementById("census-result");
    box.hidden = !census?.length;
    if (!census?.length) return;
    const objective = this._objectiveName();
    document.getElementById("census-table").innerHTML =
      `<thead><tr><th>Symbol</th><th>Best</th><th class="text-right">${escapeHtml(METRIC_INFO[objective]?.label ?? objective)}</th><th class="text-right">Plateau</th><th class="text-right">Ranked</th></tr></thead><tbody>` +
      census.map((row) => {
        const best = row.best;
        const params = best ? Object.entries(best.params).filter(([k]) => k !== "symbol").map(([k, v]) => `${escapeHtml(k)}=${formatParam(v)}`).join(" ") : "none ranked";
        return `<tr><td class="font-mono">${escapeHtml(row.symbol)}</td><td class="font-mono">${params}</td>` +
          `<td class="text-right font-mono">${best ? formatMetric(objective, best.metrics[objective]) : "–"}</td>` +
          `<td class="text-right font-mono">${best ? formatMetric(objective, best.plateau?.mean) : "–"}</td>` +
          `<td class="text-right font-mono">${row.ranked}/${row.combinations}</td></tr>`;
      }).join("") + "</tbody>";
  }

  _showMonteCarlo(rows) {
    const box = document.getElementById("mc-result");
    box.hidden = !rows?.length;
    if (!rows?.length) return;
    drawBands(document.getElementById("mc-chart"), rows);
    if (rows[0].fan) drawFan(document.getElementById("mc-fan"), rows[0].fan);
  }

  /** Show a stored optimization (a run of kind "optimize" from the Runs tab). */
  showStored(record) {
    this.result = record.result;
    this.lastJobId = record.run_id;
    this._showResult(record.result);
    document.getElementById("opt-eta").textContent = `stored run of ${new Date(record.created * 1000).toLocaleString()}`;
    this.showTab("optimize");
  }

  /** Reattach to a job this browser started before a reload, if it is still known. */
  async resume() {
    const id = localStorage.getItem(JOB_KEY);
    if (!id || this.job) return false;
    try {
      const token = await this.session.current();
      const view = await optimizationStatus(token, id);
      this.job = { id, token, combinations: view.progress?.total, objective: view.result?.objective };
      if (TERMINAL.has(view.status)) {
        this._resuming = true;
        await this._finish(view);
      } else {
        this._progress({ status: view.status, ...view.progress, eta_s: view.eta_s });
        this._watch();
      }
      return true;
    } catch {
      localStorage.removeItem(JOB_KEY);
      return false;
    }
  }

  _drawHeatmap() {
    const surface = this.result?.surface;
    if (!surface?.names?.length) return;
    const x = document.getElementById("heat-x").value;
    let y = document.getElementById("heat-y").value || null;
    if (y === x) y = null;
    const layer = document.getElementById("heat-layer").value;
    const grid = heatmapGrid(surface, x, y, this._maximize(), layer);
    this.heatmap.render(grid);
    document.getElementById("heat-min").textContent = this._formatObjective(grid.maximize ? grid.min : grid.max);
    document.getElementById("heat-max").textContent = this._formatObjective(grid.maximize ? grid.max : grid.min);
    this.grid = grid;
  }

  _backtestCombo(combo) {
    this.strategy.run(comboParams(this.result.surface, combo));
  }

  _showWalkForward(splits) {
    const box = document.getElementById("wf-result");
    box.hidden = !splits?.length;
    if (!splits?.length) return;
    const objective = this._objectiveName();
    const day = (t) => (typeof t === "number" ? formatUtcAsExchange(t, { daily: true }) : escapeHtml(String(t).slice(0, 10)));
    document.getElementById("wf-table").innerHTML =
      `<thead><tr><th>Split</th><th>Out of sample</th><th>Params</th><th class="text-right">IS</th><th class="text-right">OOS</th></tr></thead><tbody>` +
      splits.map((s) =>
        `<tr><td>${s.split}</td><td class="whitespace-nowrap font-mono">${day(s.out_of_sample.start)} → ${day(s.out_of_sample.end)}</td>` +
        `<td class="font-mono">${Object.entries(s.params).map(([k, v]) => `${escapeHtml(k)}=${formatParam(v)}`).join(" ")}</td>` +
        `<td class="text-right font-mono">${formatMetric(objective, s.in_sample_objective)}</td>` +
        `<td class="text-right font-mono">${formatMetric(objective, s.out_of_sample_metrics?.[objective])}</td></tr>`).join("") +
      "</tbody>";
  }

  /** A read-only snapshot for tests. */
  snapshot() {
    return {
      jobId: this.job?.id ?? this.lastJobId ?? null,
      status: this.status?.status ?? this.progress?.status ?? null,
      progress: this.progress ? { ...this.progress } : null,
      progressEvents: this.progressEvents,
      combinations: this.combinations ?? null,
      top: this.result?.top?.length ?? 0,
      heatmap: this.grid
        ? { x: this.grid.xName, y: this.grid.yName, columns: this.grid.xs.length, rows: this.grid.ys.length, filled: this.grid.filled, renders: this.heatmap.renders }
        : null,
      walkForward: this.result?.walk_forward?.length ?? 0,
      census: this.result?.census?.length ?? 0,
      monteCarlo: this.result?.monte_carlo?.length ?? 0,
      monteCarloFan: this.result?.monte_carlo?.[0]?.fan?.trades?.length ?? 0,
      deflatedSharpe: this.result?.deflated_sharpe ?? null,
      search: this.result?.search ?? null,
      heatLayer: document.getElementById("heat-layer").value,
    };
  }
}
