// The Import dialog: a CSV or Parquet file of bars becomes the symbol ``file:<SYMBOL>``. The
// upload shows the bytes sent (XMLHttpRequest's upload progress), then the server's reading and
// storing (GET /data/imports/{id} every 300 ms); the answer (bars, first and last bar,
// resolution) comes with "Chart it". A bad file's 422 (or a symbol's 409 conflict) lists each
// problem in the dialog, with its row and column; any other failure is a toast. The dialog also lists the imported symbols, each deletable.
import { ApiError, deleteImported, importFile, importStatus } from "./api.js";
import { explain, fieldLabel } from "./errors.js";
import { escapeHtml } from "./format.js";
import { isoDate } from "./symbols.js";

const POLL_MS = 300;
const SYMBOL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$/;
const SESSION_RE = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/;
const RESOLUTION_RE = /^[1-9]\d{0,4}[smhd]$/;
const DELETE_CONFIRM_MS = 4000;

// Common exchange zones first; the browser's full IANA list follows them in the datalist.
const ZONES = [
  ["America/New_York", "US equities (NYSE, Nasdaq)"],
  ["America/Chicago", "CME futures"],
  ["America/Los_Angeles", ""],
  ["America/Toronto", "TSX"],
  ["America/Sao_Paulo", "B3"],
  ["UTC", "crypto, 24/7 markets"],
  ["Europe/London", "LSE"],
  ["Europe/Berlin", "Xetra"],
  ["Europe/Paris", "Euronext"],
  ["Europe/Zurich", "SIX"],
  ["Asia/Tokyo", "TSE"],
  ["Asia/Hong_Kong", "HKEX"],
  ["Asia/Shanghai", "SSE"],
  ["Asia/Singapore", "SGX"],
  ["Asia/Kolkata", "NSE"],
  ["Australia/Sydney", "ASX"],
];
const RESOLUTIONS = ["1s", "5s", "15s", "30s", "1m", "2m", "5m", "15m", "30m", "1h", "4h", "1d"];
const SESSIONS = [
  ["09:30-16:00", "US regular hours"],
  ["04:00-20:00", "US extended hours"],
  ["08:00-16:30", "London"],
  ["09:00-17:30", "Frankfurt, Paris"],
  ["09:00-15:00", "Tokyo"],
];
const STAGES = { receiving: "receiving", reading: "reading the file", storing: "storing bars", done: "done", failed: "failed" };

/** A fresh import id: 24 characters of [A-Za-z0-9_-] (works outside secure contexts too). */
export function newImportId() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** A symbol guessed from a file name: "goog_1m.csv" -> "GOOG_1M" ("" when nothing fits). */
export function symbolFromFileName(name) {
  const stem = String(name).replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9._-]+/g, "_");
  return stem.replace(/^[._-]+|[._-]+$/g, "").slice(0, 30).toUpperCase();
}

/** The message without a leading "row 12, column High: " that the badges already say. */
function bareMessage(entry) {
  if (entry.row === undefined && entry.column === undefined) return entry.message ?? "";
  return String(entry.message ?? "").replace(/^\s*row\s+\d+\s*(,\s*column\s+[^:]+)?:\s*/i, "")
    .replace(/^\s*column\s+[^:]+:\s*/i, "");
}

const megabytes = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1e3))} kB`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ImportDialog {
  /**
   * @param {{session, toasts, suggestions, onChart: (info) => void}} deps ``onChart`` charts an
   *   imported symbol ({symbol, first, last, resolution})
   */
  constructor({ session, toasts, suggestions, onChart }) {
    this.session = session;
    this.toasts = toasts;
    this.suggestions = suggestions;
    this.onChart = onChart;
    this.running = null; // {importId, abort}
    this.result = null;
    this.problems = [];
    this.uploads = []; // [sent, total] as progress events came
    this.stages = []; // the states polling saw, in order
    this.polls = 0;
    this.$ = (id) => document.getElementById(id);
    this.dialog = this.$("import");
    this.form = this.$("import-form");
    this._buildLists();
    this.$("open-import").addEventListener("click", () => this.open());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.$("import-cancel").addEventListener("click", () => this.running?.abort.abort());
    this.$("import-file").addEventListener("change", () => this._onFile());
    this.form.addEventListener("input", (event) => {
      this._clearMark(event.target);
      if (event.target.id === "import-symbol") delete event.target.dataset.guessed;
    });
    this.$("import-chart").addEventListener("click", () => this._chart(this.result));
    this.$("import-list").addEventListener("click", (event) => this._onListClick(event));
    suggestions.onImported((imported) => this._renderList(imported));
  }

  _buildLists() {
    const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    const common = new Set(ZONES.map(([zone]) => zone));
    this.$("import-zones").innerHTML = [
      ...ZONES.map(([zone, label]) => `<option value="${zone}"${label ? ` label="${escapeHtml(label)}"` : ""}></option>`),
      ...all.filter((zone) => !common.has(zone)).map((zone) => `<option value="${escapeHtml(zone)}"></option>`),
    ].join("");
    this.$("import-resolutions").innerHTML = RESOLUTIONS.map((r) => `<option value="${r}"></option>`).join("");
    this.$("import-sessions").innerHTML = SESSIONS
      .map(([hours, label]) => `<option value="${hours}" label="${escapeHtml(label)}"></option>`).join("");
  }

  /** Show the dialog and refresh the list of imported symbols. */
  open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.suggestions.refresh();
    if (!this.running) this.$("import-file").focus();
  }

  _onFile() {
    const file = this.$("import-file").files[0];
    this.$("import-file-info").textContent = file ? `${file.name} · ${megabytes(file.size)}` : "";
    const symbol = this.$("import-symbol");
    if (file && (!symbol.value || symbol.dataset.guessed === "1")) {
      symbol.value = symbolFromFileName(file.name);
      symbol.dataset.guessed = "1";
    }
  }

  /** The form's fields, checked here first; null (with the problems shown) when one is wrong. */
  _fields() {
    const file = this.$("import-file").files[0];
    const fields = {
      file,
      symbol: this.$("import-symbol").value.trim().replace(/^file:/i, "").toUpperCase(),
      timezone: this.$("import-timezone").value.trim() || "America/New_York",
      resolution: this.$("import-resolution").value.trim(),
      session: this.$("import-session").value.trim(),
    };
    const problems = [];
    if (!file) problems.push({ field: "file", message: "choose a CSV or Parquet file" });
    if (!SYMBOL_RE.test(fields.symbol)) problems.push({ field: "symbol", message: "1 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit" });
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: fields.timezone });
    } catch {
      problems.push({ field: "timezone", message: `unknown time zone "${fields.timezone}"` });
    }
    if (fields.resolution && !RESOLUTION_RE.test(fields.resolution)) problems.push({ field: "resolution", message: "a number and s, m, h or d (e.g. 1m), or blank to detect" });
    if (fields.session && !SESSION_RE.test(fields.session)) problems.push({ field: "session", message: "HH:MM-HH:MM (e.g. 09:30-16:00), or blank for 24 hours" });
    if (problems.length) {
      this._showProblems(problems);
      return null;
    }
    return fields;
  }

  /** Upload the chosen file; resolves true when it was imported. */
  async submit() {
    if (this.running) return false;
    this._showProblems([]);
    const fields = this._fields();
    if (!fields) return false;
    const abort = new AbortController();
    this.running = { importId: null, abort };
    this.result = null;
    this.uploads = [];
    this.stages = [];
    this._showRunning(fields.file.size);
    const polling = this._poll(abort.signal);
    try {
      const answer = await this.session.call((token) => {
        // a fresh id per attempt: a renewed session sends the file again
        this.running.importId = newImportId();
        return importFile(token, { ...fields, import_id: this.running.importId }, {
          signal: abort.signal,
          onProgress: (sent, total) => this._showUpload(sent, total),
        });
      });
      this.result = answer;
      this._showResult(answer);
      this.suggestions.refresh();
      if (!this.dialog.open) {
        this.toasts.show({
          kind: "success", title: `Imported ${answer.symbol}`, message: `${answer.bars.toLocaleString("en-US")} bars`,
          action: { label: "Chart it", run: () => this._chart(answer) },
        });
      }
      return true;
    } catch (err) {
      this._setStage(err.name === "AbortError" ? "cancelled" : "failed", this.$("import-stage-bar").value || 0, true);
      if (err.name === "AbortError") return false;
      if (err instanceof ApiError && [409, 422].includes(err.status) && err.fields.length) {
        this._showProblems(err.fields);
        if (!this.dialog.open) this.toasts.show({ ...explain(err, "Importing the file"), title: "Import refused" });
      } else {
        this.toasts.show({ ...explain(err, "Importing the file"), key: "import" });
      }
      return false;
    } finally {
      this.running = null;
      this._showIdle();
      await polling;
    }
  }

  async _poll(signal) {
    // Until the POST answers: the server's stage. 404 until it has seen the upload.
    while (!signal.aborted && this.running) {
      await sleep(POLL_MS);
      const id = this.running?.importId;
      if (!id || signal.aborted) break;
      try {
        const token = await this.session.current();
        const status = await importStatus(token, id, signal);
        this.polls += 1;
        if (this.running?.importId === id) this._showStatus(status);
      } catch {
        // not seen yet (404) or a blip: the next poll asks again; the POST decides the outcome
      }
    }
  }

  _showRunning(size) {
    this.$("import-submit").disabled = true;
    this.$("import-submit").querySelector(".loading").classList.remove("hidden");
    this.$("import-cancel").hidden = false;
    this.$("import-progress").hidden = false;
    this.$("import-result").hidden = true;
    this._showUpload(0, size);
    this._setStage("waiting for the server", 0);
  }

  _showIdle() {
    this.$("import-submit").disabled = false;
    this.$("import-submit").querySelector(".loading").classList.add("hidden");
    this.$("import-cancel").hidden = true;
  }

  _showUpload(sent, total) {
    this.uploads.push([sent, total]);
    const bar = this.$("import-upload-bar");
    bar.max = Math.max(total, 1);
    bar.value = sent;
    this.$("import-upload-text").textContent = sent >= total && total > 0
      ? `${megabytes(total)} sent` : `${megabytes(sent)} of ${megabytes(total)}`;
  }

  _showStatus(status) {
    if (this.stages.at(-1) !== status.state) this.stages.push(status.state);
    const rows = Number(status.rows ?? 0);
    const fraction = Number.isFinite(status.fraction) ? Math.min(1, status.fraction)
      : status.bytes_total > 0 && Number.isFinite(status.bytes_read) ? Math.min(1, status.bytes_read / status.bytes_total) : null;
    const label = `${STAGES[status.state] ?? status.state}${rows ? ` · ${rows.toLocaleString("en-US")} rows` : ""}`;
    if (status.state === "storing") this._setStage(label, null);
    else if (status.state === "done") this._setStage(label, 1);
    else this._setStage(label, fraction, status.state === "failed");
  }

  /** The server-side bar: ``fraction`` null is indeterminate. */
  _setStage(text, fraction, failed = false) {
    const bar = this.$("import-stage-bar");
    if (fraction === null) bar.removeAttribute("value");
    else bar.value = fraction;
    bar.classList.toggle("progress-error", failed);
    bar.classList.toggle("progress-primary", !failed);
    this.$("import-stage-text").textContent = text;
  }

  _showResult(answer) {
    this._setStage(`done · ${answer.bars.toLocaleString("en-US")} bars stored`, 1);
    const rows = [
      ["Symbol", answer.symbol],
      ["Bars", answer.bars.toLocaleString("en-US")],
      ["First bar", answer.first],
      ["Last bar", answer.last],
      ["Resolution", answer.resolution],
      ["Time zone", answer.timezone],
    ];
    if (answer.replaced_days) rows.push(["Days replaced", String(answer.replaced_days)]);
    this.$("import-result-table").innerHTML = rows
      .map(([name, value]) => `<tr><th class="font-normal opacity-70">${name}</th><td class="font-mono" data-name="${name}">${escapeHtml(value ?? "–")}</td></tr>`)
      .join("");
    this.$("import-result").hidden = false;
    this.$("import-chart").focus();
  }

  /** List the problems of a refused import, row and column first; mark the fields they name. */
  _showProblems(problems) {
    this.problems = problems.map((p) => ({ ...p }));
    for (const el of this.form.querySelectorAll("[aria-invalid=true]")) this._clearMark(el);
    const box = this.$("import-error");
    box.hidden = problems.length === 0;
    this.$("import-error-list").innerHTML = problems.map((p) => {
      const where = [
        p.row !== undefined && p.row !== null ? `<span class="badge badge-sm badge-error font-mono" data-row="${escapeHtml(p.row)}">row ${escapeHtml(p.row)}</span>` : "",
        p.column !== undefined && p.column !== null ? `<span class="badge badge-sm badge-warning font-mono" data-column="${escapeHtml(p.column)}">column ${escapeHtml(p.column)}</span>` : "",
      ].join(" ");
      const field = p.row !== undefined || p.column !== undefined ? "" : `<strong>${escapeHtml(fieldLabel(p.field) || "File")}:</strong> `;
      return `<li class="flex flex-wrap items-center gap-1">${where} <span>${field}${escapeHtml(bareMessage(p))}</span></li>`;
    }).join("");
    for (const p of problems) {
      const input = this.form.querySelector(`[data-field="${CSS.escape(p.field ?? "")}"]`);
      if (!input) continue;
      input.setAttribute("aria-invalid", "true");
      input.classList.add(input.type === "file" ? "file-input-error" : "input-error");
    }
  }

  _clearMark(el) {
    if (!el?.dataset?.field) return;
    el.removeAttribute("aria-invalid");
    el.classList.remove("input-error", "file-input-error");
  }

  _renderList(imported) {
    const table = this.$("import-list");
    this.$("import-list-empty").hidden = imported.length > 0;
    table.hidden = imported.length === 0;
    table.querySelector("tbody").innerHTML = imported.map((s) => `
      <tr data-symbol="${escapeHtml(s.symbol)}">
        <td class="font-mono">${escapeHtml(s.symbol)}</td>
        <td>${escapeHtml(s.resolution ?? "–")}</td>
        <td class="whitespace-nowrap">${escapeHtml(isoDate(s.first))} – ${escapeHtml(isoDate(s.last))}</td>
        <td class="text-right tabular-nums">${escapeHtml(Number(s.bars ?? 0).toLocaleString("en-US"))}</td>
        <td class="text-[11px] opacity-70" title="${escapeHtml(s.timezone ?? "")}">${escapeHtml(s.session ?? "24h")}</td>
        <td class="whitespace-nowrap text-right">
          <button type="button" class="btn btn-ghost btn-xs" data-action="chart" aria-label="Chart ${escapeHtml(s.symbol)}">Chart</button>
          <button type="button" class="btn btn-ghost btn-xs text-error" data-action="delete" aria-label="Delete ${escapeHtml(s.symbol)}">Delete</button>
        </td>
      </tr>`).join("");
  }

  _onListClick(event) {
    const button = event.target.closest("button[data-action]");
    const symbol = button?.closest("tr")?.dataset.symbol;
    if (!symbol) return;
    const info = this.suggestions.imported.find((s) => s.symbol === symbol);
    if (button.dataset.action === "chart" && info) this._chart(info);
    if (button.dataset.action === "delete") this._askDelete(button, symbol);
  }

  _askDelete(button, symbol) {
    // Two clicks: the first arms the button, the second (within a few seconds) deletes.
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = "Delete?";
      button.classList.replace("btn-ghost", "btn-error");
      button.classList.remove("text-error");
      setTimeout(() => {
        if (!button.isConnected || button.dataset.armed !== "1") return;
        delete button.dataset.armed;
        button.textContent = "Delete";
        button.classList.replace("btn-error", "btn-ghost");
        button.classList.add("text-error");
      }, DELETE_CONFIRM_MS);
      return;
    }
    button.disabled = true;
    this.delete(symbol);
  }

  /** Delete an imported symbol; resolves true when it was deleted. */
  async delete(symbol) {
    try {
      await this.session.call((token) => deleteImported(token, symbol));
      this.toasts.show({ kind: "success", title: `Deleted ${symbol}`, key: "import" });
      this._forgetResult(symbol);
      this.suggestions.forget(symbol);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) { // gone already
        this._forgetResult(symbol);
        this.suggestions.forget(symbol);
      }
      else this.toasts.show({ ...explain(err, `Deleting ${symbol}`), key: "import" });
      return false;
    } finally {
      this.suggestions.refresh();
    }
  }

  _forgetResult(symbol) {
    // The answer of an import whose symbol is gone: no "Chart it" for it any more.
    if (this.result?.symbol !== symbol) return;
    this.result = null;
    this.$("import-result").hidden = true;
    this.$("import-progress").hidden = true;
  }

  _chart(info) {
    if (!info) return;
    this.dialog.close();
    this.onChart(info);
  }

  /** A read-only snapshot for the tests. */
  snapshot() {
    return {
      open: this.dialog.open,
      running: Boolean(this.running),
      result: this.result ? { ...this.result } : null,
      problems: this.problems.map((p) => ({ ...p })),
      uploads: this.uploads.map((u) => u.slice()),
      stages: this.stages.slice(),
      polls: this.polls,
      imported: this.suggestions.imported.map((s) => s.symbol),
    };
  }
}
