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
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml

from rdeploy_tui.spec import SPEC_FILENAME  # noqa: F401 - re-exported: where the spec is looked for
from rdeploy_tui.spec.model_files import CRATE_FILENAME

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from rdeploy_tui.bounded_read import FileKind

SCHEMA_VERSION = 1
DEFAULT_PACKAGE_SNAPSHOT = "2026-11-02"  # a spec without the key keeps building with the packages of this date


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


NIL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # the nil GUID: never a subscription's id


@dataclass
class WorkspaceRef:
    # The placeholders `init` writes: no Azure workspace is named so (is_placeholder).
    subscription_id: str = NIL_SUBSCRIPTION
    resource_group: str = "rg-ml"
    name: str = "ws-ml"

    def is_placeholder(self) -> bool:
        """Still `init`'s placeholder workspace: all three names as written, or the nil GUID as the subscription (a
        subscription id is never the nil GUID), so it has yet to be filled in before anything is sent to Azure."""
        return self == WorkspaceRef() or self.subscription_id == NIL_SUBSCRIPTION


@dataclass
class ModelRef:
    name: str = "forecast-model"
    version: str = "latest"  # "latest" or a registered version
    kind: str = "crate"  # one of model_files.MODEL_KINDS, read from the model's files with R
    file: str = CRATE_FILENAME  # the model file, relative to the registered folder (vetiver: the pin's .rds)


@dataclass
class ImageSpec:
    repository: str = "r-forecast"
    tag: str = "auto"  # "auto": a content hash of docker-context
    # A version tag, not `latest` (init resolves it; spec/base_images.py says what each tag holds).
    base: str = "rstudio/plumber:v1.3.0"
    r_packages: list[str] = field(default_factory=list)
    # Packages install from Posit Package Manager's binary repository as it was on this date (YYYY-MM-DD), so the
    # same spec builds the same packages later; "none" keeps the base image's own repository. `init --refresh` moves it.
    package_snapshot: str = DEFAULT_PACKAGE_SNAPSHOT


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
    sample_request: object = field(default_factory=lambda: {"forecast_horizon": [2]})  # the JSON body scored


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
class ScaleRuleSpec:
    """One scale rule of deployment.autoscale, in the terms of Microsoft's "Autoscale online endpoints" how-to."""

    metric: str = (
        "cpu"  # cpu: the deployment's CpuUtilizationPercentage (%); latency: the endpoint's RequestLatency (ms)
    )
    threshold: float = 20.0  # scale out above it, scale in below it (the average over `minutes`)
    minutes: int = 5  # the time window the average is taken over (Azure: 5 minutes to 12 hours)
    change: int = 1  # instances added or removed each time
    cooldown_minutes: int = 5  # no further scaling for this long after a scale action (Azure: 1 minute to 1 week)


@dataclass
class ScheduleSpec:
    """A fixed instance count at set hours of set days (the how-to's weekend profile), e.g. nights or weekends."""

    days: list[str] = field(default_factory=lambda: ["Saturday", "Sunday"])
    start: str = "00:00"  # HH:MM in time_zone
    end: str = "23:59"
    time_zone: str = "UTC"  # a Windows time zone name, as Azure's autoscale takes it
    instances: int = 1


@dataclass
class AutoscaleSpec:
    """deployment.autoscale: an Azure Monitor autoscale setting on the deployment (applied by deploy)."""

    min: int = 1
    max: int = 3
    default: int = 1  # what Azure scales to when it cannot read the metrics (and the current count is lower)
    # The how-to scales out above 70 % CPU, which assumes a server using every core; plumber uses one, so an instance
    # of the default Standard_DS3_v2 (4 vCPU) rarely passes 25 % (rules.cpu_ceiling_warning): 20 % out, 5 % in.
    scale_out: ScaleRuleSpec = field(default_factory=ScaleRuleSpec)
    # Azure skips a scale-in that would trigger a scale-out at once (flapping): rules.scale_in_flaps checks the margin.
    scale_in: ScaleRuleSpec = field(default_factory=lambda: ScaleRuleSpec(threshold=5.0, minutes=10))
    schedule: ScheduleSpec | None = None


@dataclass
class DeploymentSpec:
    name: str = "blue"
    instance_type: str = "Standard_DS3_v2"
    instance_count: int = 1
    traffic: int = 100
    request_timeout_ms: int = 5000
    probes: ProbeSpec = field(default_factory=ProbeSpec)
    expires_after: str | None = None  # e.g. "8h", "2d": an expiry tag on the endpoint (`endpoints sweep` deletes it)
    autoscale: AutoscaleSpec | None = None  # None: a fixed instance_count


@dataclass
class RolloutSpec:
    """How `rdeploy-tui rollout` shifts traffic to a new deployment, and when it rolls back (pipeline/rollout.py)."""

    steps: list[int] = field(default_factory=lambda: [10, 50, 100])  # the new deployment's share at each stage
    hold_seconds: int = 60  # how long each stage is watched before the next
    requests_per_stage: int = 20  # requests sent to each deployment per comparison round
    mirror_percent: int = 0  # copies of live traffic sent to the new deployment before any shift (Azure: at most 50)
    mirror_seconds: int = 0
    requests_file: str | None = None  # JSON list of request bodies; None: the sample request
    max_error_rate: float = 0.02  # share of the new deployment's requests that may fail
    max_p50_ratio: float = 1.5  # new p50 latency / old p50 latency
    max_p95_ratio: float = 2.0
    latency_slack_ms: int = 50  # latency differences below this never count (noise on fast models and busy networks)
    answer_tolerance: float = 1e-6  # relative difference allowed between numbers in the two answers
    max_answer_mismatch: float = 0.0  # share of requests whose answers may differ beyond the tolerance


@dataclass
class DeploySpec:
    workspace: WorkspaceRef = field(default_factory=WorkspaceRef)
    model: ModelRef = field(default_factory=ModelRef)
    image: ImageSpec = field(default_factory=ImageSpec)
    scoring: ScoringSpec = field(default_factory=ScoringSpec)
    endpoint: EndpointSpec = field(default_factory=EndpointSpec)
    deployment: DeploymentSpec = field(default_factory=DeploymentSpec)
    rollout: RolloutSpec = field(default_factory=RolloutSpec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        header = "# rdeploy-tui deploy spec: `rdeploy-tui validate --spec rdeploy.yaml` checks it.\n"
        return header + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=False)

    def copy(self) -> DeploySpec:
        return copy.deepcopy(self)

    @classmethod
    def from_dict(cls, data: object) -> tuple[DeploySpec, list[Problem]]:
        problems: list[Problem] = []
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return cls(), [Problem("spec", f"must be a mapping of sections, got {_kind(data)}")]
        spec = _build(cls, data, "", problems)
        return spec, problems


def default_spec() -> DeploySpec:
    return DeploySpec()


def load_spec(path: Path, kind: FileKind | None = None) -> tuple[DeploySpec | None, list[Problem]]:
    """Read a spec file (bounded: rdeploy_tui/bounded_read.py). Returns (spec or None when unreadable, problems
    found while reading); a number too long to read is a problem at its field, like any other wrong value."""
    from rdeploy_tui import bounded_read

    try:
        data = bounded_read.read_yaml(Path(path), kind or bounded_read.SPEC)
    except FileNotFoundError:
        return None, [Problem("spec", f"file not found: {path}")]
    except bounded_read.FileRefused as exc:
        content = exc.content
        if content is not None and content.field:  # the file is fine but for one value: say it at that field
            where = f" (line {content.line})" if content.line else ""
            return None, [Problem(content.field, content.problem + where)]
        return None, [Problem("spec", exc.what)]
    if data is None:  # empty, or comments only: "all defaults" would deploy something nobody wrote down
        return None, [
            Problem(
                "spec",
                f"{path} is empty; fill it in, or delete it and run `rdeploy-tui init --out DIR` "
                "to write one with the defaults",
            )
        ]
    return DeploySpec.from_dict(data)


def save_spec(spec: DeploySpec, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(spec.to_yaml(), encoding="utf-8")
    tmp.replace(path)


# --- structural loading -------------------------------------------------------------------------

_Section = TypeVar("_Section", bound="DataclassInstance")  # a section: DeploySpec, ModelRef, ...


def _kind(value: object) -> str:
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


def _build(cls: type[_Section], data: dict[str, object], prefix: str, problems: list[Problem]) -> _Section:
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            where = prefix.rstrip(".") or "spec"
            from rdeploy_tui.bounded_read import shown  # keys come from the file: quoted, escaped, truncated

            problems.append(
                Problem(f"{prefix}{shown(key)}", f"unknown key in {where}; allowed keys: {', '.join(known)}")
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


# Sections that are absent (None) unless the file has them.
_OPTIONAL_SECTIONS: dict[str, type[DataclassInstance]] = {
    "AutoscaleSpec | None": AutoscaleSpec,
    "ScheduleSpec | None": ScheduleSpec,
}


def _coerce(value: object, default: object, type_name: object, path: str, problems: list[Problem]) -> object:
    section = _OPTIONAL_SECTIONS.get(str(type_name))
    if section is not None:
        if value is None:
            return None
        if not isinstance(value, dict):
            problems.append(Problem(path, f"must be a mapping (or null for none), got {_kind(value)}"))
            return None
        return _build(section, value, path + ".", problems)
    if is_dataclass(default) and not isinstance(default, type):  # a section, given by its default
        if value is None:
            return default
        if not isinstance(value, dict):
            problems.append(Problem(path, f"must be a mapping, got {_kind(value)}"))
            return default
        return _build(type(default), value, path + ".", problems)
    type_name = str(type_name)
    if path == "scoring.sample_request":
        return _coerce_sample_request(value, default, path, problems)
    if path == "rollout.steps":
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            problems.append(
                Problem(path, f"must be a list of whole percentages, e.g. [10, 50, 100]; got {_kind(value)}")
            )
            return default
        return list(value)
    if type_name == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(Problem(path, f"must be a number, got {_kind(value)}"))
            return default
        return float(value)
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


def _coerce_sample_request(value: object, default: object, path: str, problems: list[Problem]) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, f"is text that is not valid JSON ({exc.msg} at character {exc.pos})"))
            return default
    return value
