"""A response shown as a table: plumber encodes a data.frame as a list of JSON objects."""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_TABLE_ROWS = 500  # a response table beyond this shows the first rows and says how many there are


@dataclass(frozen=True)
class RecordsTable:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int  # rows in the response; may exceed len(rows)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def records_table(value: object, max_rows: int = MAX_TABLE_ROWS) -> RecordsTable | None:
    """A table when `value` is a non-empty list of JSON objects (plumber's encoding of a data.frame)."""
    if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
        return None
    columns: dict[str, None] = {}
    for record in value:
        for key in record:
            columns.setdefault(str(key), None)
    if not columns:
        return None
    names = tuple(columns)
    rows = tuple(tuple(_cell(record.get(name)) for name in names) for record in value[:max_rows])
    return RecordsTable(names, rows, len(value))
