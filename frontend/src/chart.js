// The chart view: candlesticks, a volume pane and, after a backtest, the run's indicators
// (overlays on price, a pane per other pane name), its trades (a small marker per entry and
// exit, a line between them, the trade under the crosshair in the legend) and equity and
// drawdown panes, all on Lightweight Charts 5. It knows nothing of HTTP: the chart data
// controller feeds it. Bars arrive as UTC seconds plus their display (exchange wall-clock)
// times, see time.js; a run's times are mapped the same way (:meth:`ChartView.displayTimesOf`).
import {
  AreaSeries,
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  createTextWatermark,
  CrosshairMode,
  HistogramSeries,
  LineSeries,
  LineStyle,
} from "lightweight-charts";

import { layoutIndicators, precisionOf } from "./indicators.js";
import { formatDisplayTime, zoneOffset } from "./time.js";
import {
  floorIndex, formatPct, formatPnl, formatPrice, formatSpan, LONG_ENTRY, LOSS, reasonText,
  SHORT_ENTRY, TradeLines, WIN,
} from "./trades.js";

const UP = "#26a69a";
const DOWN = "#ef5350";
const TEXT = "#b2b5be";
const GRID = "#1e2230";
const LOAD_OLDER_WITHIN_BARS = 80;
// An exit's marker: a square where an order level closed the trade, a circle otherwise (the
// strategy's signal, time, session end, end of data); green for a win, red for a loss. The
// reason in words is in the legend under the crosshair and in the trade list.
const EXIT_SHAPES = { stop: "square", trailing: "square", target: "square" };
// Zoomed in far enough for a label per marker (a few pixels per bar piles them up), an exit
// says why in two letters.
const EXIT_LABELS = {
  stop: "SL", target: "TP", trailing: "TS", time: "T", session_end: "EOD", signal: "",
  end_of_data: "",
};
const LABEL_MIN_SPACING = 14;

/** The legend's short name of a time zone: "ET" for New York, else the zone ("UTC"). */
const zoneLabel = (zone) => (!zone || zone === "America/New_York" ? "ET" : zone);
const decimals = (price) => (Math.abs(price) >= 1 ? 2 : 4);
const fmtPrice = (x) => x.toFixed(decimals(x));
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const fmtVolume = (v) =>
  v >= 1e9 ? `${(v / 1e9).toFixed(2)}B` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M`
    : v >= 1e3 ? `${(v / 1e3).toFixed(1)}K` : String(Math.round(v));

export class ChartView {
  /**
   * @param {HTMLElement} container where the chart draws (it sizes itself to it)
   * @param {HTMLElement} legend the OHLCV + change line over the chart
   * @param {{onNearOldest?: () => void}} hooks called when the view nears the oldest bar
   */
  constructor(container, legend, { onNearOldest } = {}) {
    this.container = container;
    this.legend = legend;
    this.onNearOldest = onNearOldest ?? (() => {});
    this.meta = { symbol: "", interval: "", daily: false, seconds: false };
    this.renders = 0;
    this.resetListeners = [];
    this.liveUpdates = 0;
    this.hoverTime = null;
    this._reset();
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { color: "#131722" },
        textColor: TEXT,
        fontFamily: "ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        fontSize: 11,
        panes: { separatorColor: "#2a2e39", separatorHoverColor: "#2962ff55", enableResize: true },
        attributionLogo: false,
      },
      grid: { vertLines: { color: GRID }, horzLines: { color: GRID } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#2a2e39" },
      timeScale: { borderColor: "#2a2e39", rightOffset: 6, barSpacing: 7, minBarSpacing: 0.05 },
      localization: {
        timeFormatter: (time) => formatDisplayTime(time, this.meta),
      },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
      priceLineVisible: true,
    }, 0);
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" }, priceLineVisible: false, lastValueVisible: false,
    }, 1);
    this.chart.panes()[0].setStretchFactor(4);
    this.chart.panes()[1].setStretchFactor(0.9);
    this.markers = createSeriesMarkers(this.candles, [], { autoScale: true });
    this.tradeLines = new TradeLines();
    this.candles.attachPrimitive(this.tradeLines);
    this.trades = [];
    this.indicators = [];
    this.indicatorPanes = [];
    this.highlighted = -1;
    this.paneLegends = document.createElement("div");
    this.paneLegends.className = "pane-legends";
    this.paneLegends.setAttribute("aria-hidden", "true");
    legend.after(this.paneLegends);
    this.watermark = createTextWatermark(this.chart.panes()[0], {
      horzAlign: "center", vertAlign: "center", lines: [],
    });
    this.equity = null;
    this.drawdown = null;
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => this._onRange(range));
    this.chart.subscribeCrosshairMove((param) => {
      this.hoverTime = param.time ?? null;
      this._showLegend(this.hoverTime, param.hoveredObjectId ?? null);
    });
    new ResizeObserver(() => this._placePaneLegends()).observe(container);
    container.addEventListener("keydown", (event) => this._onKey(event));
  }

  _reset() {
    this.utc = [];
    this.disp = [];
    this.candleData = [];
    this.volumeData = [];
    this.allMarkers = [];
    this.shownMarkers = 0;
    this.overlapsDropped = 0;
    this.liveAppended = 0;
  }

  /** Replace everything with a fresh chart's newest bars. */
  setBars(payload, display, meta) {
    this.meta = meta;
    this._reset();
    this.clearBacktest();
    this.chart.applyOptions({
      timeScale: { timeVisible: !meta.daily, secondsVisible: meta.seconds },
    });
    this.watermark.applyOptions({
      lines: [
        { text: meta.symbol, color: "rgba(178,181,190,0.07)", fontSize: 64, fontStyle: "bold" },
        { text: `${meta.interval} · ${meta.rth ? "regular hours" : "extended hours"}`,
          color: "rgba(178,181,190,0.09)", fontSize: 16 },
      ],
    });
    const [candles, volumes] = this._rows(payload.bars, display);
    this.utc = payload.bars.t.slice();
    this.disp = display;
    this.candleData = candles;
    this.volumeData = volumes;
    this.candles.setData(candles);
    this.volume.setData(volumes);
    const scale = this.chart.timeScale();
    scale.resetTimeScale();
    // A chart whose every bar fits at the default spacing is spread over the width; left at the
    // default it would sit at the right edge behind blank space (nothing older to page in).
    const spacing = this.chart.options().timeScale.barSpacing;
    if (!payload.has_more && (candles.length + 6) * spacing < scale.width()) scale.fitContent();
    this.chart.priceScale("right", 0).applyOptions({ autoScale: true });
    this.renders += 1;
    this._showLegend(null);
    for (const fn of this.resetListeners) fn(meta);
  }

  /** Call ``fn(meta)`` after each fresh chart's bars are drawn (a run's drawings are gone). */
  onReset(fn) {
    this.resetListeners.push(fn);
  }

  /** Put older bars in front of the loaded ones; the visible bars stay where they are. */
  prependBars(payload, display) {
    const oldest = this.utc.length ? this.utc[0] : Infinity;
    let keep = payload.bars.t.length;
    while (keep > 0 && payload.bars.t[keep - 1] >= oldest) keep -= 1;
    this.overlapsDropped += payload.bars.t.length - keep;
    if (keep === 0) return 0;
    const bars = Object.fromEntries(
      Object.entries(payload.bars).map(([key, col]) => [key, col.slice(0, keep)]),
    );
    const [candles, volumes] = this._rows(bars, display.slice(0, keep));
    this.utc = bars.t.concat(this.utc);
    this.disp = display.slice(0, keep).concat(this.disp);
    this.candleData = candles.concat(this.candleData);
    this.volumeData = volumes.concat(this.volumeData);
    this.candles.setData(this.candleData);
    this.volume.setData(this.volumeData);
    if (this.allMarkers.length) this._applyMarkers();
    this.renders += 1;
    return keep;
  }

  /**
   * Draw one live bar ({t, o, h, l, c, v}, ``t`` UTC): a newer one is appended, the last or
   * an older loaded one is replaced; the view the trader chose stays where it is (the chart
   * follows new bars only while the newest is in view). False for a bar it cannot place.
   */
  liveBar(bar) {
    const n = this.utc.length;
    const up = bar.c >= bar.o;
    const rows = (time) => [
      { time, open: bar.o, high: bar.h, low: bar.l, close: bar.c },
      { time, value: bar.v, color: up ? "#26a69a66" : "#ef535066" },
    ];
    if (!n || bar.t > this.utc[n - 1]) {
      let time = bar.t + zoneOffset(bar.t, this.meta.timezone);
      if (n && time <= this.disp[n - 1]) time = this.disp[n - 1] + 1;
      const [candle, volume] = rows(time);
      this.utc.push(bar.t);
      this.disp.push(time);
      this.candleData.push(candle);
      this.volumeData.push(volume);
      this.candles.update(candle);
      this.volume.update(volume);
      this.liveAppended += 1;
    } else {
      const i = floorIndex(this.utc, bar.t);
      if (i < 0 || this.utc[i] !== bar.t) return false; // older than the loaded bars
      const [candle, volume] = rows(this.disp[i]);
      this.candleData[i] = candle;
      this.volumeData[i] = volume;
      this.candles.update(candle, i < n - 1);
      this.volume.update(volume, i < n - 1);
    }
    this.liveUpdates += 1;
    if (this.hoverTime === null) this._showLegend(null);
    return true;
  }

  _rows(bars, display) {
    const n = bars.t.length;
    const candles = new Array(n);
    const volumes = new Array(n);
    for (let i = 0; i < n; i += 1) {
      const up = bars.c[i] >= bars.o[i];
      candles[i] = { time: display[i], open: bars.o[i], high: bars.h[i], low: bars.l[i], close: bars.c[i] };
      volumes[i] = { time: display[i], value: bars.v[i], color: up ? "#26a69a66" : "#ef535066" };
    }
    return [candles, volumes];
  }

  /** Display time of a UTC second: the loaded bar's when there is one, else the zone's rule. */
  displayOf(t) {
    const i = floorIndex(this.utc, t);
    if (i >= 0 && this.utc[i] === t) return this.disp[i];
    return t + zoneOffset(t, this.meta.timezone);
  }

  /**
   * Display times of ascending UTC seconds, exactly as the candles get them: a loaded bar's own
   * display time (nudged ones included), else ``t`` plus the chart zone's offset; kept strictly
   * ascending (the repeated hour of a DST fall-back), as the chart needs.
   */
  displayTimesOf(ts) {
    const out = new Array(ts.length);
    const utc = this.utc;
    let j = 0;
    let last = -Infinity;
    for (let i = 0; i < ts.length; i += 1) {
      const t = ts[i];
      while (j < utc.length && utc[j] < t) j += 1;
      let d = j < utc.length && utc[j] === t ? this.disp[j] : t + zoneOffset(t, this.meta.timezone);
      if (d <= last) d = last + 1;
      out[i] = d;
      last = d;
    }
    return out;
  }

  /**
   * Draw a backtest: the run's indicators, its trades (markers and entry-exit lines) on the
   * candles, equity and drawdown panes below.
   */
  setBacktest(result) {
    this.clearBacktest();
    this.result = result;
    const trades = result.trades ?? [];
    this.trades = trades.map((t, k) => ({ ...t, k })).sort((a, b) => a.entry_time - b.entry_time || a.k - b.k);
    this.allMarkers = [];
    for (const trade of this.trades) {
      const long = trade.side !== "short";
      const win = trade.pnl >= 0;
      this.allMarkers.push({
        utc: trade.entry_time, time: null, id: `entry:${trade.k}`,
        position: long ? "belowBar" : "aboveBar", shape: long ? "arrowUp" : "arrowDown",
        color: long ? LONG_ENTRY : SHORT_ENTRY, size: 0.6,
      });
      this.allMarkers.push({
        utc: trade.exit_time, time: null, id: `exit:${trade.k}`,
        position: long ? "aboveBar" : "belowBar", shape: EXIT_SHAPES[trade.exit_reason] ?? "circle",
        color: win ? WIN : LOSS, size: 0.5, label: EXIT_LABELS[trade.exit_reason] ?? "",
      });
    }
    this.allMarkers.sort((a, b) => a.utc - b.utc);
    this._applyMarkers();
    this._mapTrades();
    this._drawIndicators(result);
    const curve = (c, scale = 1) => {
      const times = this.displayTimesOf(c.t);
      const out = new Array(c.t.length);
      for (let i = 0; i < c.t.length; i += 1) out[i] = { time: times[i], value: c.v[i] * scale };
      return out;
    };
    const next = this.chart.panes().length;
    this.equity = this.chart.addSeries(AreaSeries, {
      lineColor: "#2962ff", topColor: "rgba(41,98,255,0.28)", bottomColor: "rgba(41,98,255,0.02)",
      lineWidth: 2, priceLineVisible: false, title: "Equity",
      priceFormat: { type: "price", precision: 0, minMove: 1 },
    }, next);
    this.equity.setData(curve(result.equity));
    this.drawdown = this.chart.addSeries(AreaSeries, {
      lineColor: DOWN, topColor: "rgba(239,83,80,0.05)", bottomColor: "rgba(239,83,80,0.35)",
      invertFilledArea: false, lineWidth: 1, priceLineVisible: false, title: "Drawdown %",
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    }, next + 1);
    this.drawdown.setData(curve(result.drawdown, 100));
    const panes = this.chart.panes();
    const indicatorPanes = this.indicatorPanes.length;
    panes[0].setStretchFactor(indicatorPanes ? 4.5 : 4);
    panes[1].setStretchFactor(0.8);
    for (let p = 2; p < 2 + indicatorPanes; p += 1) panes[p]?.setStretchFactor(1.2);
    panes[next]?.setStretchFactor(indicatorPanes ? 1.1 : 1.5);
    panes[next + 1]?.setStretchFactor(indicatorPanes ? 0.8 : 1.1);
    this._showLegend(null);
  }

  _mapTrades() {
    // Entry and exit display times of every trade, for the lines and the legend.
    const utcs = [...new Set(this.trades.flatMap((t) => [t.entry_time, t.exit_time]))].sort((a, b) => a - b);
    const times = this.displayTimesOf(utcs);
    const at = (t) => times[floorIndex(utcs, t)];
    for (const trade of this.trades) {
      trade.entryDisp = at(trade.entry_time);
      trade.exitDisp = at(trade.exit_time);
    }
    this.tradeLines.setTrades(this.trades.map((t) => ({
      entry: t.entryDisp, exit: t.exitDisp, entryPrice: t.entry_price, exitPrice: t.exit_price, win: t.pnl >= 0,
    })));
  }

  _drawIndicators(result) {
    const { overlays, panes } = layoutIndicators(result.indicators, result.params ?? {});
    const points = (item, histogram) => {
      const times = this.displayTimesOf(item.t);
      const out = new Array(times.length);
      for (let i = 0; i < times.length; i += 1) {
        const v = item.v[i];
        if (v === null || v === undefined || !Number.isFinite(v)) out[i] = { time: times[i] };
        else if (histogram) out[i] = { time: times[i], value: v, color: v >= 0 ? "#26a69a99" : "#ef535099" };
        else out[i] = { time: times[i], value: v };
      }
      return { times, out };
    };
    const add = (item, paneIndex) => {
      const histogram = item.style === "histogram";
      const precision = precisionOf(item.v);
      const options = {
        priceLineVisible: false, lastValueVisible: paneIndex > 0, crosshairMarkerVisible: !histogram,
        priceFormat: { type: "price", precision, minMove: 10 ** -precision },
      };
      const series = histogram
        ? this.chart.addSeries(HistogramSeries, { ...options, color: "#26a69a99" }, paneIndex)
        : this.chart.addSeries(LineSeries, { ...options, color: item.color, lineWidth: paneIndex ? 1.5 : 1.5 }, paneIndex);
      const { times, out } = points(item, histogram);
      series.setData(out);
      const entry = { ...item, series, paneIndex, times, points: out.length, values: item.v, utc: item.t };
      delete entry.t;
      delete entry.v;
      this.indicators.push(entry);
      return entry;
    };
    for (const item of overlays) add(item, 0);
    for (const pane of panes) {
      const paneIndex = this.chart.panes().length;
      const entries = pane.series.map((item) => add(item, paneIndex));
      const owner = entries.find((e) => e.style === "line") ?? entries[0];
      for (const level of pane.levels) {
        owner.series.createPriceLine({
          price: level, color: "#787b86", lineWidth: 1, lineStyle: LineStyle.Dashed,
          axisLabelVisible: true, title: "",
        });
      }
      this.indicatorPanes.push({ name: pane.name, title: pane.title, levels: pane.levels, paneIndex, entries });
    }
  }

  /** Remove the run's indicators, trades (markers, lines) and the equity and drawdown panes. */
  clearBacktest() {
    this.allMarkers = [];
    this.shownMarkers = 0;
    this.markers?.setMarkers([]);
    this.trades = [];
    this.result = null;
    this.highlighted = -1;
    this.tradeLines?.setTrades([]);
    if (this.drawdown) this.chart.removeSeries(this.drawdown);
    if (this.equity) this.chart.removeSeries(this.equity);
    for (const item of this.indicators ?? []) this.chart.removeSeries(item.series);
    this.indicators = [];
    this.indicatorPanes = [];
    this.equity = null;
    this.drawdown = null;
    if (this.paneLegends) this.paneLegends.innerHTML = "";
    if (this.chart) {
      const panes = this.chart.panes();
      panes[0]?.setStretchFactor(4);
      panes[1]?.setStretchFactor(0.9);
    }
  }

  _applyMarkers() {
    // Markers need a bar under them: only trades inside the loaded bars are drawn; older ones
    // appear as their bars are loaded.
    const oldest = this.utc.length ? this.utc[0] : Infinity;
    const labelled = this.chart.timeScale().options().barSpacing >= LABEL_MIN_SPACING;
    const shown = [];
    for (const m of this.allMarkers) {
      if (m.utc < oldest) continue;
      const i = floorIndex(this.utc, m.utc);
      if (i < 0) continue;
      const { utc, label, ...marker } = m;
      shown.push(labelled && label ? { ...marker, text: label, time: this.disp[i] }
        : { ...marker, time: this.disp[i] });
    }
    this.markers.setMarkers(shown);
    this.shownMarkers = shown.length;
    this.markerLabels = labelled;
  }

  /** Scroll so the bar at UTC second ``t`` is in view. */
  revealTime(t) {
    this.revealSpan(t, t);
  }

  /**
   * Scroll (and zoom out if needed) so the bars from UTC second ``from`` to ``to`` are in view,
   * centred; true when both are bars on the time scale.
   */
  revealSpan(from, to) {
    const scale = this.chart.timeScale();
    const [a] = this.displayTimesOf([from]);
    const [b] = this.displayTimesOf([Math.max(from, to)]);
    const first = scale.timeToIndex(a, true);
    const last = scale.timeToIndex(b, true);
    const range = scale.getVisibleLogicalRange();
    if (first === null || last === null || !range) return false;
    const width = Math.max(range.to - range.from, (last - first) * 1.4 + 20);
    const mid = (first + last) / 2;
    scale.setVisibleLogicalRange({ from: mid - width / 2, to: mid + width / 2 });
    return true;
  }

  /** Outline trade ``k`` (its index in the run's answer) on the chart; -1 for none. */
  highlightTrade(k) {
    const index = this.trades.findIndex((t) => t.k === k);
    this.tradeLines.setHighlight(index);
    this.highlighted = index >= 0 ? k : -1;
  }

  _onRange(range) {
    if (!range || !this.utc.length) return;
    const labelled = this.chart.timeScale().options().barSpacing >= LABEL_MIN_SPACING;
    if (this.allMarkers.length && labelled !== this.markerLabels) this._applyMarkers();
    const info = this.candles.barsInLogicalRange(range);
    if (info && info.barsBefore < LOAD_OLDER_WITHIN_BARS) this.onNearOldest();
  }

  _onKey(event) {
    const scale = this.chart.timeScale();
    const range = scale.getVisibleLogicalRange();
    if (!range) return;
    const width = range.to - range.from;
    const shift = (bars) => scale.setVisibleLogicalRange({ from: range.from + bars, to: range.to + bars });
    const zoom = (factor) => {
      const mid = (range.from + range.to) / 2;
      scale.setVisibleLogicalRange({ from: mid - (width * factor) / 2, to: mid + (width * factor) / 2 });
    };
    const actions = {
      ArrowLeft: () => shift(-Math.max(1, width * (event.shiftKey ? 1 : 0.15))),
      ArrowRight: () => shift(Math.max(1, width * (event.shiftKey ? 1 : 0.15))),
      PageUp: () => shift(-width),
      PageDown: () => shift(width),
      "+": () => zoom(0.8),
      "=": () => zoom(0.8),
      "-": () => zoom(1.25),
      Home: () => {
        const first = this.disp.length ? scale.timeToIndex(this.disp[0], true) : null;
        if (first !== null) scale.setVisibleLogicalRange({ from: first - 3, to: first - 3 + width });
      },
      End: () => scale.scrollToRealTime(),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  _showLegend(time, hovered = null) {
    const n = this.candleData.length;
    if (!n) {
      this.legend.textContent = "";
      this._placePaneLegends();
      return;
    }
    let i = n - 1;
    if (time !== null) {
      i = floorIndex(this.disp, time);
      if (i < 0 || this.disp[i] !== time) i = -1;
    }
    if (i < 0) return;
    const bar = this.candleData[i];
    const prev = i > 0 ? this.candleData[i - 1].close : bar.open;
    const change = bar.close - prev;
    const pct = prev ? (change / prev) * 100 : 0;
    const cls = change >= 0 ? "up" : "down";
    const sign = change >= 0 ? "+" : "";
    const at = time ?? bar.time;
    this.legend.innerHTML =
      `<div><span class="font-sans text-[13px] font-semibold">${esc(this.meta.symbol)}</span>` +
      ` <span class="opacity-60">${esc(this.meta.interval)} · ${formatDisplayTime(bar.time, this.meta)} ${esc(zoneLabel(this.meta.timezone))}</span></div>` +
      `<div>O <span class="${cls}">${fmtPrice(bar.open)}</span> H <span class="${cls}">${fmtPrice(bar.high)}</span>` +
      ` L <span class="${cls}">${fmtPrice(bar.low)}</span> C <span class="${cls}">${fmtPrice(bar.close)}</span>` +
      ` <span class="${cls}">${sign}${change.toFixed(decimals(bar.close))} (${sign}${pct.toFixed(2)}%)</span>` +
      ` V <span class="opacity-80">${fmtVolume(this.volumeData[i].value)}</span></div>` +
      this._overlayLegend(at) + this._tradeLegend(time, hovered);
    this._placePaneLegends(at);
  }

  /** Value of indicator ``entry`` at display time ``time`` (null where it has none). */
  _valueAt(entry, time) {
    const i = floorIndex(entry.times, time);
    if (i < 0 || entry.times[i] !== time) return null;
    const v = entry.values[i];
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }

  _overlayLegend(time) {
    const overlays = this.indicators.filter((e) => e.paneIndex === 0);
    if (!overlays.length) return "";
    const items = overlays.map((e) => {
      const v = this._valueAt(e, time);
      return `<span class="mr-2 whitespace-nowrap" data-indicator="${esc(e.name)}"><span style="color:${e.color}">━</span> ${esc(e.label)} <span style="color:${e.color}">${v === null ? "–" : fmtPrice(v)}</span></span>`;
    });
    return `<div class="legend-indicators">${items.join("")}</div>`;
  }

  /** The trade of a hovered marker, else the one entered, left or held at display ``time``. */
  tradeAt(time, hovered = null) {
    const match = typeof hovered === "string" ? /^(entry|exit):(\d+)$/.exec(hovered) : null;
    if (match) {
      const trade = this.trades.find((t) => t.k === Number(match[2]));
      if (trade) return { trade, at: match[1] };
    }
    if (time === null || !this.trades.length) return null;
    let lo = 0;
    let hi = this.trades.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.trades[mid].entryDisp <= time) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const prior = found > 0 ? this.trades[found - 1] : null;
    if (prior && prior.exitDisp === time) return { trade: prior, at: "exit" };
    const trade = found >= 0 ? this.trades[found] : null;
    if (!trade || time > trade.exitDisp) return null;
    return { trade, at: trade.entryDisp === time ? "entry" : trade.exitDisp === time ? "exit" : "held" };
  }

  _tradeLegend(time, hovered) {
    const found = this.tradeAt(time, hovered);
    if (!found) {
      if (this.tradeLines.highlight !== -1 && this.highlighted < 0) this.tradeLines.setHighlight(-1);
      return "";
    }
    const { trade, at } = found;
    if (this.highlighted < 0) this.tradeLines.setHighlight(this.trades.indexOf(trade));
    const when = (d) => formatDisplayTime(d, this.meta);
    const entryText = when(trade.entryDisp);
    const exitFull = when(trade.exitDisp);
    const exitText = !this.meta.daily && exitFull.slice(0, 15) === entryText.slice(0, 15) ? exitFull.slice(16) : exitFull;
    const win = trade.pnl >= 0 ? "up" : "down";
    const side = trade.side === "short" ? "Short" : "Long";
    const bars = typeof trade.bars === "number" ? `${trade.bars} bar${trade.bars === 1 ? "" : "s"}, ` : "";
    const reason = trade.exit_reason ? ` · exit: <span class="opacity-90">${esc(reasonText(trade.exit_reason))}</span>` : "";
    const what = at === "entry" ? "entry" : at === "exit" ? "exit" : "held";
    return `<div class="legend-trade" data-trade-legend="${trade.k}"><span class="opacity-60">Trade ${trade.k + 1} (${what}):</span> ` +
      `<span style="color:${trade.side === "short" ? SHORT_ENTRY : LONG_ENTRY}">${side}</span> ` +
      `${entryText} @ ${formatPrice(trade.entry_price)} → ${exitText} @ ${formatPrice(trade.exit_price)}` +
      ` · ${bars}${formatSpan(trade.exit_time - trade.entry_time)}` +
      ` · <span class="${win}">${formatPnl(trade.pnl)} (${formatPct(trade.return)})</span>${reason}</div>`;
  }

  /** Each indicator pane's name and values, at the top left of its pane. */
  _placePaneLegends(time = null) {
    if (!this.indicatorPanes.length) {
      if (this.paneLegends.childElementCount) this.paneLegends.innerHTML = "";
      return;
    }
    const panes = this.chart.panes();
    const at = time ?? this.disp.at(-1) ?? null;
    const html = [];
    for (const pane of this.indicatorPanes) {
      let top = 0;
      for (let p = 0; p < pane.paneIndex && p < panes.length; p += 1) top += panes[p].getHeight() + 1;
      const items = pane.entries.map((e) => {
        const v = at === null ? null : this._valueAt(e, at);
        const short = pane.entries.length < 2 ? ""
          : /^[a-z0-9_]+$/.test(e.name) ? e.name.replace(new RegExp(`^${pane.name}_?`), "") || e.name : e.label;
        const color = e.style === "histogram" ? (v !== null && v < 0 ? DOWN : UP) : e.color;
        return `<span class="mr-2 whitespace-nowrap">${short ? `${esc(short)} ` : ""}<span style="color:${color}">${v === null ? "–" : v.toFixed(precisionOf([v]))}</span></span>`;
      });
      const levels = pane.levels.length ? ` <span class="opacity-50">${pane.levels.join(" / ")}</span>` : "";
      const title = pane.title ? `<span class="opacity-80">${esc(pane.title)}</span>${levels} ` : `${levels ? `${levels} ` : ""}`;
      html.push(`<div class="pane-legend" style="top:${top + 3}px" data-pane="${esc(pane.name)}">${title}${items.join("")}</div>`);
    }
    this.paneLegends.innerHTML = html.join("");
  }

  /** Points of indicator ``e`` at a loaded bar's time but not drawn at that bar (misaligned). */
  _offBars(e) {
    let off = 0;
    for (let i = 0; i < e.utc.length; i += 1) {
      const j = floorIndex(this.utc, e.utc[i]);
      if (j >= 0 && this.utc[j] === e.utc[i] && this.disp[j] !== e.times[i]) off += 1;
    }
    return off;
  }

  /** UTC seconds of the first and last loaded candles in view, or null. */
  _visibleUtc() {
    const range = this.chart.timeScale().getVisibleRange();
    if (!range || !this.disp.length) return null;
    const a = floorIndex(this.disp, range.from - 1) + 1;
    const b = floorIndex(this.disp, range.to);
    if (a > b || a >= this.disp.length || b < 0) return null;
    return [this.utc[a], this.utc[b]];
  }

  /** A read-only snapshot for tests and benchmarks. */
  snapshot() {
    const scale = this.chart.timeScale();
    const range = scale.getVisibleLogicalRange();
    const visible = range ? this.candles.barsInLogicalRange(range) : null;
    return {
      bars: this.candleData.length,
      firstTime: this.utc[0] ?? null,
      lastTime: this.utc.at(-1) ?? null,
      markers: this.shownMarkers,
      markerLabels: this.markerLabels ? this.markers.markers().filter((m) => m.text).map((m) => m.text) : [],
      markersTotal: this.allMarkers.length,
      equityPoints: this.equity ? this.equity.data().length : 0,
      drawdownPoints: this.drawdown ? this.drawdown.data().length : 0,
      panes: this.chart.panes().length,
      indicators: this.indicators.map((e) => ({
        name: e.name, label: e.label, pane: e.pane, paneIndex: e.series.getPane().paneIndex(),
        style: e.style, color: e.color, levels: e.levels.slice(), points: e.series.data().length,
        values: e.values.filter((v) => typeof v === "number" && Number.isFinite(v)).length,
        priceLines: e.series.priceLines?.().length ?? null,
        offBars: this._offBars(e),
      })),
      indicatorPanes: this.indicatorPanes.map((p) => ({ name: p.name, title: p.title, levels: p.levels.slice(), paneIndex: p.paneIndex })),
      paneLegends: [...this.paneLegends.children].map((el) => el.textContent),
      tradeLines: this.tradeLines.trades.length,
      tradeLinesDrawn: this.tradeLines.drawn,
      visibleTimeFrom: this._visibleUtc()?.[0] ?? null,
      visibleTimeTo: this._visibleUtc()?.[1] ?? null,
      overlapsDropped: this.overlapsDropped,
      renders: this.renders,
      liveUpdates: this.liveUpdates,
      liveAppended: this.liveAppended,
      last: this.candleData.length ? { t: this.utc.at(-1), ...this.candleData.at(-1), volume: this.volumeData.at(-1).value } : null,
      visibleFrom: visible?.from ?? null,
      visibleTo: visible?.to ?? null,
      visibleSlots: range ? Math.round((range.to - range.from) * 1000) / 1000 : null,
      barSpacing: Math.round(scale.options().barSpacing * 1000) / 1000,
      logicalFrom: range?.from ?? null,
      barsBefore: visible?.barsBefore ?? null,
      legend: this.legend.textContent,
    };
  }
}
