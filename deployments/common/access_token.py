"""The optional ``ACCESS_TOKEN``: who holds it, checked in constant time.

A caller holds the token when it sends ``Authorization: Bearer <token>``, or the cookie the web
app's login form sets. The cookie carries an HMAC of the token, not the token itself, so a
leaked cookie jar does not reveal the secret an API client uses.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie

from pydantic import SecretStr

COOKIE_NAME = "tp_access"
_COOKIE_CONTEXT = b"trading-platform web login v1"


class AccessGuard:
    """Answers whether a request's headers carry the platform's access token."""

    def __init__(self, token: SecretStr) -> None:
        secret = token.get_secret_value().encode()
        self._token = secret
        self._cookie = hmac.new(secret, _COOKIE_CONTEXT, hashlib.sha256).hexdigest().encode()

    def matches(self, candidate: str) -> bool:
        """True when ``candidate`` is the access token (constant time)."""
        return hmac.compare_digest(candidate.encode(), self._token)

    def cookie_value(self) -> str:
        """The value of the login cookie for this token."""
        return self._cookie.decode()

    def admits(self, authorization: str | None, cookie_header: str | None) -> bool:
        """True when the ``Authorization`` header holds the token as a Bearer credential or
        the ``Cookie`` header holds the login cookie."""
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.matches(credential.strip()):
                return True
        if cookie_header:
            try:
                cookies = SimpleCookie(cookie_header)
            except CookieError:
                return False
            morsel = cookies.get(COOKIE_NAME)
            if morsel is not None:
                return hmac.compare_digest(morsel.value.encode(), self._cookie)
        return False


def make_guard(token: SecretStr | None) -> AccessGuard | None:
    """The guard for ``token``, or None when no access token is configured (open platform)."""
    return AccessGuard(token) if token is not None else None
