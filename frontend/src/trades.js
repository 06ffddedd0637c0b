// Trades on the chart: a line from each entry to its exit (a series primitive on the candles,
// green for a win, red for a loss), drawn for the trades in view only, so ten thousand trades
// cost no more than the twenty on screen and add no points to the time scale; and the words
// that describe a trade (side, prices, duration, pnl, exit reason) for the legend and the list.

import { formatMoney } from "./format.js";

export const WIN = "#26a69a";
export const LOSS = "#ef5350";
export const LONG_ENTRY = "#42a5f5";
export const SHORT_ENTRY = "#ffa726";

/** Index of the last element of sorted ``arr`` that is <= x (-1 if none). */
export function floorIndex(arr, x) {
  let lo = 0;
  let hi = arr.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** "45m", "2h 05m", "3d 4h" of a span in seconds. */
export function formatSpan(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export const formatPct = (x) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)}%`);
export const formatPnl = (x) => `${x >= 0 ? "+" : ""}${formatMoney(x)}`;
export const formatPrice = (x) => (typeof x === "number" ? x.toFixed(Math.abs(x) >= 1 ? 2 : 4) : "–");

/** Exit reasons in words ("session_end" -> "session end"). */
export const reasonText = (reason) => (reason ? String(reason).replace(/_/g, " ") : "");

/**
 * The trade lines primitive: ``setTrades`` with ``[{entry, exit, entryPrice, exitPrice, win}]``
 * where entry/exit are display times (chart times), sorted by entry.
 */
export class TradeLines {
  constructor() {
    this.trades = [];
    this.entries = [];
    this.maxSpan = 0;
    this.drawn = 0;
    this.highlight = -1;
    this._chart = null;
    this._series = null;
    this._requestUpdate = null;
    this._segments = [];
    const self = this;
    this._views = [{
      zOrder: () => "normal",
      renderer: () => ({ draw: (target) => self._draw(target) }),
    }];
  }

  attached({ chart, series, requestUpdate }) {
    this._chart = chart;
    this._series = series;
    this._requestUpdate = requestUpdate;
  }

  detached() {
    this._chart = null;
    this._series = null;
    this._requestUpdate = null;
  }

  paneViews() {
    return this._views;
  }

  setTrades(trades) {
    this.trades = trades;
    this.entries = trades.map((t) => t.entry);
    this.maxSpan = trades.reduce((most, t) => Math.max(most, t.exit - t.entry), 0);
    this.highlight = -1;
    this.updateAllViews();
    this._requestUpdate?.();
  }

  setHighlight(index) {
    if (index === this.highlight) return;
    this.highlight = index;
    this.updateAllViews();
    this._requestUpdate?.();
  }

  updateAllViews() {
    // Segments of the trades that overlap the visible time range, in media pixels.
    this._segments = [];
    if (!this._chart || !this._series || !this.trades.length) {
      this.drawn = 0;
      return;
    }
    const scale = this._chart.timeScale();
    const range = scale.getVisibleRange();
    if (!range) {
      this.drawn = 0;
      return;
    }
    const x = (time) => {
      const at = scale.timeToCoordinate(time);
      if (at !== null) return at;
      const index = scale.timeToIndex(time, true);
      return index === null ? null : scale.logicalToCoordinate(index);
    };
    let i = Math.max(0, floorIndex(this.entries, range.from - this.maxSpan));
    for (; i < this.trades.length && this.trades[i].entry <= range.to; i += 1) {
      const trade = this.trades[i];
      if (trade.exit < range.from) continue;
      const x1 = x(trade.entry);
      const x2 = x(trade.exit);
      const y1 = this._series.priceToCoordinate(trade.entryPrice);
      const y2 = this._series.priceToCoordinate(trade.exitPrice);
      if (x1 === null || x2 === null || y1 === null || y2 === null) continue;
      this._segments.push({ x1, x2, y1, y2, win: trade.win, on: i === this.highlight });
    }
    this.drawn = this._segments.length;
  }

  _draw(target) {
    if (!this._segments.length) return;
    target.useBitmapCoordinateSpace(({ context: ctx, horizontalPixelRatio: hr, verticalPixelRatio: vr }) => {
      ctx.save();
      for (const s of this._segments) {
        ctx.beginPath();
        ctx.setLineDash(s.on ? [] : [4 * hr, 3 * hr]);
        ctx.lineWidth = (s.on ? 2.5 : 1.5) * hr;
        ctx.strokeStyle = (s.win ? WIN : LOSS) + (s.on ? "" : "cc");
        ctx.moveTo(s.x1 * hr, s.y1 * vr);
        ctx.lineTo(s.x2 * hr, s.y2 * vr);
        ctx.stroke();
      }
      ctx.restore();
    });
  }
}
