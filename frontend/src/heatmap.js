// Heatmap of an optimization's objective over two chosen parameters: each cell holds the best
// objective over the other parameters. Drawn on a canvas (grids can hold thousands of cells);
// hover shows the value, click or Enter runs that cell's best combination.
import { formatParam } from "./format.js";

/**
 * Reduce an optimization surface to a grid over parameters ``xName`` and ``yName`` (``yName``
 * null: one row). Each cell keeps the best value of ``layer`` (the objective, or its plateau:
 * the neighbours' mean) and the combination index that has it.
 */
export function heatmapGrid(surface, xName, yName, maximize = true, layer = "objective") {
  const xk = surface.names.indexOf(xName);
  const yk = yName ? surface.names.indexOf(yName) : -1;
  const xs = surface.axes[xName];
  const ys = yName ? surface.axes[yName] : [null];
  const values = new Float64Array(xs.length * ys.length).fill(Number.NaN);
  const best = new Int32Array(xs.length * ys.length).fill(-1);
  const tested = new Int32Array(xs.length * ys.length); // combinations per cell, any value
  const better = maximize ? (a, b) => a > b : (a, b) => a < b;
  (surface[layer] ?? surface.objective).forEach((value, combo) => {
    const index = surface.index[combo];
    const cell = (yk >= 0 ? index[yk] : 0) * xs.length + index[xk];
    tested[cell] += 1;
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    if (best[cell] < 0 || better(value, values[cell])) {
      values[cell] = value;
      best[cell] = combo;
    }
  });
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  const filled = values.reduce((n, v) => n + (Number.isFinite(v) ? 1 : 0), 0);
  return { xName, yName, xs, ys, values, best, tested, min, max, filled, maximize };
}

/** The parameter values of combination ``combo`` of ``surface``. */
export function comboParams(surface, combo) {
  return Object.fromEntries(surface.names.map((name, k) => [name, surface.axes[name][surface.index[combo][k]]]));
}

const STOPS = [[183, 28, 28], [245, 124, 0], [253, 216, 53], [124, 179, 66], [27, 94, 32]];

function color(t) {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return `rgb(${a.map((c, k) => Math.round(c + (b[k] - c) * f)).join(",")})`;
}

export class Heatmap {
  constructor(canvas, tip, { onPick, format }) {
    this.canvas = canvas;
    this.tip = tip;
    this.onPick = onPick;
    this.format = format;
    this.grid = null;
    this.cursor = null;
    this.renders = 0;
    this.margin = { left: 52, right: 8, top: 8, bottom: 34 };
    canvas.addEventListener("mousemove", (e) => this._hover(this._cellAt(e)));
    canvas.addEventListener("mouseleave", () => this._hover(null));
    canvas.addEventListener("click", (e) => {
      const cell = this._cellAt(e);
      if (cell) this._pick(cell);
    });
    canvas.addEventListener("keydown", (e) => this._key(e));
    new ResizeObserver(() => this.grid && this.draw()).observe(canvas);
  }

  /** Show ``grid`` (from heatmapGrid). */
  render(grid) {
    this.grid = grid;
    this.cursor = null;
    this.draw();
    this.canvas.setAttribute(
      "aria-label",
      `Heatmap of the best objective by ${grid.xName}${grid.yName ? ` and ${grid.yName}` : ""}: ` +
        `${grid.filled} cells, from ${this.format(grid.min)} to ${this.format(grid.max)}. ` +
        "Arrow keys move, Enter backtests the cell's best combination.",
    );
  }

  _layout() {
    const { xs, ys } = this.grid;
    const width = this.canvas.clientWidth || 360;
    const m = this.margin;
    const cellW = (width - m.left - m.right) / xs.length;
    const rows = ys.length;
    const cellH = Math.max(6, Math.min(28, 260 / rows, cellW * 1.2));
    const height = Math.round(m.top + m.bottom + cellH * rows);
    return { width, height, cellW, cellH };
  }

  draw() {
    const { xs, ys, values, tested, min, max, maximize } = this.grid;
    const { width, height, cellW, cellH } = this._layout();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const m = this.margin;
    const span = max - min || 1;
    for (let yi = 0; yi < ys.length; yi += 1) {
      for (let xi = 0; xi < xs.length; xi += 1) {
        const cell = yi * xs.length + xi;
        const v = values[cell];
        const x = m.left + xi * cellW;
        const y = m.top + (ys.length - 1 - yi) * cellH;
        if (Number.isFinite(v)) {
          const t = (v - min) / span;
          ctx.fillStyle = color(maximize ? t : 1 - t);
        } else {
          // Tested without a value (e.g. no trades) vs never tested (excluded by a constraint).
          ctx.fillStyle = tested[cell] ? "#2a2f3d" : "#161a24";
        }
        ctx.fillRect(x + 0.5, y + 0.5, Math.max(1, cellW - 1), Math.max(1, cellH - 1));
        const label = Number.isFinite(v) ? this.format(v) : tested[cell] ? "n/a" : "";
        if (label && cellW >= 38 && cellH >= 16) {
          ctx.fillStyle = Number.isFinite(v) ? "rgba(0,0,0,0.75)" : "#7c8293";
          ctx.font = "10px ui-monospace, monospace";
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          ctx.fillText(label, x + cellW / 2, y + cellH / 2);
        }
      }
    }
    if (this.cursor) {
      const { xi, yi } = this.cursor;
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 2;
      ctx.strokeRect(m.left + xi * cellW + 1, m.top + (ys.length - 1 - yi) * cellH + 1, cellW - 2, cellH - 2);
    }
    ctx.fillStyle = "#b2b5be";
    ctx.font = "10px ui-sans-serif, system-ui, sans-serif";
    const everyX = Math.max(1, Math.ceil(36 / cellW));
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    xs.forEach((v, i) => {
      if (i % everyX === 0) ctx.fillText(formatParam(v), m.left + (i + 0.5) * cellW, height - m.bottom + 4);
    });
    ctx.fillText(this.grid.xName, m.left + (width - m.left - m.right) / 2, height - 13);
    if (this.grid.yName) {
      const everyY = Math.max(1, Math.ceil(12 / cellH));
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ys.forEach((v, i) => {
        if (i % everyY === 0) ctx.fillText(formatParam(v), m.left - 4, m.top + (ys.length - 1 - i + 0.5) * cellH);
      });
      ctx.save();
      ctx.translate(10, m.top + (ys.length * cellH) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "center";
      ctx.fillText(this.grid.yName, 0, 0);
      ctx.restore();
    }
    this.renders += 1;
  }

  _cellAt(event) {
    if (!this.grid) return null;
    const rect = this.canvas.getBoundingClientRect();
    const { cellW, cellH } = this._layout();
    const xi = Math.floor((event.clientX - rect.left - this.margin.left) / cellW);
    const row = Math.floor((event.clientY - rect.top - this.margin.top) / cellH);
    const yi = this.grid.ys.length - 1 - row;
    if (xi < 0 || xi >= this.grid.xs.length || yi < 0 || yi >= this.grid.ys.length) return null;
    return { xi, yi };
  }

  _describe({ xi, yi }) {
    const g = this.grid;
    const cell = yi * g.xs.length + xi;
    const v = g.values[cell];
    const where = `${g.xName}=${formatParam(g.xs[xi])}${g.yName ? `, ${g.yName}=${formatParam(g.ys[yi])}` : ""}`;
    if (Number.isFinite(v)) return `${where}: ${this.format(v)}`;
    return g.tested[cell]
      ? `${where}: no value (undefined here, e.g. no trades)`
      : `${where}: not in the grid (excluded by a constraint)`;
  }

  _hover(cell) {
    if (!cell) {
      this.tip.classList.add("hidden");
      return;
    }
    const { cellW, cellH } = this._layout();
    this.tip.textContent = this._describe(cell);
    this.tip.classList.remove("hidden");
    const left = this.margin.left + (cell.xi + 0.5) * cellW;
    const top = this.margin.top + (this.grid.ys.length - 1 - cell.yi) * cellH - this.tip.offsetHeight - 4;
    // Centred over the cell, kept inside the canvas (the tip wraps when wider than it).
    const maxLeft = this.canvas.clientWidth - this.tip.offsetWidth;
    this.tip.style.left = `${Math.max(0, Math.min(left - this.tip.offsetWidth / 2, maxLeft))}px`;
    this.tip.style.top = `${Math.max(0, top)}px`;
  }

  _pick({ xi, yi }) {
    const combo = this.grid.best[yi * this.grid.xs.length + xi];
    if (combo >= 0) this.onPick(combo);
  }

  _key(event) {
    if (!this.grid) return;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (event.key === "Enter" && this.cursor) {
      event.preventDefault();
      this._pick(this.cursor);
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const cur = this.cursor ?? { xi: 0, yi: 0 };
    this.cursor = {
      xi: Math.min(this.grid.xs.length - 1, Math.max(0, cur.xi + (this.cursor ? move[0] : 0))),
      yi: Math.min(this.grid.ys.length - 1, Math.max(0, cur.yi + (this.cursor ? move[1] : 0))),
    };
    this.draw();
    this._hover(this.cursor);
  }
}
