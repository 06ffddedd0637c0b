// The chart view: candlesticks, a volume pane and, after a backtest, equity and drawdown panes,
// all on Lightweight Charts 5. It knows nothing of HTTP: the chart data controller feeds it.
// Bars arrive as UTC seconds plus their display (exchange wall-clock) times, see time.js.
import {
  AreaSeries,
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  createTextWatermark,
  CrosshairMode,
  HistogramSeries,
  LineSeries,
} from "lightweight-charts";

import { easternOffset, formatDisplayTime } from "./time.js";

const UP = "#26a69a";
const DOWN = "#ef5350";
const TEXT = "#b2b5be";
const GRID = "#1e2230";
const LOAD_OLDER_WITHIN_BARS = 80;

/** The legend's short name of a time zone: "ET" for New York, else the zone ("UTC"). */
const zoneLabel = (zone) => (!zone || zone === "America/New_York" ? "ET" : zone);
const decimals = (price) => (Math.abs(price) >= 1 ? 2 : 4);
const fmtPrice = (x) => x.toFixed(decimals(x));
const fmtVolume = (v) =>
  v >= 1e9 ? `${(v / 1e9).toFixed(2)}B` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M`
    : v >= 1e3 ? `${(v / 1e3).toFixed(1)}K` : String(Math.round(v));

/** Index of the last element of sorted ``arr`` that is <= x (-1 if none). */
function floorIndex(arr, x) {
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
    this.markers = createSeriesMarkers(this.candles, []);
    this.watermark = createTextWatermark(this.chart.panes()[0], {
      horzAlign: "center", vertAlign: "center", lines: [],
    });
    this.equity = null;
    this.drawdown = null;
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => this._onRange(range));
    this.chart.subscribeCrosshairMove((param) => this._showLegend(param.time ?? null));
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
    this.chart.timeScale().resetTimeScale();
    this.chart.priceScale("right", 0).applyOptions({ autoScale: true });
    this.renders += 1;
    this._showLegend(null);
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

  /** Display time of a UTC second: the loaded bar's when there is one, else the NY rule. */
  displayOf(t) {
    const i = floorIndex(this.utc, t);
    if (i >= 0 && this.utc[i] === t) return this.disp[i];
    return t + easternOffset(t);
  }

  /** Draw a backtest: trade markers on the candles, equity and drawdown panes below. */
  setBacktest(result) {
    this.clearBacktest();
    this.allMarkers = result.markers
      .map((m) => ({
        utc: m.time,
        time: null,
        position: m.position,
        shape: m.shape,
        color: m.shape === "arrowUp" ? UP : DOWN,
        text: m.text,
        size: 1,
      }))
      .sort((a, b) => a.utc - b.utc);
    this._applyMarkers();
    const curve = (c, scale = 1) => {
      const out = new Array(c.t.length);
      for (let i = 0; i < c.t.length; i += 1) out[i] = { time: this.displayOf(c.t[i]), value: c.v[i] * scale };
      return out;
    };
    this.equity = this.chart.addSeries(AreaSeries, {
      lineColor: "#2962ff", topColor: "rgba(41,98,255,0.28)", bottomColor: "rgba(41,98,255,0.02)",
      lineWidth: 2, priceLineVisible: false, title: "Equity",
      priceFormat: { type: "price", precision: 0, minMove: 1 },
    }, 2);
    this.equity.setData(curve(result.equity));
    this.drawdown = this.chart.addSeries(AreaSeries, {
      lineColor: DOWN, topColor: "rgba(239,83,80,0.05)", bottomColor: "rgba(239,83,80,0.35)",
      invertFilledArea: false, lineWidth: 1, priceLineVisible: false, title: "Drawdown %",
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    }, 3);
    this.drawdown.setData(curve(result.drawdown, 100));
    const panes = this.chart.panes();
    panes[0].setStretchFactor(4);
    panes[1].setStretchFactor(0.8);
    panes[2]?.setStretchFactor(1.5);
    panes[3]?.setStretchFactor(1.1);
  }

  /** Remove markers and the equity and drawdown panes. */
  clearBacktest() {
    this.allMarkers = [];
    this.shownMarkers = 0;
    this.markers?.setMarkers([]);
    if (this.drawdown) this.chart.removeSeries(this.drawdown);
    if (this.equity) this.chart.removeSeries(this.equity);
    this.equity = null;
    this.drawdown = null;
  }

  _applyMarkers() {
    // Markers need a bar under them: only trades inside the loaded bars are drawn; older ones
    // appear as their bars are loaded.
    const oldest = this.utc.length ? this.utc[0] : Infinity;
    const shown = [];
    for (const m of this.allMarkers) {
      if (m.utc < oldest) continue;
      const i = floorIndex(this.utc, m.utc);
      if (i < 0) continue;
      shown.push({ ...m, time: this.disp[i] });
    }
    this.markers.setMarkers(shown);
    this.shownMarkers = shown.length;
  }

  /** Scroll so the bar at UTC second ``t`` is in view. */
  revealTime(t) {
    const scale = this.chart.timeScale();
    const index = scale.timeToIndex(this.displayOf(t), true);
    const range = scale.getVisibleLogicalRange();
    if (index === null || !range) return;
    const width = range.to - range.from;
    scale.setVisibleLogicalRange({ from: index - width / 2, to: index + width / 2 });
  }

  _onRange(range) {
    if (!range || !this.utc.length) return;
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

  _showLegend(time) {
    const n = this.candleData.length;
    if (!n) {
      this.legend.textContent = "";
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
    const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    this.legend.innerHTML =
      `<div><span class="font-sans text-[13px] font-semibold">${esc(this.meta.symbol)}</span>` +
      ` <span class="opacity-60">${esc(this.meta.interval)} · ${formatDisplayTime(bar.time, this.meta)} ${esc(zoneLabel(this.meta.timezone))}</span></div>` +
      `<div>O <span class="${cls}">${fmtPrice(bar.open)}</span> H <span class="${cls}">${fmtPrice(bar.high)}</span>` +
      ` L <span class="${cls}">${fmtPrice(bar.low)}</span> C <span class="${cls}">${fmtPrice(bar.close)}</span>` +
      ` <span class="${cls}">${sign}${change.toFixed(decimals(bar.close))} (${sign}${pct.toFixed(2)}%)</span>` +
      ` V <span class="opacity-80">${fmtVolume(this.volumeData[i].value)}</span></div>`;
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
      markersTotal: this.allMarkers.length,
      equityPoints: this.equity ? this.equity.data().length : 0,
      drawdownPoints: this.drawdown ? this.drawdown.data().length : 0,
      panes: this.chart.panes().length,
      overlapsDropped: this.overlapsDropped,
      renders: this.renders,
      visibleFrom: visible?.from ?? null,
      visibleTo: visible?.to ?? null,
      visibleSlots: range ? Math.round((range.to - range.from) * 1000) / 1000 : null,
      barsBefore: visible?.barsBefore ?? null,
      legend: this.legend.textContent,
    };
  }
}
