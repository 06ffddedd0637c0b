// The browser's session: initiated on load, kept alive by a heartbeat every minute, and
// re-initiated transparently when the platform no longer knows it (404 on heartbeat, 401 on
// a data call). Listeners hear about every new token, since results are scoped to a session.
import { ApiError, heartbeatSession, initiateSession, SESSION_HEADER } from "./api.js";

export const HEARTBEAT_MS = 60_000;

export class Session {
  constructor({ heartbeatMs = HEARTBEAT_MS } = {}) {
    this.token = null;
    this.expiresIn = null;
    this.lastBeat = null;
    this.initiations = 0;
    this.heartbeats = 0;
    this._pending = null;
    this._listeners = new Set();
    this._heartbeatMs = heartbeatMs;
    this._timer = null;
  }

  /** Listen to state changes: fn({token, state, error}). */
  onChange(fn) {
    this._listeners.add(fn);
  }

  _emit(state, error = null) {
    for (const fn of this._listeners) fn({ token: this.token, state, error });
  }

  /** Start the session and the heartbeat timer. */
  async start() {
    await this.renew();
    this._timer = setInterval(() => this.beat().catch(() => {}), this._heartbeatMs);
  }

  /** A new token (one initiation at a time, however many callers ask). */
  renew() {
    this._pending ??= (async () => {
      try {
        const answer = await initiateSession();
        this.token = answer.session_token;
        this.expiresIn = answer.expires_in;
        this.lastBeat = Date.now();
        this.initiations += 1;
        this._emit("live");
        return this.token;
      } catch (err) {
        this._emit("error", err);
        throw err;
      } finally {
        this._pending = null;
      }
    })();
    return this._pending;
  }

  /** The current token, initiating a session if there is none yet. */
  async current() {
    if (this._pending) return this._pending;
    return this.token ?? this.renew();
  }

  /** One heartbeat; an unknown or expired session is replaced by a new one. */
  async beat() {
    if (!this.token) return this.renew();
    try {
      const answer = await heartbeatSession(this.token);
      this.expiresIn = answer.expires_in;
      this.lastBeat = Date.now();
      this.heartbeats += 1;
      this._emit("live");
      return this.token;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 422)) {
        return this.renew();
      }
      this._emit("error", err);
      throw err;
    }
  }

  /**
   * Run fn(token); when the platform says the session is unknown or expired (401), start a new
   * session and run it once more. ``onRenew`` runs before the retry (e.g. to drop request ids).
   */
  async call(fn, onRenew = null) {
    const token = await this.current();
    try {
      return await fn(token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || err.field !== SESSION_HEADER) throw err;
      const fresh = this.token === token ? await this.renew() : await this.current();
      onRenew?.();
      return fn(fresh);
    }
  }
}
