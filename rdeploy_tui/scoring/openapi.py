"""A sample request from the API's own OpenAPI description (plumber serves /openapi.json)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def openapi_url(scoring_uri: str, score_route: str = "/score") -> str:
    """Where plumber serves /openapi.json, next to the score route of `scoring_uri`."""
    parts = urlsplit(scoring_uri)
    path = parts.path
    if score_route and path.endswith(score_route):
        path = path[: -len(score_route)]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/openapi.json", "", ""))


def _example(schema: object) -> object:
    if not isinstance(schema, dict):
        return "value"
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema.get("items", {}))]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "object":
        props = schema.get("properties")
        return {k: _example(v) for k, v in props.items()} if isinstance(props, dict) else {}
    return "value"


def sample_from_openapi(doc: object, score_route: str = "/score") -> dict[str, object] | None:
    """A request body for the score route from plumber's OpenAPI 3.0.3 description, or None when it
    does not describe the arguments (a `function(req, res)` handler lists no parameters).

    plumber lists a POST handler's arguments as query parameters (type string unless annotated with
    `#* @param name:type`); a JSON request body carries them as fields, which is how they are sent.
    """
    if not isinstance(doc, dict):
        return None
    paths = doc.get("paths")
    op = (
        paths.get(score_route, {}).get("post")
        if isinstance(paths, dict) and isinstance(paths.get(score_route), dict)
        else None
    )
    if not isinstance(op, dict):
        return None
    sample: dict[str, object] = {}
    for param in op.get("parameters") or []:
        if isinstance(param, dict) and isinstance(param.get("name"), str) and param.get("in") in ("query", None):
            if param["name"] in ("req", "res"):
                continue
            sample[param["name"]] = _example(param.get("schema"))
    body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
    if isinstance(body, dict) and isinstance(body.get("properties"), dict):
        for name, schema in body["properties"].items():
            sample.setdefault(name, _example(schema))
    return sample or None
