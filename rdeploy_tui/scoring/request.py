"""The request body as the user writes it: JSON text in an editor."""

from __future__ import annotations

import json

from rdeploy_tui.bounded_read import ContentError, parse_json
from rdeploy_tui.errors import RdeployError


class RequestTextError(RdeployError):
    """The request body is not valid JSON; `line`/`column` (1-based) point at the problem."""

    def __init__(self, what: str, line: int, column: int) -> None:
        super().__init__(what, "fix the JSON in the request editor", code="BadRequestJson")
        self.line, self.column = line, column


def parse_request_text(text: str) -> object:
    """The JSON value of an editor's text; RequestTextError with the position when it is not JSON."""
    if not text.strip():
        raise RequestTextError('the request body is empty: write a JSON object, e.g. {"x": [1]}', 1, 1)
    try:
        return parse_json(text)  # bounded: nesting and number lengths checked before anything is built
    except ContentError as exc:
        line, column = exc.line or 1, exc.column or 1
        what = f"{exc.problem}: {exc.detail}" if exc.detail else exc.problem
        raise RequestTextError(f"the request {what} (line {line}, column {column})", line, column) from None


def request_text(value: object) -> str:
    """How a request value is shown in the editor and in snippets."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def is_json(text: str) -> bool:
    try:
        parse_json(text)
        return True
    except ValueError:
        return False
