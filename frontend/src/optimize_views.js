// Small views of an optimization's result: Monte Carlo bands of the top rows, the stitched
// walk-forward equity, and CSV downloads of the top table and the surface (built in the
// browser from the result it holds).
import { formatParam } from "./format.js";
import { save } from "./runs.js";

const INK = "#b2b5be";
const GRID = "#2a2e39";

function sized(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 360;
  const height = canvas.height;
  canvas.width = width * ratio;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "10px ui-monospace, monospace";
  return { ctx, width, height };
}

const pct = (v) => `${(v * 100).toFixed(1)}%`;

/** Monte Carlo bands, one row per top combination: the 5-95% range of the final return (and of
 * the max drawdown, in red below it) with the median marked. */
export function drawBands(canvas, rows) {
  canvas.height = 24 + rows.length * 26;
  const { ctx, width, height } = sized(canvas);
  const values = rows.flatMap((r) => [r.final_return?.p5, r.final_return?.p95, -(r.max_drawdown?.p95 ?? 0)]).filter(Number.isFinite);
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const left = 34;
  const x = (v) => left + ((v - lo) / (hi - lo || 1)) * (width - left - 10);
  ctx.strokeStyle = GRID;
  ctx.beginPath();
  ctx.moveTo(x(0), 4);
  ctx.lineTo(x(0), height - 14);
  ctx.stroke();
  rows.forEach((row, k) => {
    const y = 10 + k * 26;
    ctx.fillStyle = INK;
    ctx.fillText(`#${row.rank}`, 4, y + 8);
    if (!row.final_return) return;
    const band = (p5, p50, p95, top, color) => {
      ctx.fillStyle = color;
      ctx.globalAlpha = 0.35;
      ctx.fillRect(x(p5), top, Math.max(1, x(p95) - x(p5)), 8);
      ctx.globalAlpha = 1;
      ctx.fillRect(x(p50) - 1, top - 1, 2, 10);
    };
    band(row.final_return.p5, row.final_return.p50, row.final_return.p95, y, "#26a69a");
    band(-row.max_drawdown.p95, -row.max_drawdown.p50, -row.max_drawdown.p5, y + 10, "#ef5350");
  });
  ctx.fillStyle = INK;
  ctx.fillText(pct(lo), left, height - 3);
  ctx.fillText(pct(hi), width - 48, height - 3);
}

/** The fan of the best row: 5-95% and 50% of the equity (1 = start) after each number of
 * resampled trades. */
export function drawFan(canvas, fan) {
  const { ctx, width, height } = sized(canvas);
  const all = [...fan.p5, ...fan.p95].filter(Number.isFinite);
  const lo = Math.min(1, ...all);
  const hi = Math.max(1, ...all);
  const last = fan.trades.at(-1) || 1;
  const x = (k) => 30 + (fan.trades[k] / last) * (width - 36);
  const y = (v) => height - 14 - ((v - lo) / (hi - lo || 1)) * (height - 24);
  ctx.fillStyle = "rgba(38,166,154,0.25)";
  ctx.beginPath();
  fan.p95.forEach((v, k) => (k ? ctx.lineTo(x(k), y(v)) : ctx.moveTo(x(k), y(v))));
  for (let k = fan.p5.length - 1; k >= 0; k -= 1) ctx.lineTo(x(k), y(fan.p5[k]));
  ctx.fill();
  ctx.strokeStyle = "#26a69a";
  ctx.beginPath();
  fan.p50.forEach((v, k) => (k ? ctx.lineTo(x(k), y(v)) : ctx.moveTo(x(k), y(v))));
  ctx.stroke();
  ctx.strokeStyle = GRID;
  ctx.beginPath();
  ctx.moveTo(30, y(1));
  ctx.lineTo(width - 4, y(1));
  ctx.stroke();
  ctx.fillStyle = INK;
  ctx.fillText(pct(hi - 1), 2, 10);
  ctx.fillText(pct(lo - 1), 2, height - 14);
  ctx.fillText(`${last} trades`, width - 60, height - 2);
}

/** A line of ``{t, v}`` (the stitched out-of-sample equity) with its first and last value. */
export function drawCurve(canvas, curve) {
  const { ctx, width, height } = sized(canvas);
  const values = curve.v.filter(Number.isFinite);
  if (values.length < 2) return;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const y = (v) => height - 12 - ((v - lo) / (hi - lo || 1)) * (height - 22);
  ctx.strokeStyle = curve.v.at(-1) >= curve.v[0] ? "#26a69a" : "#ef5350";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  curve.v.forEach((v, i) => {
    const px = (i / (curve.v.length - 1)) * (width - 4) + 2;
    if (i === 0) ctx.moveTo(px, y(v));
    else ctx.lineTo(px, y(v));
  });
  ctx.stroke();
  ctx.fillStyle = INK;
  ctx.fillText(values[0].toFixed(0), 2, height - 2);
  const last = values.at(-1).toFixed(0);
  ctx.fillText(last, width - ctx.measureText(last).width - 2, height - 2);
}

const cell = (v) => {
  if (v === null || v === undefined) return "";
  const text = typeof v === "number" ? String(v) : formatParam(v);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** The top table as CSV: rank, every parameter (and axis), every metric, the plateau. */
export function topCsv(result) {
  const names = result.surface?.names ?? Object.keys(result.top[0]?.params ?? {});
  const metrics = Object.keys(result.top[0]?.metrics ?? {});
  const lines = [["rank", ...names, ...metrics, "plateau_mean", "plateau_worst"].join(",")];
  for (const row of result.top) {
    lines.push([row.rank, ...names.map((n) => row.params[n]), ...metrics.map((m) => row.metrics[m]),
      row.plateau?.mean, row.plateau?.worst].map(cell).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** Every evaluated combination as CSV: its axis values, objective, plateau and trades. */
export function surfaceCsv(result) {
  const s = result.surface;
  const lines = [[...s.names, result.objective, "plateau", "plateau_worst", "trades"].join(",")];
  s.index.forEach((position, k) => {
    lines.push([...s.names.map((n, j) => s.axes[n][position[j]]), s.objective[k], s.plateau?.[k],
      s.plateau_worst?.[k], s.trades?.[k]].map(cell).join(","));
  });
  return `${lines.join("\n")}\n`;
}

/** Save ``text`` as a file called ``name``. */
export function downloadText(name, text, type) {
  save(new Blob([text], { type }), name);
}
