// The trade list: every trade of a run in a virtualised grid (only the rows in view are in the
// DOM, so 50 000 trades scroll as smoothly as 50), sortable by column, a click or Enter selects
// a trade. Columns: number and side, entry and exit (time, price; the exit reason beside the
// exit price when the run's trades carry one), duration (bars, time), return and pnl.

import { escapeHtml } from "./format.js";
import { formatUtcAsExchange } from "./time.js";
import { formatPct, formatPnl, formatPrice, formatSpan, reasonText } from "./trades.js";

const ROW_PX = 34;
const OVERSCAN = 8;

const COLUMNS = [
  { key: "k", label: "#", title: "Trade number (in time order) and side", value: (t) => t.k },
  { key: "entry", label: "Entry", title: "Entry time and price", value: (t) => t.entry_time },
  { key: "exit", label: "Exit", title: "Exit time, price and reason (when the run gives one)", value: (t) => t.exit_time },
  { key: "duration", label: "Held", title: "Bars held and time in the trade", value: (t) => t.bars ?? t.exit_time - t.entry_time },
  { key: "return", label: "Return", title: "Return and P&L", right: true, value: (t) => t.return ?? -Infinity },
];

export class TradeList {
  /**
   * @param {HTMLElement} root the list's element (role=table)
   * @param {{onSelect: (trade) => void}} hooks
   */
  constructor(root, { onSelect }) {
    this.root = root;
    this.onSelect = onSelect;
    this.trades = [];
    this.order = [];
    this.sort = { key: "k", desc: true }; // newest first
    this.selected = -1;
    this.zone = null;
    this.daily = false;
    this.reasons = false;
    this.rendered = [0, 0];
    root.innerHTML =
      `<div role="rowgroup" class="trade-head"></div>` +
      `<div role="rowgroup" class="trade-scroll" tabindex="-1"><div class="trade-spacer"></div></div>`;
    this.head = root.firstElementChild;
    this.scroller = root.lastElementChild;
    this.spacer = this.scroller.firstElementChild;
    this.scroller.addEventListener("scroll", () => this._render());
    new ResizeObserver(() => this._render()).observe(this.scroller);
    this.head.addEventListener("click", (e) => {
      const key = e.target.closest("[data-sort]")?.dataset.sort;
      if (!key) return;
      this.sort = { key, desc: this.sort.key === key ? !this.sort.desc : key === "k" || key === "return" };
      this._sort();
    });
    this.spacer.addEventListener("click", (e) => {
      const row = e.target.closest("[data-trade]");
      if (row) this._choose(Number(row.dataset.trade));
    });
    this.spacer.addEventListener("keydown", (e) => this._onKey(e));
  }

  /** Show ``trades`` (the run's, each with ``k``, its index in the answer, and ``bars``). */
  setTrades(trades, { zone = null, daily = false } = {}) {
    this.trades = trades;
    this.zone = zone;
    this.daily = daily;
    this.selected = -1;
    this.reasons = trades.some((t) => t.exit_reason);
    this.root.classList.toggle("with-reasons", this.reasons);
    this.root.setAttribute("aria-rowcount", String(trades.length + 1));
    this._sort();
    this.scroller.scrollTop = 0;
    this._render(true);
  }

  /** Mark trade ``k`` as selected and scroll it into view. */
  select(k) {
    this.selected = k;
    const at = this.order.indexOf(k);
    if (at >= 0) {
      const top = at * ROW_PX;
      const view = this.scroller.clientHeight;
      if (top < this.scroller.scrollTop || top + ROW_PX > this.scroller.scrollTop + view) {
        this.scroller.scrollTop = Math.max(0, top - view / 2);
      }
    }
    this._render(true);
  }

  _choose(k) {
    const trade = this.trades[k];
    if (trade) this.onSelect(trade);
  }

  _sort() {
    const col = COLUMNS.find((c) => c.key === this.sort.key) ?? COLUMNS[0];
    const sign = this.sort.desc ? -1 : 1;
    this.order = this.trades.map((t) => t.k);
    this.order.sort((a, b) => {
      const x = col.value(this.trades[a]);
      const y = col.value(this.trades[b]);
      return (x < y ? -1 : x > y ? 1 : 0) * sign || a - b;
    });
    this.head.innerHTML = `<div role="row" class="trade-row" aria-rowindex="1">${COLUMNS.map((c) => {
      const on = c.key === this.sort.key;
      const sort = on ? (this.sort.desc ? "descending" : "ascending") : "none";
      return `<button type="button" role="columnheader" aria-sort="${sort}" data-sort="${c.key}" title="${escapeHtml(c.title)}; click to sort" class="${c.right ? "text-right" : ""}">${c.label}${on ? (this.sort.desc ? " ↓" : " ↑") : ""}</button>`;
    }).join("")}</div>`;
    this._render(true);
  }

  _time(t, ref = null) {
    const full = formatUtcAsExchange(t, { daily: this.daily, zone: this.zone });
    if (ref === null) return full;
    const same = formatUtcAsExchange(ref, { daily: this.daily, zone: this.zone });
    if (!this.daily && full.slice(0, 10) === same.slice(0, 10)) return full.slice(11);
    if (full.slice(0, 4) === same.slice(0, 4)) return full.slice(5);
    return full;
  }

  _row(trade, position) {
    const long = trade.side !== "short";
    const tone = trade.pnl >= 0 ? "up" : "down";
    const bars = typeof trade.bars === "number" ? `${trade.bars} bar${trade.bars === 1 ? "" : "s"}` : "";
    const reason = trade.exit_reason ? ` <span class="exit-reason" title="Exit reason">${escapeHtml(reasonText(trade.exit_reason))}</span>` : "";
    const cells = [
      `<span role="cell"><span class="opacity-70">${trade.k + 1}</span><br><span class="${long ? "side-long" : "side-short"}">${long ? "long" : "short"}</span></span>`,
      `<span role="cell">${this._time(trade.entry_time)}<br><span class="opacity-80">${formatPrice(trade.entry_price)}</span></span>`,
      `<span role="cell">${this._time(trade.exit_time, trade.entry_time)}<br><span class="opacity-80">${formatPrice(trade.exit_price)}</span>${reason}</span>`,
      `<span role="cell">${bars || "&nbsp;"}<br><span class="opacity-70">${formatSpan(trade.exit_time - trade.entry_time)}</span></span>`,
      `<span role="cell" class="text-right ${tone}">${formatPct(trade.return)}<br>${formatPnl(trade.pnl)}</span>`,
    ];
    const selected = trade.k === this.selected;
    return `<div role="row" tabindex="0" aria-rowindex="${position + 2}" aria-selected="${selected}" data-trade="${trade.k}" class="trade-row${selected ? " selected" : ""}" style="top:${position * ROW_PX}px">${cells.join("")}</div>`;
  }

  _render(force = false) {
    const n = this.order.length;
    this.spacer.style.height = `${n * ROW_PX}px`;
    const top = this.scroller.scrollTop;
    const view = this.scroller.clientHeight || 300;
    const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + view) / ROW_PX) + OVERSCAN);
    if (!force && first === this.rendered[0] && last === this.rendered[1]) return;
    const focused = document.activeElement?.closest?.("[data-trade]")?.dataset.trade;
    const html = [];
    for (let p = first; p < last; p += 1) html.push(this._row(this.trades[this.order[p]], p));
    this.spacer.innerHTML = html.join("");
    this.rendered = [first, last];
    if (focused !== undefined) this.spacer.querySelector(`[data-trade="${focused}"]`)?.focus({ preventScroll: true });
  }

  _onKey(event) {
    const row = event.target.closest("[data-trade]");
    if (!row) return;
    const k = Number(row.dataset.trade);
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      this._choose(k);
      return;
    }
    const step = { ArrowDown: 1, ArrowUp: -1, PageDown: 8, PageUp: -8, Home: -Infinity, End: Infinity }[event.key];
    if (!step) return;
    event.preventDefault();
    const at = Math.min(this.order.length - 1, Math.max(0, this.order.indexOf(k) + step));
    const next = this.order[at];
    const top = at * ROW_PX;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_PX > this.scroller.scrollTop + this.scroller.clientHeight) this.scroller.scrollTop = top + ROW_PX - this.scroller.clientHeight;
    this._render(true);
    this.spacer.querySelector(`[data-trade="${next}"]`)?.focus({ preventScroll: true });
  }

  /** Rows held, rows in the DOM, and the first and last trade numbers in the DOM. */
  snapshot() {
    const rows = [...this.spacer.querySelectorAll("[data-trade]")].map((r) => Number(r.dataset.trade));
    return { total: this.trades.length, rendered: rows.length, sort: { ...this.sort }, selected: this.selected, reasons: this.reasons, domTrades: rows };
  }
}
