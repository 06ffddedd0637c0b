// Live bars: while the chart on screen reaches today (its answer says ``live``), today's bars
// stream in from GET /historical/stream: the forming bar changes as trades print, a new one is
// appended when it opens. A badge says "live" with the last update's age, or "reconnecting".
// The stream stops while the tab is hidden and resumes from the newest bar held when it is
// shown again, so the bars of the hidden time arrive at once (no gap).
import { ApiError, followLiveBars } from "./api.js";
import { nextPaint } from "./history.js";

const RETRY_MS = 2000;
const MAX_RETRY_MS = 15000;
const TICK_MS = 1000;
const LOG_SIZE = 4000;

const ageText = (ms) => (ms < 1500 ? "now" : ms < 60000 ? `${Math.round(ms / 1000)}s ago`
  : `${Math.round(ms / 60000)}m ago`);

export class LiveBars {
  /**
   * @param {{session, view, badge: HTMLElement, text: HTMLElement, onChange?: () => void}} deps
   */
  constructor({ session, view, badge, text, onChange }) {
    this.session = session;
    this.view = view;
    this.badge = badge;
    this.text = text;
    this.onChange = onChange ?? (() => {});
    this.spec = null;
    this.state = "off"; // off | connecting | live | reconnecting | closed | paused
    this.marketTime = null;
    this.lastUpdate = null; // wall ms of the last bar event
    this.events = 0;
    this.finals = 0;
    this.streams = 0; // streams opened (the first, then one per reconnect or resume)
    this.log = []; // {t, final, received, painted}: wall ms of each bar's arrival and paint
    this.generation = 0;
    this._abort = null;
    this._retryMs = RETRY_MS;
    document.addEventListener("visibilitychange", () => this._onVisibility());
    setInterval(() => this._paint(), TICK_MS);
  }

  /** Follow the chart just drawn (``spec``) when ``live``; stop following any other. */
  follow(spec, live) {
    this.stop();
    if (!live) return;
    this.spec = { ...spec };
    if (document.hidden) this._set("paused");
    else this._open();
  }

  /** Stop streaming (a new chart is loading, or it does not reach today). */
  stop() {
    this.generation += 1;
    this._abort?.abort();
    this._abort = null;
    this.spec = null;
    this._set("off");
  }

  async _open() {
    const generation = ++this.generation;
    this._abort?.abort();
    const abort = new AbortController();
    this._abort = abort;
    if (this.state !== "reconnecting") this._set("connecting");
    const since = this.view.utc.length ? this.view.utc.at(-1) : null;
    this.streams += 1;
    let ended = null;
    try {
      const token = await this.session.current();
      await followLiveBars(token, this.spec, since, (name, data) => {
        if (generation === this.generation) this._event(name, data);
      }, abort.signal);
    } catch (err) {
      if (err.name === "AbortError" || generation !== this.generation) return;
      ended = err;
    }
    if (generation !== this.generation) return;
    if (ended instanceof ApiError && ended.status === 401) await this.session.renew().catch(() => {});
    if (ended instanceof ApiError && ended.status === 422) {
      this._set("off"); // this chart has no live form; nothing to retry
      return;
    }
    // The stream ended (a replica restarted, the network dropped): again from the newest bar.
    this._set("reconnecting");
    const wait = this._retryMs;
    this._retryMs = Math.min(MAX_RETRY_MS, this._retryMs * 2);
    setTimeout(() => {
      if (generation === this.generation && !document.hidden) this._open();
    }, wait);
  }

  _event(name, data) {
    if (name === "bar") {
      const received = Date.now();
      if (this.view.liveBar(data)) {
        const entry = { t: data.t, final: data.final, received, painted: null };
        this.log.push(entry);
        if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
        nextPaint().then(() => { entry.painted = Date.now(); });
        this.events += 1;
        if (data.final) this.finals += 1;
        this.lastUpdate = received;
        this._retryMs = RETRY_MS;
        this._paint();
        this.onChange();
      }
    } else if (name === "status") {
      this.marketTime = data.market_time ?? null;
      const known = { live: "live", closed: "closed", connecting: "connecting" };
      this._set(known[data.state] ?? "reconnecting");
    } else if (name === "end") {
      this._abort?.abort();
      this.generation += 1;
      if (data.reason === "session_expired") {
        this.session.renew().catch(() => {}).then(() => this.spec && this._open());
      } else {
        this.spec = null;
        this._set("off");
      }
    }
  }

  _onVisibility() {
    if (!this.spec) return;
    if (document.hidden) {
      this.generation += 1;
      this._abort?.abort();
      this._abort = null;
      this._set("paused");
    } else if (this.state === "paused") {
      this._open();
    }
  }

  _set(state) {
    this.state = state;
    this._paint();
    this.onChange();
  }

  _paint() {
    const shown = this.state !== "off";
    this.badge.classList.toggle("hidden", !shown);
    if (!shown) return;
    this.badge.classList.toggle("reconnecting", this.state === "reconnecting" || this.state === "connecting");
    this.badge.classList.toggle("paused", this.state === "paused" || this.state === "closed");
    const age = this.lastUpdate === null ? "" : ` · ${ageText(Date.now() - this.lastUpdate)}`;
    const words = {
      connecting: "connecting…", live: `live${age}`, reconnecting: "reconnecting…",
      closed: "market closed", paused: "paused (tab hidden)",
    };
    this.text.textContent = words[this.state];
  }

  /** Arrival and paint times of the latest bar events (wall ms), for benchmarks. */
  paintLog() {
    return this.log.map((e) => ({ ...e }));
  }

  /** A read-only snapshot for tests and benchmarks. */
  snapshot() {
    return {
      state: this.state, following: Boolean(this.spec), events: this.events, finals: this.finals,
      streams: this.streams, marketTime: this.marketTime, lastUpdate: this.lastUpdate,
      badge: this.badge.classList.contains("hidden") ? "" : this.text.textContent,
    };
  }
}
