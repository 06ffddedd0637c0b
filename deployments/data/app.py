"""The ``data`` Serve application, mounted at ``/data``: the market-data sources and imports.

``POST /import`` takes a CSV or Parquet file of OHLCV bars (multipart) and stores it as
``file:<SYMBOL>``; ``GET /imports/{id}`` follows an import's progress; ``GET /`` lists the
sources (IQFeed or its simulator, imported files) and the imported symbols; ``DELETE
/{symbol}`` removes an imported symbol with its cached charts. The bars themselves live with
the ``bar-files`` actor (:mod:`deployments.data.store_actor`).
"""


import asyncio
import dataclasses
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import redis
from fastapi import File, Form, Request, UploadFile
from fastapi import Path as PathParam
from ray import serve

from deployments.common.errors import Conflict, FieldError, NotFound
from deployments.common.http_app import builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.redis_client import redis_guard
from deployments.common.settings import Settings
from deployments.data.catalog import cached_entries
from deployments.data.importer import ImportOrder, entry_answer, run_import
from deployments.data.progress import ImportProgress, progress_answer, progress_key
from deployments.data.request import (
    IMPORT_ID_PATTERN,
    IMPORT_NAME_PATTERN,
    parse_resolution,
    parse_session,
    parse_symbol,
    parse_timezone,
)
from deployments.data.store_actor import ensure_bar_files_actor
from feeds.files.errors import ImportRejected
from feeds.files.store import SymbolConflict, SymbolEntry
from feeds.synthetic_market import KNOWN_SYMBOLS

api = make_api(
    "Data",
    "Market-data sources and imports of the trader's own bars (CSV or Parquet).",
    errors=(401, 422, 503),
)
_COPY_CHUNK = 8 << 20


def _save(upload: UploadFile, path: Path) -> None:
    """Copy the upload (Starlette spools it to a temporary file) to ``path``."""
    upload.file.seek(0)
    with path.open("wb") as target:
        shutil.copyfileobj(upload.file, target, _COPY_CHUNK)


@serve.deployment
@serve.ingress(api)
class DataIngress(Ingress):
    """Imports run in worker threads of this replica; the store is the ``bar-files`` actor's."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._files = ensure_bar_files_actor(settings)
        self._sync_redis = redis.Redis.from_url(self._redis_url, socket_timeout=10)
        self._uploads = settings.data_dir / "uploads"
        self._uploads.mkdir(parents=True, exist_ok=True)

    @api.post("/import", responses=error_responses(409))
    async def import_bars(
        self,
        request: Request,
        file: Annotated[UploadFile, File(description="CSV or Parquet of OHLCV bars")],
        symbol: Annotated[str, Form(pattern=IMPORT_NAME_PATTERN,
                                    description="Name to store it under: GOOG -> file:GOOG")],
        timezone: Annotated[str, Form(max_length=64,
                                      description="Zone of times without an offset")
                            ] = "America/New_York",
        resolution: Annotated[str, Form(max_length=8,
                                        description="Bar length (1s..1d); blank: detected")] = "",
        session: Annotated[str, Form(max_length=16,
                                     description="Regular hours, e.g. 09:30-16:00; blank: 24 h")
                           ] = "",
        import_id: Annotated[str | None, Form(pattern=IMPORT_ID_PATTERN,
                                              description="Client-chosen id for progress")
                             ] = None,
    ) -> dict[str, Any]:
        """Import the file as ``file:<symbol>``: ``{symbol, bars, first, last, resolution}``.

        A re-import replaces the days the file holds and keeps the others; a bad file answers
        422 with the row and column at fault, and nothing is stored.
        """
        size = int(request.headers.get("content-length") or 0)
        if size > self._settings.max_import_bytes:
            raise FieldError("file", f"is larger than MAX_IMPORT_BYTES "
                                     f"({self._settings.max_import_bytes:,} bytes)")
        order = ImportOrder(
            import_id=import_id or secrets.token_urlsafe(12), path=Path(),
            symbol=parse_symbol(symbol), timezone=parse_timezone(timezone),
            resolution_s=parse_resolution(resolution), session=parse_session(session),
        )
        with tempfile.TemporaryDirectory(dir=self._uploads) as folder:
            path = Path(folder) / "upload"
            await asyncio.to_thread(_save, file, path)
            order = dataclasses.replace(order, path=path)
            progress = ImportProgress(self._sync_redis, order.import_id, path.stat().st_size)
            try:
                result = await asyncio.to_thread(run_import, self._files, order, progress)
            except ImportRejected as error:
                raise FieldError("file", str(error), row=error.row,
                                 column=error.column) from None
            except SymbolConflict as error:
                raise Conflict(str(getattr(error, "cause", None) or error), "symbol") from None
        return {**entry_answer(result.entry), "replaced_days": result.replaced_days,
                "import_id": order.import_id}

    @api.get("/imports/{import_id}", responses=error_responses(404))
    async def import_progress(
        self, import_id: Annotated[str, PathParam(pattern=IMPORT_ID_PATTERN)],
    ) -> dict[str, Any]:
        """How far an import has come: state, rows checked, fraction of the file read."""
        async with redis_guard():
            record = await self._redis.hgetall(progress_key(import_id))
        if not record:
            raise NotFound("no import with this id (yet, or any more)", "import_id")
        return progress_answer(import_id, record)

    @api.get("/")
    async def sources(self) -> dict[str, Any]:
        """The data sources and what each holds; imported symbols with first/last bar."""
        entries = await self._entries()
        simulated = not self._settings.has_dtn_credentials
        return {"sources": [
            {"name": "iqfeed", "kind": "simulator" if simulated else "iqfeed",
             "symbols": sorted(KNOWN_SYMBOLS) if simulated else []},
            {"name": "file", "kind": "files",
             "symbols": [entry_answer(entry) for entry in entries]},
        ]}

    @api.delete("/{symbol}", responses=error_responses(404))
    async def delete(
        self, symbol: Annotated[str, PathParam(pattern=IMPORT_NAME_PATTERN)],
    ) -> dict[str, Any]:
        """Remove an imported symbol, its bars and its cached charts."""
        name = parse_symbol(symbol)
        if not await self._files.delete.remote(name):
            raise NotFound(f"no imported symbol {name}", "symbol")
        return {"symbol": name, "deleted": True}

    async def _entries(self) -> list[SymbolEntry]:
        entries = await cached_entries(self._redis)
        if entries is None:  # Redis lost the mirror: ask its owner
            return [SymbolEntry.from_json(e) for e in await self._files.entries.remote()]
        return entries


build = builder(DataIngress)
