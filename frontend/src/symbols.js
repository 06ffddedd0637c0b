// What the symbol box suggests: recently charted symbols (most recent first, kept in
// localStorage), imported files' symbols and the feed's symbols (GET /data/), as a datalist the
// browser filters while the trader types. Also the one spelling of a symbol ("file:GOOG").
import { fetchDataSources } from "./api.js";
import { escapeHtml } from "./format.js";
import { loadPrefs, savePrefs } from "./prefs.js";

const RECENT_MAX = 10;

/**
 * A symbol as the platform names it: upper case, with a source prefix in lower case.
 *
 *   normalizeSymbol(" File:goog ") === "file:GOOG"; normalizeSymbol("aapl") === "AAPL"
 */
export function normalizeSymbol(text) {
  const value = String(text ?? "").trim();
  const match = /^([A-Za-z]+):(.*)$/.exec(value);
  return match ? `${match[1].toLowerCase()}:${match[2].toUpperCase()}` : value.toUpperCase();
}

/** The date part ("2024-01-02") of an ISO time with offset ("2024-01-02T09:30:00-05:00"). */
export const isoDate = (text) => (typeof text === "string" ? text.slice(0, 10) : "");

export class SymbolSuggestions {
  /**
   * @param {{session, list: HTMLDataListElement, fallback: string[]}} deps ``fallback``: the
   *   feed symbols to offer until (or if) GET /data/ answers
   */
  constructor({ session, list, fallback = [] }) {
    this.session = session;
    this.list = list;
    this.feed = fallback.slice();
    this.imported = []; // [{symbol, first, last, bars, resolution, timezone, session}]
    this.listeners = new Set();
    this.render();
  }

  /** Listen to a new list of imported symbols: fn(imported). */
  onImported(fn) {
    this.listeners.add(fn);
  }

  /** Recently charted symbols, most recent first. */
  recent() {
    const saved = loadPrefs().recentSymbols;
    return Array.isArray(saved) ? saved.filter((s) => typeof s === "string").slice(0, RECENT_MAX) : [];
  }

  /** Put ``symbol`` first in the recent list. */
  remember(symbol) {
    const recent = [symbol, ...this.recent().filter((s) => s !== symbol)].slice(0, RECENT_MAX);
    savePrefs({ recentSymbols: recent });
    this.render();
  }

  /** Forget a symbol that no longer exists (a deleted import). */
  forget(symbol) {
    savePrefs({ recentSymbols: this.recent().filter((s) => s !== symbol) });
    this.imported = this.imported.filter((s) => s.symbol !== symbol);
    this.render();
    for (const fn of this.listeners) fn(this.imported.slice());
  }

  /** Ask the platform for its sources' symbols; a failure keeps what was known (no toast). */
  async refresh() {
    try {
      const answer = await this.session.call((token) => fetchDataSources(token));
      const sources = Array.isArray(answer?.sources) ? answer.sources : [];
      const feed = [];
      const imported = [];
      for (const source of sources) {
        for (const entry of source.symbols ?? []) {
          if (typeof entry === "string") feed.push(entry);
          else if (entry?.symbol) imported.push({ ...entry });
        }
      }
      if (feed.length) this.feed = feed;
      this.imported = imported.sort((a, b) => a.symbol.localeCompare(b.symbol));
      this.render();
      for (const fn of this.listeners) fn(this.imported.slice());
      return true;
    } catch {
      return false;
    }
  }

  /** The suggestions in order: [{value, label}], each symbol once. */
  options() {
    const seen = new Map();
    const add = (value, label) => {
      if (!seen.has(value)) seen.set(value, label);
    };
    const importedBy = new Map(this.imported.map((s) => [s.symbol, s]));
    const importedLabel = (s) => `imported · ${s.resolution ?? "?"} · ${isoDate(s.first)} – ${isoDate(s.last)}`;
    for (const symbol of this.recent()) {
      const info = importedBy.get(symbol);
      add(symbol, info ? `recent · ${importedLabel(info)}` : "recent");
    }
    for (const info of this.imported) add(info.symbol, importedLabel(info));
    for (const symbol of this.feed) add(symbol, "");
    return [...seen].map(([value, label]) => ({ value, label }));
  }

  render() {
    this.list.innerHTML = this.options()
      .map(({ value, label }) => `<option value="${escapeHtml(value)}"${label ? ` label="${escapeHtml(label)}"` : ""}></option>`)
      .join("");
  }

  /** A read-only snapshot for the tests. */
  snapshot() {
    return { recent: this.recent(), imported: this.imported.map((s) => s.symbol), options: this.options() };
  }
}
