// Number formatting shared by the panels: metrics, money, percentages.

// ``notObjective``: answered by a backtest (from its trades) but not by a sweep's kernels, or
// not a merit to rank by.
export const METRIC_INFO = {
  total_return: { label: "Total return", kind: "pct" },
  cagr: { label: "CAGR", kind: "pct" },
  sharpe: { label: "Sharpe", kind: "ratio" },
  sortino: { label: "Sortino", kind: "ratio" },
  calmar: { label: "Calmar", kind: "ratio" },
  max_drawdown: { label: "Max drawdown", kind: "pct", lowerIsBetter: true },
  max_drawdown_bars: { label: "Longest drawdown (bars)", kind: "int", lowerIsBetter: true },
  num_trades: { label: "Trades", kind: "int" },
  win_rate: { label: "Win rate", kind: "pct" },
  profit_factor: { label: "Profit factor", kind: "ratio" },
  expectancy: { label: "Expectancy / trade", kind: "money" },
  avg_trade_return: { label: "Avg trade return", kind: "pct" },
  exposure: { label: "Exposure", kind: "pct" },
  sqn: { label: "SQN", kind: "ratio", notObjective: true },
  kelly: { label: "Kelly fraction", kind: "pct", notObjective: true },
  buy_hold_return: { label: "Buy & hold return", kind: "pct", notObjective: true },
  alpha: { label: "Alpha (annual)", kind: "pct", notObjective: true },
  beta: { label: "Beta", kind: "ratio", notObjective: true },
  best_trade: { label: "Best trade", kind: "pct", notObjective: true },
  worst_trade: { label: "Worst trade", kind: "pct", notObjective: true },
  avg_trade_bars: { label: "Avg trade (bars)", kind: "ratio", notObjective: true },
  max_trade_bars: { label: "Longest trade (bars)", kind: "int", notObjective: true },
  max_consecutive_losses: { label: "Most losses in a row", kind: "int", lowerIsBetter: true, notObjective: true },
  long_trades: { label: "Long trades", kind: "int", notObjective: true },
  short_trades: { label: "Short trades", kind: "int", notObjective: true },
  intrabar_resolved: { label: "Bars replayed on base bars", kind: "int", notObjective: true },
};

/** A metric value as text ("–" for null: undefined for this run). */
export function formatMetric(name, value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  switch (METRIC_INFO[name]?.kind) {
    case "pct": return `${(value * 100).toFixed(2)}%`;
    case "int": return Math.round(value).toLocaleString("en-US");
    case "money": return formatMoney(value);
    default: return value.toFixed(2);
  }
}

const NEUTRAL = new Set(["num_trades", "exposure", "max_drawdown_bars", "beta", "avg_trade_bars", "max_trade_bars",
  "max_consecutive_losses", "long_trades", "short_trades", "intrabar_resolved", "kelly"]);

/** Sign class for coloured metrics: "up", "down" or "". */
export function metricTone(name, value) {
  if (value === null || value === undefined || NEUTRAL.has(name)) return "";
  if (name === "max_drawdown") return value > 0 ? "down" : "";
  if (name === "profit_factor") return value >= 1 ? "up" : "down";
  if (name === "win_rate") return "";
  return value > 0 ? "up" : value < 0 ? "down" : "";
}

export function formatMoney(value) {
  const sign = value < 0 ? "-" : "";
  return `${sign}$${Math.abs(value).toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })}`;
}

/** A parameter value for tables: integers plain, floats trimmed. */
export function formatParam(value) {
  if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toPrecision(6)));
  return String(value);
}

export const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
