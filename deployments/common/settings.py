"""Platform configuration, read once from the environment and `.env`.

Every setting is an environment variable of the same name in upper case (``REDIS_URL``,
``SESSION_TIMEOUT_S``...). Invalid values fail at start with a message that names the
variable; secret values (``DTN_PASSWORD``) are ``SecretStr`` and never appear in messages.
The settings are read once where an application is built (its Serve builder, with the
application's ``args`` from ``serve.yaml`` as overrides) and handed to its deployments and
actors; nothing reads them at import time. Run ``python -m deployments.common.settings
--check`` to validate a configuration without starting anything.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from feeds.market_clock import WALL_CLOCK, MarketClock, parse_replay_start

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(RuntimeError):
    """Raised when the environment holds an invalid setting; the message names the variable."""


class Settings(BaseSettings):
    """All settings of the platform; field ``foo_bar`` is read from ``FOO_BAR``."""

    model_config = SettingsConfigDict(
        env_file=(PROJECT_ROOT / ".env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    host: str = Field(
        default="127.0.0.1",
        description="Address the HTTP proxy, Ray's dashboard and Ray's ports listen on "
                    "(`make run`); 0.0.0.0 opens the platform to the network.",
    )
    http_port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP proxy.")
    dashboard_port: int = Field(
        default=8265, ge=1, le=65535, description="Port of Ray's dashboard."
    )
    access_token: SecretStr | None = Field(
        default=None,
        description="When set, every route but /health and the web app's files requires it "
                    "(Authorization: Bearer, or the web app's login cookie).",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis server to use, with its password if any "
                    "(redis://:PASSWORD@host:port/db); unset starts the embedded Valkey server.",
    )
    dtn_product_id: str | None = Field(default=None, description="DTN IQFeed product id.")
    dtn_login: str | None = Field(default=None, description="DTN IQFeed login.")
    dtn_password: SecretStr | None = Field(default=None, description="DTN IQFeed password.")
    iqfeed_host: str = Field(default="127.0.0.1", description="Host where IQConnect listens.")
    iqfeed_lookup_port: int = Field(default=9100, ge=1, le=65535)
    iqfeed_admin_port: int = Field(default=9300, ge=1, le=65535)
    iqfeed_derivative_port: int = Field(
        default=9400, ge=1, le=65535, description="IQConnect's interval-bar streaming port."
    )
    iqfeed_level1_port: int = Field(
        default=5009, ge=1, le=65535, description="IQConnect's Level 1 (trades) port."
    )
    iqfeed_protocol: Literal["6.1", "6.2"] = Field(default="6.2")
    market_replay: str | None = Field(
        default=None,
        description="Replay a past session instead of the live market (simulator only): a "
                    "trading day (2026-11-20, from its regular open) or an Eastern date-time.",
    )
    market_replay_speed: float = Field(
        default=1.0, gt=0, le=3600, description="How many times faster than real time a "
                                                "replay runs (60: a minute per second).",
    )
    market_replay_origin: float | None = Field(
        default=None, description="Wall-clock UTC second the replay started at; the launcher "
                                  "sets it so every process shares one market clock.",
    )
    live_idle_unwatch_s: float = Field(
        default=30.0, gt=0, le=3600,
        description="How long an upstream live watch nobody polls is kept before unwatching.",
    )
    iqfeed_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait for one history answer."
    )
    iqfeed_rate_per_s: float = Field(
        default=40.0, gt=0, le=1000, description="History requests per second (DTN allows ~50)."
    )
    iqfeed_pool_size: int = Field(default=4, ge=1, le=64)
    iqfeed_watchdog_interval_s: float = Field(
        default=2.0, gt=0, le=300, description="How often the watchdog checks IQConnect."
    )
    iqconnect_exe: str = Field(
        default="IQConnect.exe", description="IQConnect.exe path, launched under wine."
    )
    dtn_product_version: str = Field(default="1.0", description="Version sent to IQConnect.")
    session_timeout_s: int = Field(
        default=1800, ge=10, le=7 * 86400,
        description="A session without a heartbeat for this long is deleted.",
    )
    initiate_limit: int = Field(
        default=30, ge=1, le=100_000,
        description="Sessions one client address may start per INITIATE_WINDOW_S.",
    )
    initiate_window_s: float = Field(
        default=60.0, gt=0, le=3600, description="Window of INITIATE_LIMIT, in seconds."
    )
    max_live_sessions: int = Field(
        default=5000, ge=1, le=10_000_000,
        description="Most sessions alive at once; /initiate answers 503 beyond.",
    )
    janitor_interval_s: float = Field(
        default=60.0, gt=0, le=3600,
        description="How often the session janitor looks for expired sessions.",
    )
    initial_chunk_size: int = Field(
        default=5000, ge=100, le=100_000,
        description="Bars in the first answer of /historical.",
    )
    max_request_days: int = Field(
        default=366, ge=1, le=20 * 366,
        description="Longest date range one /historical request may span.",
    )
    max_chart_bars: int = Field(
        default=12_000_000, ge=1000, le=200_000_000,
        description="Most base bars one chart of an imported symbol may be built from.",
    )
    max_import_bytes: int = Field(
        default=4 << 30, ge=1 << 20,
        description="Largest file POST /data/import takes (bytes).",
    )
    minute_tier_after_days: int = Field(
        default=30, ge=1, le=366,
        description="Ranges longer than this use 1-minute base bars (and allow no second bars).",
    )
    second_history_days: int = Field(
        default=180, ge=1, le=3650,
        description="How far back the feed keeps 1-second bars (IQFeed: about 180 days).",
    )
    bar_cache_ttl_s: int = Field(
        default=7 * 86400, ge=60, description="How long base bars of past days stay cached."
    )
    today_cache_ttl_s: int = Field(
        default=60, ge=1, description="How long base bars of the current day stay cached."
    )
    result_ttl_s: int = Field(
        default=6 * 3600, ge=60, description="How long a resampled chart result stays cached."
    )
    chunk_max_bars: int = Field(
        default=50_000, ge=100, le=1_000_000, description="Largest /historical/chunk answer."
    )
    strategies_dir: Path | None = Field(
        default=None, description="Extra directory of strategy modules beside the built-ins."
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Where the embedded Valkey server keeps its files.",
    )
    optimize_max_combinations: int = Field(
        default=200_000, ge=1, le=10_000_000,
        description="Most parameter combinations one optimization job may sweep.",
    )
    optimize_max_jobs_per_session: int = Field(
        default=2, ge=1, le=100,
        description="Most optimization jobs one session may have queued or running at once.",
    )
    optimize_task_cpus: float = Field(
        default=0.5, gt=0, le=64,
        description="CPUs each CPU chunk task of an optimization requests (Numba threads = "
                    "this rounded up).",
    )
    optimize_task_gpus: float = Field(
        default=1.0, gt=0, le=8, description="GPUs each GPU chunk task of an optimization requests."
    )
    optimize_gpu_loss_grace_s: float = Field(
        default=30.0, ge=0, le=3600,
        description="Seconds a GPU job's unfinished chunks wait for the cluster's GPUs to come "
                    "back before they run on CPUs instead.",
    )
    optimize_cpus_with_gpus: bool = Field(
        default=False,
        description="On a cluster with GPUs, also run chunk tasks on the CPUs the GPU tasks "
                    "leave (each slot takes the next chunk when it is free).",
    )
    optimize_chunks_per_slot: int = Field(
        default=3, ge=1, le=64,
        description="Chunks per task slot of the cluster: more balance the load, fewer cost less.",
    )
    retry_after_s: int = Field(
        default=5, ge=1, le=600,
        description="Retry-After seconds sent with 503 answers.",
    )
    runs_ttl_days: int = Field(
        default=30, ge=1, le=3650,
        description="Days a stored run (and a workspace nobody uses) is kept.",
    )
    run_max_bytes: int = Field(
        default=8 << 20, ge=64 << 10, le=256 << 20,
        description="Largest stored run (compressed bytes); longer equity and drawdown curves "
                    "are thinned to fit.",
    )
    runs_max_per_workspace: int = Field(
        default=500, ge=1, le=100_000,
        description="Most runs a workspace keeps; the oldest go first.",
    )

    @field_validator("dtn_product_id", "dtn_login", "dtn_password", "access_token",
                     "redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("access_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _dtn_complete(self) -> Settings:
        given = [self.dtn_product_id, self.dtn_login, self.dtn_password]
        if any(v is not None for v in given) and None in given:
            missing = [
                name for name, value in
                zip(("DTN_PRODUCT_ID", "DTN_LOGIN", "DTN_PASSWORD"), given, strict=True)
                if value is None
            ]
            raise ValueError(f"DTN credentials are incomplete: set {', '.join(missing)} too")
        return self

    @field_validator("market_replay")
    @classmethod
    def _replay_start(cls, value: str | None) -> str | None:
        if value:
            parse_replay_start(value)  # ValueError names the problem
        return value or None

    @model_validator(mode="after")
    def _replay_needs_simulator(self) -> Settings:
        if self.market_replay and self.has_dtn_credentials:
            raise ValueError("MARKET_REPLAY replays the simulator's market: unset the DTN "
                             "credentials or MARKET_REPLAY")
        return self

    def market_clock(self) -> MarketClock:
        """The market's clock: the wall clock, or the configured replay."""
        if not self.market_replay:
            return WALL_CLOCK
        if self.market_replay_origin is None:
            raise ConfigError("MARKET_REPLAY needs MARKET_REPLAY_ORIGIN (the wall-clock UTC "
                              "second it started at; `make run` sets it)")
        return MarketClock(parse_replay_start(self.market_replay), self.market_replay_speed,
                           self.market_replay_origin)

    @property
    def has_dtn_credentials(self) -> bool:
        """True when a real DTN account is configured (else the IQFeed simulator is used)."""
        return None not in (self.dtn_product_id, self.dtn_login, self.dtn_password)


def _describe(error: ValidationError) -> str:
    """Name each bad variable and the reason, never echoing the value given."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        variable = "_".join(str(part) for part in item["loc"]).upper() or "configuration"
        lines.append(f"  {variable}: {item['msg']}")
    return "Invalid configuration:\n" + "\n".join(lines)


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read and validate the settings, ``overrides`` (e.g. a Serve application's ``args``)
    winning over the environment; raise ConfigError naming each invalid variable."""
    try:
        return Settings(**(overrides or {}))
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def main(argv: list[str]) -> int:
    """CLI: ``--check`` validates the configuration and prints a summary without secrets."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    if "--check" in argv:
        redis = "external" if settings.redis_url else "embedded Valkey"
        feed = "DTN IQFeed account" if settings.has_dtn_credentials else "IQFeed simulator"
        print(f"configuration ok: redis={redis}, feed={feed}, "
              f"session_timeout_s={settings.session_timeout_s}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
