"""The built-in strategies' names, and a strategy file that tests drop into a directory."""

BUILT_INS = {"sma_cross", "ema_cross", "rsi_reversion", "bollinger_reversion",
             "donchian_breakout", "macd_cross"}

NEW_STRATEGY = '''
from strategies.spec import Param, StrategySpec

def signals(o, h, l, c, v, lookback):
    rising = c > __import__("numpy").roll(c, lookback)
    return rising, ~rising

STRATEGY = StrategySpec(
    name="momentum_test", title="Momentum (test)", description="Dropped in by a test.",
    params=(Param("lookback", "int", 5, min=1, max=50),), signals=signals,
)
'''
