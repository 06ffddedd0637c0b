"""Background pre-aggregation: after a cache miss, every standard interval of the same range.

A named Ray task (``preaggregate:<symbol>:<first day>:<last day>``) receives the range's base
bars through the object store, derives every standard intraday interval from the nearest finer
one already computed (:func:`kernels.resample.derive_standard`) and stores each result where
/historical looks for it, so switching intervals on the chart is a cache hit. A Redis lock keeps
two tasks from working on the same range at once.
"""

from __future__ import annotations

import redis

from deployments.charts import bar_codec
from deployments.charts.bar_store import result_key
from deployments.charts.builder import select_base
from deployments.charts.request import ChartRequest
from feeds.bars import Bars
from kernels.resample import STANDARD_INTERVALS, derive_standard

LOCK_TTL_S = 600


def lock_key(request: ChartRequest) -> str:
    """Key of the lock held while a range is being pre-aggregated."""
    return result_key(request.cache_symbol, request.rth, "preaggregate", request.start,
                      request.end)


def task_name(request: ChartRequest) -> str:
    """The task's name in the Ray dashboard."""
    if request.days:
        return f"preaggregate:{request.symbol}:{request.days[0]}:{request.days[-1]}"
    return f"preaggregate:{request.symbol}:{request.start}:{request.end}"


def preaggregate(redis_url: str, request: ChartRequest, base: Bars, ttl_s: int) -> list[str]:
    """Derive and store every standard interval of ``request``'s range; return their names."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        bars, tz = select_base(request, base)
        derived = derive_standard(
            *bars.columns(), request.bar_s, request.anchor_s, request.session_open_s, *tz
        )
        stored = []
        with client.pipeline(transaction=False) as pipe:
            for name, columns in derived.items():
                if name not in STANDARD_INTERVALS:
                    continue  # 1d comes from IQFeed's daily bars, not from intraday data
                key = result_key(request.cache_symbol, request.rth, name, request.start,
                                 request.end)
                pipe.set(key, bar_codec.encode(Bars(*columns)), ex=ttl_s, nx=True)
                stored.append(name)
            pipe.execute()
        return stored
    finally:
        client.delete(lock_key(request))
        client.close()
