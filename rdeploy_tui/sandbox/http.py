"""Request/response types and the router the sandbox's service modules register on.

Each service module (ARM resources, blob storage, ACR tasks, scoring) exposes
`register(router, sandbox)` and adds handlers with `@router.route(METHOD, PATTERN)`.
Handlers receive a Request plus the regex's named groups and return a Response.
Kept free of the server itself so handlers can be unit-tested without sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload
from urllib.parse import parse_qsl


class Headers(dict):
    """Case-insensitive header mapping (HTTP header names are case-insensitive)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for key, value in dict(items).items():
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, no query string
    query: dict[str, str] = field(default_factory=dict)  # keys as sent; see `param`
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    raw_path: str = ""  # the path as sent, percent-encoded (what Storage's Shared Key signs)
    raw_query: list[tuple[str, str]] = field(default_factory=list)  # (name, value) pairs as sent, not decoded

    @classmethod
    def from_target(cls, method: str, target: str, headers: Any, body: bytes) -> Request:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(target)
        return cls(
            method=method.upper(),
            path=unquote(parts.path),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=Headers(headers),
            body=body,
            raw_path=parts.path,
            raw_query=[(name, value) for name, _, value in (p.partition("=") for p in parts.query.split("&") if p)],
        )

    @overload
    def param(self, name: str) -> str | None: ...

    @overload
    def param(self, name: str, default: str) -> str: ...

    def param(self, name: str, default: str | None = None) -> str | None:
        """Query parameter, case-insensitively (ARM and storage disagree on casing)."""
        lowered = name.lower()
        for key, value in self.query.items():
            if key.lower() == lowered:
                return value
        return default

    @property
    def api_version(self) -> str | None:
        return self.param("api-version")

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is {}. Raises ValueError on malformed JSON and on JSON that is
        not an object (an array, a string): every ARM and data-plane body the sandbox reads is an object, and the
        server answers ValueError with ARM's 400, never a 500 that clients would retry."""
        if not self.body:
            return {}
        value = json.loads(self.body.decode("utf-8"))
        if not isinstance(value, dict):
            raise ValueError(f"a JSON {type(value).__name__} where an object was expected")
        return value


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    merged = {"Content-Type": "application/json; charset=utf-8"}
    merged.update(headers or {})
    return Response(status, json.dumps(payload).encode("utf-8"), merged)


def azure_error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: list[dict[str, str]] | None = None,
) -> Response:
    """An error body shaped the way ARM and the data planes send it (details: ARM's error.details list)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response(status, {"error": error}, headers)


Handler = Callable[..., Response]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Ordered (method, regex) -> handler table. ARM paths are case-insensitive, so patterns are too."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorate

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(_Route(method.upper(), re.compile(pattern + r"/?\Z", re.IGNORECASE), handler))

    def matches(self, path: str) -> bool:
        """Whether any route (of any method) answers this path."""
        return any(route.pattern.match(path) for route in self._routes)

    def dispatch(self, request: Request, unmatched: Callable[[Request], Response] | None = None) -> Response:
        """The handler's response; for a path no route matches, `unmatched(request)` (default: a generic 404)."""
        path_matched = False
        for route in self._routes:
            match = route.pattern.match(request.path)
            if not match:
                continue
            path_matched = True
            if route.method in (request.method, "*"):
                return route.handler(request, **match.groupdict())
        if path_matched:
            return azure_error(405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}.")
        if unmatched is not None:
            return unmatched(request)
        return azure_error(404, "ResourceNotFound", f"No sandbox service answers {request.method} {request.path}.")
