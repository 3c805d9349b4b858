"""DeploySpec: every setting of one deployment, loaded from and saved to YAML (rdeploy.yaml).

Loading never raises on bad content: structural problems (unknown keys, wrong types) come back as
Problems next to whatever could be read, so the CLI and the forms can show every message at once.
Value rules (names, packages, SKUs ...) live in rules.py.
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

SPEC_FILENAME = "rdeploy.yaml"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (dotted path), what, and how bad."""

    field: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        return f"{prefix}{self.field}: {self.message}"


class SpecError(Exception):
    """A spec that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class WorkspaceRef:
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "rg-ml"
    name: str = "ws-ml"


@dataclass
class ModelRef:
    name: str = "forecast-model"
    version: str = "latest"  # "latest" or a registered version


@dataclass
class ImageSpec:
    repository: str = "r-forecast"
    tag: str = "auto"  # "auto": a content hash of docker-context
    base: str = "rstudio/plumber:latest"
    r_packages: list[str] = field(default_factory=list)


@dataclass
class Routes:
    live: str = "/live"
    ready: str = "/ready"
    score: str = "/score"


@dataclass
class ScoringSpec:
    script: str | None = None  # None: generate src/plumber.R; a path: the user's own file
    port: int = 8000
    routes: Routes = field(default_factory=Routes)
    sample_request: Any = field(default_factory=lambda: {"forecast_horizon": [2]})


@dataclass
class EndpointSpec:
    name: str = "r-endpoint-forecast"
    auth_mode: str = "aml_token"  # aml_token | key | aad_token


@dataclass
class ProbeSpec:
    # Azure's own defaults; R start-up plus crate load usually fits inside them.
    initial_delay: int = 10
    period: int = 10
    timeout: int = 2
    failure_threshold: int = 30


@dataclass
class DeploymentSpec:
    name: str = "blue"
    instance_type: str = "Standard_DS3_v2"
    instance_count: int = 1
    traffic: int = 100
    request_timeout_ms: int = 5000
    probes: ProbeSpec = field(default_factory=ProbeSpec)


@dataclass
class DeploySpec:
    workspace: WorkspaceRef = field(default_factory=WorkspaceRef)
    model: ModelRef = field(default_factory=ModelRef)
    image: ImageSpec = field(default_factory=ImageSpec)
    scoring: ScoringSpec = field(default_factory=ScoringSpec)
    endpoint: EndpointSpec = field(default_factory=EndpointSpec)
    deployment: DeploymentSpec = field(default_factory=DeploymentSpec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        header = "# rdeploy-tui deploy spec: `rdeploy-tui validate --spec rdeploy.yaml` checks it.\n"
        return header + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=False)

    def copy(self) -> "DeploySpec":
        return copy.deepcopy(self)

    @classmethod
    def from_dict(cls, data: Any) -> tuple["DeploySpec", list[Problem]]:
        problems: list[Problem] = []
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return cls(), [Problem("spec", f"must be a mapping of sections, got {_kind(data)}")]
        spec = _build(cls, data, "", problems)
        return spec, problems


def default_spec() -> DeploySpec:
    return DeploySpec()


def load_spec(path: Path) -> tuple[DeploySpec | None, list[Problem]]:
    """Read a spec file. Returns (spec or None when unreadable, problems found while reading)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem("spec", f"file not found: {path}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("spec", f"cannot read {path}: {exc}")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return None, [Problem("spec", f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}")]
    return DeploySpec.from_dict(data)


def save_spec(spec: DeploySpec, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(spec.to_yaml(), encoding="utf-8")
    tmp.replace(path)


# --- structural loading -------------------------------------------------------------------------

_SCALAR_TYPES = {"str": str, "int": int}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__} ({value!r})"


def _build(cls: type, data: dict[str, Any], prefix: str, problems: list[Problem]) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            where = prefix.rstrip(".") or "spec"
            problems.append(
                Problem(f"{prefix}{key}", f"unknown key in {where}; allowed keys: {', '.join(known)}")
            )
    instance = cls()
    for name, f in known.items():
        if name not in data:
            continue
        path = f"{prefix}{name}"
        default = getattr(instance, name)
        value = _coerce(data[name], default, f.type, path, problems)
        setattr(instance, name, value)
    return instance


def _coerce(value: Any, default: Any, type_name: Any, path: str, problems: list[Problem]) -> Any:
    if is_dataclass(default):
        if value is None:
            return default
        if not isinstance(value, dict):
            problems.append(Problem(path, f"must be a mapping, got {_kind(value)}"))
            return default
        return _build(type(default), value, path + ".", problems)
    type_name = str(type_name)
    if path == "scoring.sample_request":
        return _coerce_sample_request(value, default, path, problems)
    if type_name.startswith("list"):
        if value is None:
            return []
        if not isinstance(value, list):
            problems.append(Problem(path, f"must be a list of names, got {_kind(value)}"))
            return default
        items = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                items.append(item)
            else:
                problems.append(Problem(f"{path}[{i}]", f"must be text, got {_kind(item)}"))
        return items
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(Problem(path, f"must be a whole number, got {_kind(value)}"))
            return default
        return value
    if type_name == "str | None" and value is None:
        return None
    # Text fields: YAML turns `version: 3` or `tag: 1.0` into numbers; those mean their text.
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        problems.append(Problem(path, f"must be text, got {_kind(value)}"))
        return default
    return value if isinstance(value, str) else str(value)


def _coerce_sample_request(value: Any, default: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, f"is text that is not valid JSON ({exc.msg} at character {exc.pos})"))
            return default
    return value
