// Chart data: the first /historical answer, then older chunks as the trader scrolls back.
// One request per chunk ever (keyed by request_id and the oldest bar held), none once has_more
// is false; a 410 (result expired), 404 (request of an old session) or 401 reloads the chart.
import { ApiError, fetchChunk, fetchHistorical } from "./api.js";
import { explain } from "./errors.js";
import { displayTimes } from "./time.js";

const CHUNK_BARS = 5000;
const MAX_AUTO_RETRIES = 3;

/** Resolves after the second animation frame from now: what was handed to the chart is painted. */
export const nextPaint = () =>
  new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

const SECONDS = { s: 1, m: 60, h: 3600 };

/** Display options of an interval: daily/weekly bars show dates, second bars show seconds. */
export function intervalMeta(interval) {
  const match = /^(\d+)([smh])$/.exec(interval);
  return {
    daily: interval === "1d" || interval === "1w",
    seconds: Boolean(match) && (Number(match[1]) * SECONDS[match[2]]) % 60 !== 0,
  };
}

export class ChartData {
  /**
   * @param {{session, view, toasts, onChange: (state) => void}} deps
   */
  constructor({ session, view, toasts, onChange }) {
    this.session = session;
    this.view = view;
    this.toasts = toasts;
    this.onChange = onChange ?? (() => {});
    this.spec = null; // the chart on screen
    this.pending = null; // the chart being loaded
    this.requestId = null;
    this.total = 0;
    this.hasMore = false;
    this.loading = false;
    this.loadingOlder = false;
    this.generation = 0;
    this.requested = new Set();
    this.chunkLog = [];
    this.prepends = [];
    this.reloads = 0;
    this.retries = 0;
    this.errors = [];
    this.notice = null; // why the chart on screen is empty ("no trading sessions between ...")
    this.timezone = null; // the exchange zone its times are shown in
    this.timings = { loadMs: null, fetchMs: null, renderMs: null, chunkMs: null, chunkRenderMs: null };
    this._abort = null;
    this._older = null; // the chunk request in flight, if any
    this.live = false; // the chart on screen reaches today: its bars stream in (live.js)
    this.loadListeners = [];
    view.onNearOldest = () => this.loadOlder();
  }

  /** Call ``fn(spec, live)`` when a chart is drawn, ``fn(null, false)`` when one starts loading. */
  onLoad(fn) {
    this.loadListeners.push(fn);
  }

  /** Load the newest bars of ``spec`` ({symbol, interval, start, end, rth}). */
  async load(spec, { retry = 0, reason = null } = {}) {
    const generation = ++this.generation;
    this._abort?.abort();
    this._abort = new AbortController();
    const { signal } = this._abort;
    this.pending = { ...spec };
    this.loading = true;
    this.live = false;
    for (const fn of this.loadListeners) fn(null, false);
    this.onChange(this.state());
    const started = performance.now();
    try {
      const payload = await this.session.call((token) => fetchHistorical(token, spec, signal));
      if (generation !== this.generation) return false;
      const fetched = performance.now();
      this.spec = { ...spec };
      this.requestId = payload.request_id;
      this.total = payload.total;
      this.hasMore = payload.has_more;
      this.notice = typeof payload.notice === "string" && payload.notice ? payload.notice : null;
      this.timezone = payload.timezone ?? null;
      this.requested = new Set();
      this.chunkLog = [];
      this.prepends = [];
      this.view.setBars(payload, displayTimes(payload), {
        symbol: payload.symbol, interval: payload.interval, rth: payload.rth, timezone: payload.timezone,
        ...intervalMeta(payload.interval),
      });
      this.live = payload.live === true;
      for (const fn of this.loadListeners) fn(this.spec, this.live);
      await nextPaint();
      const painted = performance.now();
      this.timings = {
        ...this.timings,
        loadMs: painted - started, fetchMs: fetched - started, renderMs: painted - fetched,
      };
      this.toasts.dismiss("chart");
      if (reason) this.toasts.show({ kind: "info", title: "Chart reloaded", message: reason, key: "chart" });
      return true;
    } catch (err) {
      if (err.name === "AbortError" || generation !== this.generation) return false;
      this._fail(err, "Loading the chart", () => this.load(spec, { retry: retry + 1 }), retry);
      return false;
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.onChange(this.state());
      }
    }
  }

  /**
   * Page back through older chunks until the bar at UTC second ``t`` is held (a trade far in
   * the past, clicked in the trade list). True once it is; false when the chart changed
   * meanwhile, a chunk failed (its toast says why) or there are no older bars.
   */
  async ensureLoaded(t) {
    const generation = this.generation;
    const held = () => this.view.utc.length > 0 && this.view.utc[0] <= t;
    while (generation === this.generation && !held()) {
      if (this.loading || !this.requestId) return false;
      if (this._older) {
        await this._older; // a chunk already on its way (a scroll asked for it)
        continue;
      }
      if (!this.hasMore) return false;
      if (!(await this.loadOlder())) return generation === this.generation && held();
    }
    return generation === this.generation && held();
  }

  /** Fetch the chunk before the oldest loaded bar, unless it was asked for already. */
  loadOlder() {
    if (!this.requestId || !this.hasMore || this.loading || this.loadingOlder) return Promise.resolve(false);
    const before = this.view.utc[0];
    const key = `${this.requestId}|${before}`;
    if (before === undefined || this.requested.has(key)) return Promise.resolve(false);
    this.requested.add(key);
    const older = this._fetchOlder(before, key);
    this._older = older;
    older.finally(() => {
      if (this._older === older) this._older = null;
    });
    return older;
  }

  async _fetchOlder(before, key) {
    this.chunkLog.push(before);
    const generation = this.generation;
    const requestId = this.requestId;
    this.loadingOlder = true;
    this.onChange(this.state());
    const started = performance.now();
    let reload = null;
    try {
      const token = await this.session.current();
      const payload = await fetchChunk(token, requestId, before, CHUNK_BARS, this._abort?.signal);
      if (generation !== this.generation) return false;
      const fetched = performance.now();
      const shownBefore = this._visible();
      const added = this.view.prependBars(payload, displayTimes(payload));
      this.hasMore = payload.has_more;
      await nextPaint();
      this.prepends.push({ before, added, shownBefore, shownAfter: this._visible() });
      const painted = performance.now();
      this.timings = { ...this.timings, chunkMs: painted - started, chunkRenderMs: painted - fetched };
      return true;
    } catch (err) {
      if (err.name === "AbortError" || generation !== this.generation) return false;
      if (err instanceof ApiError && [401, 404, 410].includes(err.status)) {
        // The result expired, or the session did (and its request ids with it): ask again.
        if (err.status === 401) await this.session.renew().catch(() => {});
        reload = err.status === 410 ? "The chart's cached data had expired." : "The session was renewed.";
      } else {
        this.requested.delete(key); // let a later scroll try this chunk again
        this._fail(err, "Loading older bars", () => this.loadOlder(), 0);
      }
      return false;
    } finally {
      if (generation === this.generation) {
        this.loadingOlder = false;
        this.onChange(this.state());
      }
      if (reload && generation === this.generation) {
        this.reloads += 1;
        this.load(this.spec, { reason: reload });
      }
    }
  }

  _visible() {
    // The newest bar on screen, the zoom (pixels per bar) and how many bar slots the screen
    // shows: a prepend changes none of the first two (older bars may only fill blank space at
    // the left edge); the slots move a little when older prices widen the price axis.
    const snap = this.view.snapshot();
    return { newest: snap.visibleTo, spacing: snap.barSpacing, slots: snap.visibleSlots };
  }

  _fail(err, what, retryFn, attempt) {
    const info = explain(err, what);
    this.errors.push({ status: err.status ?? null, kind: err.kind ?? null, field: err.field ?? null, message: info.message });
    const retryable = err instanceof ApiError ? err.status === 503 : true;
    const auto = retryable && err.retryAfterS && attempt < MAX_AUTO_RETRIES;
    if (auto) {
      const generation = this.generation;
      setTimeout(() => {
        if (generation === this.generation) {
          this.retries += 1;
          retryFn();
        }
      }, err.retryAfterS * 1000);
    }
    this.toasts.show({
      ...info,
      key: "chart",
      action: retryable ? { label: "Retry", run: () => { this.retries += 1; retryFn(); } } : null,
    });
    this.onChange(this.state());
  }

  /** A read-only snapshot for the status bar, tests and benchmarks. */
  state() {
    return {
      spec: this.spec ? { ...this.spec } : null,
      pending: this.loading && this.pending ? { ...this.pending } : null,
      requestId: this.requestId,
      total: this.total,
      hasMore: this.hasMore,
      notice: this.notice,
      timezone: this.timezone,
      live: this.live,
      loading: this.loading,
      loadingOlder: this.loadingOlder,
      chunkRequests: this.chunkLog.slice(),
      prepends: this.prepends.map((p) => ({ ...p })),
      reloads: this.reloads,
      retries: this.retries,
      errors: this.errors.slice(),
      timings: { ...this.timings },
    };
  }
}
