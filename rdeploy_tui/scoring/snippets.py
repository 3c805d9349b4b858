"""Copyable snippets (curl, Python) that send the same request; the key or token masked unless revealed."""

from __future__ import annotations

import json
import shlex

from rdeploy_tui.scoring.request import is_json
from rdeploy_tui.scoring.target import DEPLOYMENT_HEADER, MASK, ScoringTarget


def _secret(target: ScoringTarget, reveal: bool) -> str:
    if not target.credential:
        return "<KEY-OR-TOKEN>"
    return target.credential if reveal else MASK


def curl_snippet(target: ScoringTarget, body_text: str, *, reveal: bool = False) -> str:
    """A curl command that sends this request; the key/token is masked unless `reveal`."""
    lines = [
        f"curl -sS -X POST {shlex.quote(target.uri)}",
        f"  -H {shlex.quote('Authorization: Bearer ' + _secret(target, reveal))}",
        "  -H 'Content-Type: application/json'",
    ]
    if target.deployment:
        lines.append(f"  -H {shlex.quote(DEPLOYMENT_HEADER + ': ' + target.deployment)}")
    compact = (
        json.dumps(json.loads(body_text), separators=(",", ":"), ensure_ascii=False)
        if is_json(body_text)
        else body_text
    )
    lines.append(f"  --data-binary {shlex.quote(compact)}")
    return " \\\n".join(lines)


def python_snippet(target: ScoringTarget, body_text: str, *, reveal: bool = False) -> str:
    """Standard-library Python that sends this request; the key/token is masked unless `reveal`."""
    body = json.loads(body_text) if is_json(body_text) else body_text
    headers = {"Authorization": "Bearer " + _secret(target, reveal), "Content-Type": "application/json"}
    if target.deployment:
        headers[DEPLOYMENT_HEADER] = target.deployment
    header_lines = "".join(f"    {k!r}: {v!r},\n" for k, v in headers.items())
    return (
        "import json\n"
        "import urllib.request\n"
        "\n"
        f"url = {target.uri!r}\n"
        f"headers = {{\n{header_lines}}}\n"
        f"body = {body!r}\n"
        'request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")\n'
        "with urllib.request.urlopen(request, timeout=180) as response:\n"
        "    print(response.status, json.loads(response.read()))\n"
    )
