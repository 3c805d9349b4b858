"""Replaying Microsoft's recorded Azure exchanges against a sandbox, and scoring how closely it answers.

An extract (recordings/*.json) names its source (repository, path, commit) and lists exchanges as recorded: method,
URI, request body, status, the LRO headers, the response body. Replaying maps Azure's names onto the sandbox's
(subscription, resource group, workspace, endpoint, deployment, model), sends each request with a plain HTTP client,
follows the sandbox's own operation URLs for the polls, and compares:
- the status code;
- the LRO headers the recording has (Location, Azure-AsyncOperation, x-ms-async-operation-timeout, Retry-After):
  present where Azure sent them and absent where it did not, Location naming the same resource (or an operation result),
  Azure-AsyncOperation an operation status, the timeout Azure's duration times the sandbox's time scale;
- the final state (an operation's last status, a resource's provisioningState) where the recording marks one;
- the JSON key paths of Azure's body (lists as `[]`) with their types; a null in the recording matches any type.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RECORDINGS = Path(__file__).parent / "recordings"
LRO_HEADERS = ("Location", "Azure-AsyncOperation", "x-ms-async-operation-timeout", "Retry-After")
_DURATION = re.compile(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?")


def load(name: str) -> dict[str, Any]:
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


def key_paths(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, JSON type) of every value in a body; list items share the path `name[]`."""
    kind = _type(value)
    if prefix:
        yield prefix, kind
    if isinstance(value, dict):
        for key, item in value.items():
            yield from key_paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for item in value:
            yield from key_paths(item, f"{prefix}[]")


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}[type(value)]


def duration_s(text: str) -> float | None:
    match = _DURATION.fullmatch(text or "")
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass
class Score:
    """What matched, per criterion, with the mismatches named."""

    counts: dict[str, list[int]] = field(
        default_factory=lambda: {k: [0, 0] for k in ("status", "final", "lro", "keys")}
    )
    misses: list[str] = field(default_factory=list)

    def check(self, criterion: str, ok: bool, what: str) -> None:
        self.counts[criterion][1] += 1
        if ok:
            self.counts[criterion][0] += 1
        else:
            self.misses.append(f"[{criterion}] {what}")

    def ratio(self, criterion: str) -> float:
        hit, total = self.counts[criterion]
        return hit / total if total else 1.0

    def report(self) -> str:
        lines = [
            f"{name:<7} {hit}/{total} ({100 * hit / total if total else 100:.1f} %)"
            for name, (hit, total) in self.counts.items()
        ]
        return "\n".join(lines + [f"  {miss}" for miss in self.misses])


@dataclass
class Names:
    """Azure's recorded names -> the sandbox's."""

    pairs: list[tuple[str, str]]

    def map(self, text: str) -> str:
        for recorded, ours in self.pairs:
            text = text.replace(recorded, ours)
        return text

    def map_json(self, value: Any) -> Any:
        return json.loads(self.map(json.dumps(value)))


def compare(
    score: Score,
    entry: dict[str, Any],
    status: int,
    headers: dict[str, str],
    body: Any,
    *,
    names: Names,
    base_url: str,
    time_scale: float,
) -> None:
    step = entry["step"]
    score.check("status", status == entry["status"], f"{step}: status {status}, Azure {entry['status']}")
    lowered = {k.lower(): v for k, v in headers.items()}
    for header in LRO_HEADERS:
        recorded = entry["headers"].get(header)
        ours = lowered.get(header.lower())
        if recorded is None:
            score.check("lro", ours is None, f"{step}: {header} sent ({ours}); Azure sends none")
            continue
        if ours is None:
            score.check("lro", False, f"{step}: {header} missing (Azure: {recorded})")
            continue
        score.check(
            "lro",
            _header_agrees(
                header,
                recorded,
                ours,
                names,
                base_url,
                time_scale,
                deployment_write=entry["method"] == "PUT" and "/deployments/" in entry["uri"],
            ),
            f"{step}: {header} {ours!r}, Azure {recorded!r}",
        )
    if "final_state" in entry:
        if "final_path" in entry:  # e.g. an ACR run's properties.status
            state = body
            for part in entry["final_path"].split("."):
                state = (state or {}).get(part)
        elif "status" in entry["body"]:
            state = body.get("status")
        else:
            state = (body.get("properties") or {}).get("provisioningState")
        score.check(
            "final", state == entry["final_state"], f"{step}: final state {state}, Azure {entry['final_state']}"
        )
    if entry["body"] is None:
        return
    ours_paths = dict(key_paths(body))
    for path, kind in key_paths(entry["body"]):
        if path.startswith(("tags.", "properties.flavors.")):
            continue  # free-form content of the request (tags) or of the model's own files (MLflow flavors)
        got = ours_paths.get(path)
        ok = got is not None and (kind == "null" or got in (kind, "null"))
        score.check("keys", ok, f"{step}: {path} ({kind}) -> {got or 'missing'}")


def _header_agrees(
    header: str, recorded: str, ours: str, names: Names, base_url: str, time_scale: float, *, deployment_write: bool
) -> bool:
    if header == "x-ms-async-operation-timeout":
        # Azure's duration in the sandbox's time; a deployment's create or update also covers R's real start-up,
        # which the sandbox never scales (a documented difference, docs/sandbox-fidelity.md).
        from rdeploy_tui.sandbox.hosting import READY_TIMEOUT_S

        azure, mine = duration_s(recorded), duration_s(ours)
        real_start = READY_TIMEOUT_S if deployment_write else 0.0
        return azure is not None and mine is not None and abs(mine - azure * time_scale - real_start) < 0.01
    if header == "Retry-After":
        return ours.isdigit()
    mine = urlsplit(ours)
    theirs = urlsplit(names.map(recorded))
    if f"{mine.scheme}://{mine.netloc}" != base_url:
        return False
    if "/operationResults/" in theirs.path:  # ARM's operation results (ACR): the same kind, the sandbox's own id
        return "/operationResults/" in mine.path and (
            mine.path.split("/locations/")[0].lower() == theirs.path.split("/locations/")[0].lower()
        )
    if "/mfeOperation" in theirs.path:  # operation URLs: the same kind (status or result), the sandbox's own id
        kind = theirs.path.split("/mfeOperation")[1].split("/")[0]
        return (
            f"/mfeOperation{kind}/" in mine.path
            and mine.path.split("/locations/")[0] == theirs.path.split("/locations/")[0]
        )
    return mine.path.lower() == theirs.path.lower()


def poll_until(
    fetch: Callable[[], tuple[int, dict[str, str], Any]], done: Callable[[Any], bool], timeout: float
) -> tuple[int, dict[str, str], Any]:
    """Fetch until `done(body)`; the deadline is a bound for a hung sandbox, not the synchronisation."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if done(answer[2]) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)
