// The Runs panel: the workspace's stored backtests (GET /runs), newest first. A run reopens in
// the Backtest panel (``onOpen``), is deleted (a second click confirms), downloads its trades
// (CSV) or report (JSON), and two runs compare side by side: every metric in two columns and
// both equity curves on one small chart. The list is refreshed after each backtest and when
// the session lands in another workspace.
import { deleteRun, downloadRun, fetchRun, listRuns } from "./api.js";
import { CURVE_COLORS, drawCurves, returnsOf } from "./curves.js";
import { explain } from "./errors.js";
import { escapeHtml, formatMetric, formatMoney, formatParam, METRIC_INFO, metricTone } from "./format.js";

const CONFIRM_MS = 4000;
const $ = (id) => document.getElementById(id);

/** "fast=5, slow=20" */
export const paramText = (params) =>
  Object.entries(params ?? {}).map(([k, v]) => `${k}=${formatParam(v)}`).join(", ");

/** A run's time for the list: "Dec 2, 14:55". */
export const createdText = (created) =>
  new Date(created * 1000).toLocaleString("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });

/** The chart spec ({symbol, interval, start, end, rth}) a run ran on. */
export const chartOfRun = (summary) =>
  ({ symbol: summary.symbol, interval: summary.interval, start: summary.start, end: summary.end, rth: summary.rth !== false });

/** Save ``blob`` as ``filename`` through a temporary link (the browser's download). */
export function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

export class RunsPanel {
  constructor({ session, toasts, onOpen }) {
    this.session = session;
    this.toasts = toasts;
    this.onOpen = onOpen;
    this.runs = [];
    this.total = 0;
    this.loaded = false;
    this.loading = false;
    this.refreshes = 0;
    this.picked = []; // run ids chosen for comparison, oldest pick first
    this.compared = null; // {a, b} records
    this.shown = null; // the run reopened in the Backtest panel
    this.downloads = 0;
    this._workspace = null;
    this._confirm = null;
    this.list = $("runs-list");
    this.list.addEventListener("click", (event) => this._onClick(event));
    this.list.addEventListener("change", (event) => {
      const box = event.target.closest("[data-compare]");
      if (box) this._pick(box.dataset.compare, box.checked);
    });
    $("runs-refresh").addEventListener("click", () => this.refresh());
    $("runs-compare-button").addEventListener("click", () => this.compare(...this.picked));
    $("runs-compare-close").addEventListener("click", () => this._closeCompare());
    session.onChange(({ state, workspace }) => {
      if (state === "live" && workspace !== this._workspace) {
        this._workspace = workspace;
        this.refresh();
      }
    });
    new ResizeObserver(() => this.compared && this._drawCompare()).observe($("runs-compare-chart"));
  }

  /** Read the workspace's runs again and redraw the list. */
  async refresh() {
    this.loading = true;
    $("runs-loading").classList.remove("hidden");
    try {
      const answer = await this.session.call((token) => listRuns(token));
      this.runs = answer.runs;
      this.total = answer.total;
      this.loaded = true;
      this.picked = this.picked.filter((id) => this.runs.some((r) => r.run_id === id));
      this._render();
      this.toasts.dismiss("runs");
    } catch (err) {
      this.toasts.show({ ...explain(err, "Loading the runs"), key: "runs", action: { label: "Retry", run: () => this.refresh() } });
    } finally {
      this.loading = false;
      this.refreshes += 1;
      $("runs-loading").classList.add("hidden");
    }
  }

  _render() {
    $("runs-count").textContent = this.total.toLocaleString("en-US");
    $("runs-empty").hidden = this.runs.length > 0;
    this.list.innerHTML = this.runs.map((run) => this._row(run)).join("");
    this._showPicks();
  }

  _row(run) {
    const id = escapeHtml(run.run_id);
    const m = run.metrics ?? {};
    const name = `${run.strategy} ${run.symbol} ${run.interval}`;
    const stat = (metric, label) =>
      `<span>${label} <b class="font-mono font-normal ${metricTone(metric, m[metric])}" data-run-metric="${metric}">${formatMetric(metric, m[metric])}</b></span>`;
    const button = (action, label, title, tone = "btn-ghost") =>
      `<button type="button" class="btn btn-xs ${tone} px-1.5" data-action="${action}" title="${escapeHtml(title)}" aria-label="${escapeHtml(`${label}: ${name}`)}">${label}</button>`;
    return `<li class="run-row${run.run_id === this.shown ? " shown" : ""}" data-run="${id}">
      <input type="checkbox" class="checkbox checkbox-xs mt-0.5" data-compare="${id}" aria-label="${escapeHtml(`Compare ${name}`)}" ${this.picked.includes(run.run_id) ? "checked" : ""}>
      <div class="min-w-0">
        <div class="run-title"><strong>${escapeHtml(run.strategy ?? run.kind)}</strong> ${escapeHtml(run.symbol ?? "")} ${escapeHtml(run.interval ?? "")}
          <span class="opacity-60" title="${escapeHtml(`${run.start} – ${run.end}, ${run.rth === false ? "extended" : "regular"} hours`)}">${escapeHtml(run.start ?? "")} – ${escapeHtml(run.end ?? "")}</span></div>
        <div class="run-params truncate opacity-75" title="${escapeHtml(paramText(run.params))}">${escapeHtml(paramText(run.params))}</div>
        <div class="run-stats">${stat("total_return", "Return")}${stat("sharpe", "Sharpe")}
          <span><b class="font-mono font-normal" data-run-metric="trades">${run.trades.toLocaleString("en-US")}</b> trades</span>
          <span class="opacity-60">${escapeHtml(createdText(run.created))}</span>
          ${run.complete === false ? '<span class="badge badge-xs badge-warning" title="Stored with thinned curves or fewer trades (RUN_MAX_BYTES)">thinned</span>' : ""}</div>
        <div class="run-actions">${button("open", "Open", "Reopen in the Backtest panel", "btn-primary btn-outline")}${button("csv", "Trades CSV", "Download the trades as CSV")}${button("json", "Report JSON", "Download metrics, equity and request as JSON")}${button("delete", "Delete", "Delete this run", "btn-ghost text-error")}</div>
      </div>
    </li>`;
  }

  _onClick(event) {
    const button = event.target.closest("[data-action]");
    const runId = event.target.closest("[data-run]")?.dataset.run;
    if (!button || !runId) return;
    const action = button.dataset.action;
    if (action === "open") this.open(runId);
    else if (action === "csv") this.download(runId, "trades.csv");
    else if (action === "json") this.download(runId, "report.json");
    else if (action === "delete") this._confirmDelete(button, runId);
  }

  /** Reopen run ``runId`` in the Backtest panel; resolves to its record (null on failure). */
  async open(runId) {
    try {
      const record = await this.session.call((token) => fetchRun(token, runId));
      this.shown = runId;
      this.onOpen(record);
      for (const row of this.list.querySelectorAll(".run-row")) row.classList.toggle("shown", row.dataset.run === runId);
      if (record.stored && !record.stored.complete) {
        this.toasts.show({ kind: "info", title: "Run stored thinned", message: "Its curves (or trades) were cut to fit RUN_MAX_BYTES when it was stored.", key: "runs" });
      }
      return record;
    } catch (err) {
      this.toasts.show({ ...explain(err, "Opening the run"), key: "runs" });
      if (err.status === 404) this.refresh();
      return null;
    }
  }

  /** Save run ``runId``'s ``file`` ("trades.csv" or "report.json") as a download. */
  async download(runId, file) {
    try {
      const { blob, filename } = await this.session.call((token) => downloadRun(token, runId, file));
      save(blob, filename);
      this.downloads += 1;
    } catch (err) {
      this.toasts.show({ ...explain(err, "Downloading"), key: "runs" });
    }
  }

  _confirmDelete(button, runId) {
    if (this._confirm?.runId === runId) {
      clearTimeout(this._confirm.timer);
      this._confirm = null;
      this.remove(runId);
      return;
    }
    if (this._confirm) this._confirm.reset();
    const label = button.textContent;
    const reset = () => {
      button.textContent = label;
      button.classList.remove("btn-error");
      this._confirm = null;
    };
    button.textContent = "Delete?";
    button.classList.add("btn-error");
    this._confirm = { runId, reset, timer: setTimeout(reset, CONFIRM_MS) };
  }

  /** Delete run ``runId`` and list the runs again. */
  async remove(runId) {
    try {
      await this.session.call((token) => deleteRun(token, runId));
    } catch (err) {
      if (err.status !== 404) {
        this.toasts.show({ ...explain(err, "Deleting the run"), key: "runs" });
        return;
      }
    }
    this.picked = this.picked.filter((id) => id !== runId);
    if (this.compared && [this.compared.a.run_id, this.compared.b.run_id].includes(runId)) this._closeCompare();
    await this.refresh();
  }

  _pick(runId, on) {
    this.picked = this.picked.filter((id) => id !== runId);
    if (on) this.picked.push(runId);
    if (this.picked.length > 2) this.picked = this.picked.slice(-2);
    this._showPicks();
  }

  _showPicks() {
    for (const box of this.list.querySelectorAll("[data-compare]")) box.checked = this.picked.includes(box.dataset.compare);
    const ready = this.picked.length === 2;
    $("runs-compare-button").disabled = !ready;
    $("runs-compare-hint").textContent = ready ? "" : `Tick two runs to compare them (${this.picked.length} of 2).`;
  }

  /** Show runs ``a`` and ``b`` side by side: metrics in two columns, both equity curves. */
  async compare(a, b) {
    if (!a || !b) return null;
    try {
      const [first, second] = await Promise.all([a, b].map((id) => this.session.call((token) => fetchRun(token, id))));
      this.compared = { a: first, b: second };
      $("runs-compare").hidden = false;
      this._renderCompare();
      $("runs-compare").scrollIntoView({ block: "nearest" });
      return this.compared;
    } catch (err) {
      this.toasts.show({ ...explain(err, "Comparing runs"), key: "runs" });
      return null;
    }
  }

  _renderCompare() {
    const { a, b } = this.compared;
    const head = (record, k) => {
      const s = record.summary;
      return `<th class="text-right" style="color:${CURVE_COLORS[k]}" title="${escapeHtml(`${s.strategy} ${s.symbol} ${s.interval} ${s.start} – ${s.end} · ${paramText(s.params)}`)}">
        <div>${escapeHtml(s.strategy)} ${escapeHtml(s.symbol)} ${escapeHtml(s.interval)}</div><div class="font-normal normal-case opacity-75">${escapeHtml(paramText(s.params))}</div></th>`;
    };
    const final = (record) => record.result.equity?.v?.at(-1) ?? null;
    const rows = [["Final equity", final(a) === null ? "–" : formatMoney(final(a)), final(b) === null ? "–" : formatMoney(final(b)), "", ""]];
    for (const name of Object.keys(METRIC_INFO)) {
      const [x, y] = [a.result.metrics?.[name], b.result.metrics?.[name]];
      rows.push([METRIC_INFO[name].label, formatMetric(name, x), formatMetric(name, y), metricTone(name, x), metricTone(name, y)]);
    }
    $("runs-compare-table").innerHTML = `<thead><tr><th>Metric</th>${head(a, 0)}${head(b, 1)}</tr></thead><tbody>${rows
      .map(([label, x, y, tx, ty]) => `<tr><th class="font-normal opacity-75">${label}</th><td class="text-right font-mono ${tx}" data-side="a">${x}</td><td class="text-right font-mono ${ty}" data-side="b">${y}</td></tr>`)
      .join("")}</tbody>`;
    $("runs-compare-legend").innerHTML = [a, b].map((r, k) =>
      `<span><span class="legend-swatch" style="background:${CURVE_COLORS[k]}"></span>${escapeHtml(`${r.summary.symbol} ${paramText(r.summary.params)}`)}</span>`).join("");
    this._drawCompare();
  }

  _drawCompare() {
    const records = [this.compared.a, this.compared.b];
    this.comparePoints = drawCurves($("runs-compare-chart"), records.map((r, k) => ({
      label: r.run_id, color: CURVE_COLORS[k], ...returnsOf(r.result.equity ?? { t: [], v: [] }, r.summary.initial_cash),
    })));
  }

  _closeCompare() {
    this.compared = null;
    $("runs-compare").hidden = true;
  }

  /** A read-only snapshot for tests. */
  snapshot() {
    return {
      loaded: this.loaded, loading: this.loading, refreshes: this.refreshes, total: this.total,
      runs: this.runs.map((r) => ({ run_id: r.run_id, strategy: r.strategy, symbol: r.symbol, interval: r.interval, params: { ...r.params }, metrics: { ...r.metrics }, trades: r.trades })),
      picked: this.picked.slice(), shown: this.shown, downloads: this.downloads,
      compared: this.compared ? [this.compared.a.run_id, this.compared.b.run_id] : null,
      comparePoints: this.compared ? this.comparePoints?.slice() ?? null : null,
    };
  }
}
