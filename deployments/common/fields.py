"""The request fields several applications take, with the constraints their OpenAPI declares.

FastAPI enforces each pattern before a route runs, so the schema says exactly what the server
accepts (a value that breaks it gets a 422 naming the field). Deeper checks (a range's length,
an interval's size, a date in the future) stay in the request parsers and are 422s too.
"""

from __future__ import annotations

import re

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""A session token is 32 bytes in URL-safe base64 without padding: 43 characters."""
TOKEN_DESCRIPTION = "Token from /utils/session/initiate: 43 URL-safe base64 characters"
SESSION_HEADER = "X-Session-Token"
"""The request header that carries the session token (never a URL: it would land in browser
history, proxies' logs and Referer headers)."""
WORKSPACE_HEADER = "X-Workspace"
"""The request header of /utils/session/initiate that names the workspace to keep: a secret
like the session token (never in a URL), but long-lived, so runs outlive their session."""
WORKSPACE_DESCRIPTION = ("Workspace from an earlier /utils/session/initiate (43 URL-safe base64 "
                         "characters), to keep its runs; unknown or expired: a new one is issued")

SYMBOL_PATTERN = r"^([Ff][Ii][Ll][Ee]:)?[A-Za-z0-9][A-Za-z0-9./@#+_^-]{0,29}$"
SYMBOL_DESCRIPTION = ("Ticker, e.g. AAPL (case-insensitive): 1-30 of A-Z 0-9 . - / @ # + _ ^; "
                      "an imported symbol is file:<NAME>, e.g. file:GOOG")

INTERVAL_PATTERN = r"^([1-9][0-9]{0,5}[smh]|1d|1w)$"
INTERVAL_DESCRIPTION = "5s, 1m, 5m, 1h, 4h, 1d, 1w, or any <N>s/<N>m/<N>h up to 24h"

MOMENT_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
                  r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$")
START_DESCRIPTION = "First day (or date-time), exchange time, ISO format: 2024-07-01"
END_DESCRIPTION = "Last day, inclusive (or an exclusive date-time), ISO format"

STRATEGY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
STRATEGY_DESCRIPTION = "Strategy name from /strategies, e.g. sma_cross"
