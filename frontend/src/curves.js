// A small canvas chart of a few equity curves as returns over time, for comparing runs: each
// curve as equity / initial cash - 1 (so runs with different cash compare), on one time axis
// of the bars the curves have (nights and weekends take no room, as on the price chart; runs
// over the same range overlay, runs over different ranges sit side by side).

export const CURVE_COLORS = ["#2962ff", "#f7a21b"];
const MARGIN = { left: 46, right: 8, top: 8, bottom: 20 };

/** A run's equity curve ({t, v}) as returns in percent of ``initialCash``. */
export function returnsOf(curve, initialCash) {
  const base = initialCash || curve.v.find((v) => Number.isFinite(v)) || 1;
  return { t: curve.t, v: curve.v.map((v) => (v === null ? null : (v / base - 1) * 100)) };
}

/** Round steps for an axis from ``lo`` to ``hi``: about ``count`` of 1, 2 or 5 x 10^k. */
export function ticks(lo, hi, count = 4) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

const dateOf = (t) => new Date(t * 1000).toISOString().slice(0, 10);

/**
 * Draw ``series`` ([{label, color, t, v}], v in percent) on ``canvas`` at its CSS width and its
 * height attribute; answers the points drawn per series.
 */
export function drawCurves(canvas, series) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 360;
  const height = Number(canvas.getAttribute("height")) || 160;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const all = series.flatMap((s) => s.t.map((t, i) => [t, s.v[i]])).filter(([, v]) => Number.isFinite(v));
  if (!all.length) return series.map(() => 0);
  let [v0, v1] = [0, 0];
  for (const [, v] of all) {
    v0 = Math.min(v0, v);
    v1 = Math.max(v1, v);
  }
  const times = [...new Set(all.map(([t]) => t))].sort((a, b) => a - b);
  const slot = new Map(times.map((t, i) => [t, i]));
  const [t0, t1] = [times[0], times.at(-1)];
  const plot = { w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const x = (t) => MARGIN.left + (times.length > 1 ? (slot.get(t) / (times.length - 1)) * plot.w : plot.w / 2);
  const y = (v) => MARGIN.top + (v1 > v0 ? (1 - (v - v0) / (v1 - v0)) * plot.h : plot.h / 2);
  ctx.font = "10px ui-monospace, monospace";
  ctx.fillStyle = "#9598a1";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of ticks(v0, v1)) {
    ctx.strokeStyle = v === 0 ? "#5d606b" : "#2a2e39";
    ctx.setLineDash(v === 0 ? [3, 3] : []);
    ctx.beginPath();
    ctx.moveTo(MARGIN.left, y(v));
    ctx.lineTo(width - MARGIN.right, y(v));
    ctx.stroke();
    ctx.fillText(`${v > 0 ? "+" : ""}${v}%`, MARGIN.left - 4, y(v));
  }
  ctx.setLineDash([]);
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(dateOf(t0), MARGIN.left, height - MARGIN.bottom + 6);
  ctx.textAlign = "right";
  ctx.fillText(dateOf(t1), width - MARGIN.right, height - MARGIN.bottom + 6);
  return series.map((s) => {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawn = 0;
    let pen = false;
    s.t.forEach((t, i) => {
      if (!Number.isFinite(s.v[i])) {
        pen = false;
        return;
      }
      if (pen) ctx.lineTo(x(t), y(s.v[i]));
      else ctx.moveTo(x(t), y(s.v[i]));
      pen = true;
      drawn += 1;
    });
    ctx.stroke();
    return drawn;
  });
}
