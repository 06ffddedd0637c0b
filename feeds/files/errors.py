"""The one error of an import: what is wrong with the file, and where (row, column)."""

from __future__ import annotations


class ImportRejected(Exception):
    """A file that cannot be imported; ``row`` is 1-based among data rows (the header is not a
    row), ``column`` the file's own column name; either may be None."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        where = ", ".join(part for part in (
            f"row {row}" if row is not None else "",
            f"column {column}" if column is not None else "") if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.row = row
        self.column = column
