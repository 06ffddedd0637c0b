// The browser's session: kept across reloads and tabs (token and workspace in localStorage),
// kept alive by a heartbeat every minute, and replaced transparently when the platform no
// longer knows it (404 on heartbeat, 401 on a data call). A new session is started in the
// stored workspace, so the runs stay. Listeners hear about every new token, since results
// are scoped to a session.
import { ApiError, heartbeatSession, initiateSession, SESSION_HEADER } from "./api.js";

export const HEARTBEAT_MS = 60_000;
const STORE_KEY = "ray-trader:session:v1";

/** The stored {token, workspace} ({} when none, or storage is unavailable). */
function loadStored() {
  try {
    const value = JSON.parse(localStorage.getItem(STORE_KEY) ?? "null");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

function saveStored(value) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(value));
  } catch {
    // private mode or full storage: the next reload starts a new session, nothing else changes
  }
}

/** Is ``err`` the platform saying it does not know that session? */
const unknownSession = (err) => err instanceof ApiError && (err.status === 404 || err.status === 422);

export class Session {
  constructor({ heartbeatMs = HEARTBEAT_MS } = {}) {
    this.token = null;
    this.workspace = null;
    this.expiresIn = null;
    this.lastBeat = null;
    this.initiations = 0;
    this.resumed = 0; // sessions taken over from storage (a reload, another tab)
    this.heartbeats = 0;
    this._pending = null;
    this._listeners = new Set();
    this._heartbeatMs = heartbeatMs;
    this._timer = null;
  }

  /** Listen to state changes: fn({token, workspace, state, error}). */
  onChange(fn) {
    this._listeners.add(fn);
  }

  _emit(state, error = null) {
    for (const fn of this._listeners) fn({ token: this.token, workspace: this.workspace, state, error });
  }

  /** Resume the stored session (or start one) and the heartbeat timer. */
  async start() {
    await this.renew();
    this._timer = setInterval(() => this.beat().catch(() => {}), this._heartbeatMs);
  }

  /**
   * A live token (one renewal at a time, however many callers ask): the stored session when
   * the platform still knows it and it is not the one that just failed (another tab may have
   * renewed it), else a new session in the stored workspace.
   */
  renew() {
    this._pending ??= (async () => {
      try {
        const failed = this.token;
        const stored = loadStored();
        if (stored.token && stored.token !== failed && (await this._resume(stored))) return this.token;
        return await this._initiate(stored.workspace ?? this.workspace);
      } catch (err) {
        this._emit("error", err);
        throw err;
      } finally {
        this._pending = null;
      }
    })();
    return this._pending;
  }

  /** Take over the stored session if the platform still knows it; false if it does not. */
  async _resume(stored) {
    try {
      const answer = await heartbeatSession(stored.token);
      this.token = stored.token;
      this.workspace = stored.workspace ?? null;
      this.expiresIn = answer.expires_in;
      this.lastBeat = Date.now();
      this.resumed += 1;
      this._emit("live");
      return true;
    } catch (err) {
      if (unknownSession(err)) return false;
      throw err;
    }
  }

  async _initiate(workspace) {
    const answer = await initiateSession(workspace);
    this.token = answer.session_token;
    this.workspace = answer.workspace;
    this.expiresIn = answer.expires_in;
    this.lastBeat = Date.now();
    this.initiations += 1;
    saveStored({ token: this.token, workspace: this.workspace });
    this._emit("live");
    return this.token;
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
      if (unknownSession(err)) return this.renew();
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
