"""Validation rules for a DeploySpec: pure, fast, no Azure and no Textual.

Each `check_*` takes one value and returns a message (str) when it is wrong, else None, so a form
can validate a single field as it is typed. `validate(spec)` runs them all and returns Problems.
Messages name the offending value and say what is allowed. Values that could break out of the
files they are written into (quotes, `$(...)`, backticks, newlines, `;`, non-ASCII look-alikes)
never match the allow-lists below: they are refused, never escaped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

from rdeploy_tui.spec import autoscale, base_images, package_names
from rdeploy_tui.spec.azure_metrics import SCALE_METRICS
from rdeploy_tui.spec.deploy_spec import (
    AutoscaleSpec,
    DeploymentSpec,
    DeploySpec,
    ProbeSpec,
    Problem,
    RolloutSpec,
    Routes,
    ScheduleSpec,
)
from rdeploy_tui.spec.durations import parse_duration
from rdeploy_tui.spec.model_files import MODEL_KINDS
from rdeploy_tui.spec.vm_sizes import VM_SIZES, VmSize, close_matches

MAX_TEXT = 256  # no legitimate value in a spec is longer; caps what reaches a message too


# CPU and GPU sizes that managed online endpoints accept: one table, shared with the sandbox (vm_sizes.py cites it).
INSTANCE_TYPES: dict[str, VmSize] = VM_SIZES
# The SDK itself warns on these (azure.ai.ml.constants._deployment.SmallSKUs).
SMALL_INSTANCE_TYPES = {"standard_ds1_v2", "standard_ds2_v2"}

AUTH_MODES = ("aml_token", "key", "aad_token")
MAX_INSTANCES = 50

# Packages that ship with R itself: installing them from CRAN fails, so they are refused with a hint.
BASE_R_PACKAGES = {
    "base",
    "compiler",
    "datasets",
    "graphics",
    "grDevices",
    "grid",
    "methods",
    "parallel",
    "splines",
    "stats",
    "stats4",
    "tcltk",
    "tools",
    "utils",
}

_ENDPOINT_NAME = re.compile(r"[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?")
_R_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]")
_REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Docker image reference: [registry[:port]/]path[:tag][@sha256:digest]
_BASE_IMAGE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)
_SUBSCRIPTION = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]", re.ASCII)
_WORKSPACE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}")
_MODEL_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}")
_MODEL_VERSION = re.compile(r"latest|[0-9]{1,9}|[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A relative path below the model folder: the generated plumber.R writes it into an R string.
_MODEL_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*")
_ROUTE = re.compile(r"/[A-Za-z0-9._~/-]{0,254}")
_REQUEST_KEY = re.compile(r"[A-Za-z.][A-Za-z0-9._]*")
_SCRIPT_PATH = re.compile(r"[A-Za-z0-9_./ -]{1,250}\.[Rr]")


def show(value: object) -> str:
    """A value as it may appear in a message: repr'd (so control characters are visible) and capped."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _text(value: object, what: str) -> str | None:
    """Common refusals for any text field: not text, empty, too long, not ASCII. Callers write
    `if (err := _text(value, what)) or not isinstance(value, str)`: the second test never decides, it tells the type
    checker that `value` is text from there on."""
    if not isinstance(value, str):
        return f"{what} must be text, got {show(value)}"
    if not value:
        return f"{what} is empty"
    if len(value) > MAX_TEXT:
        return f"{what} is {len(value):,} characters long; at most {MAX_TEXT} are allowed"
    if not value.isascii():
        odd = next(ch for ch in value if not ch.isascii())
        return f"{what} {show(value)} contains the non-ASCII character {odd!r} (U+{ord(odd):04X}); use plain ASCII"
    return None


def _matches(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


def check_endpoint_name(value: object, what: str = "endpoint name") -> str | None:
    if (err := _text(value, what)) or not isinstance(value, str):
        return err
    if not 3 <= len(value) <= 32 or not _matches(_ENDPOINT_NAME, value):
        return (
            f"{what} {show(value)} is not allowed: use 3-32 characters, letters, digits and '-', "
            "starting with a letter and ending with a letter or digit"
        )
    return None


def check_deployment_name(value: object) -> str | None:
    return check_endpoint_name(value, "deployment name")


def check_r_package(value: object) -> str | None:
    if (err := _text(value, "R package name")) or not isinstance(value, str):
        return err
    if value in BASE_R_PACKAGES:
        return (
            f"R package {show(value)} ships with R itself; remove it from the list (it cannot be installed from CRAN)"
        )
    if len(value) < 2 or not _matches(_R_PACKAGE, value):
        return (
            f"R package name {show(value)} is not valid: use ASCII letters, digits and '.', at least two "
            "characters, starting with a letter and not ending with '.'"
        )
    return None


def check_r_packages(values: object) -> list[tuple[int | None, str]]:
    """Problems of a package list as (index or None, message); duplicates are refused."""
    if not isinstance(values, list):
        return [(None, f"must be a list of R package names, got {show(values)}")]
    found: list[tuple[int | None, str]] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(values):
        if err := check_r_package(name):
            found.append((i, err))
            continue
        # CRAN names are unique regardless of case, so 'Forecast' duplicates 'forecast'.
        key = name.lower()
        if key in seen:
            found.append((i, f"R package {show(name)} is listed twice (first at position {seen[key] + 1})"))
        else:
            seen[key] = i
    return found


def check_repository(value: object) -> str | None:
    if (err := _text(value, "image repository")) or not isinstance(value, str):
        return err
    if not _matches(_REPOSITORY, value):
        return (
            f"image repository {show(value)} is not allowed: use lowercase letters, digits and '.', '_', '-', '/' "
            "as separators, starting and ending with a letter or digit"
        )
    return None


def check_tag(value: object) -> str | None:
    if (err := _text(value, "image tag")) or not isinstance(value, str):
        return err
    if value != "auto" and not _matches(_TAG, value):
        return (
            f"image tag {show(value)} is not allowed: use 'auto' or 1-128 letters, digits, '_', '.', '-', "
            "not starting with '.' or '-'"
        )
    return None


def check_base_image(value: object) -> str | None:
    if (err := _text(value, "base image")) or not isinstance(value, str):
        return err
    if not _matches(_BASE_IMAGE, value):
        return f"base image {show(value)} is not a Docker image reference like rstudio/plumber:latest"
    return None


def check_package_snapshot(value: object) -> str | None:
    if (err := _text(value, "package snapshot")) or not isinstance(value, str):
        return err
    if value != "none" and not base_images.is_snapshot_date(value):
        return (
            f"package snapshot {show(value)} is not a date like 2026-11-02 "
            "(or 'none' for the base image's own repository)"
        )
    return None


def base_image_warnings(base: str, snapshot: str) -> list[str]:
    """What the table of known base images says about `image.base` (warnings only: Docker Hub adds tags monthly)."""
    if check_base_image(base):
        return []
    registry, repository, _tag = base_images.split_reference(base)
    if registry != "docker.io":
        return []  # a private registry: nothing known, nothing to say
    image = base_images.lookup(base)
    found: list[str] = []
    if image is None:
        tags = base_images.known_tags(repository)
        known = f"; known tags include {', '.join(tags[-4:])}" if tags else ""
        found.append(
            f"base image {show(base)} is not in rdeploy-tui's table of base images "
            f"(as of {base_images.TABLE_DATE}){known}: "
            "if it does not exist the build fails at its first step"
        )
        return found
    if image.moving and image.pinned_tag and image.pinned_tag != image.tag:
        found.append(
            f"base image {show(base)} moves over time; {image.repository}:{image.pinned_tag} is what it stands for now "
            "(`rdeploy-tui init --refresh` writes it), so the same spec builds the same image later"
        )
    if not image.binary and snapshot != "none":
        found.append(
            f"base image {show(base)} installs R packages from source ({image.repo_url}): builds compile every package"
        )
    return found


def check_subscription_id(value: object) -> str | None:
    if (err := _text(value, "subscription id")) or not isinstance(value, str):
        return err
    if not _matches(_SUBSCRIPTION, value):
        return f"subscription id {show(value)} is not a GUID like 00000000-0000-0000-0000-000000000000"
    return None


def check_resource_group(value: object) -> str | None:
    if (err := _text(value, "resource group")) or not isinstance(value, str):
        return err
    if len(value) > 90 or not _matches(_RESOURCE_GROUP, value):
        return (
            f"resource group {show(value)} is not allowed: 1-90 letters, digits, '_', '-', '.', '(' or ')', "
            "not ending with '.'"
        )
    return None


def check_workspace_name(value: object) -> str | None:
    if (err := _text(value, "workspace name")) or not isinstance(value, str):
        return err
    if not _matches(_WORKSPACE, value):
        return (
            f"workspace name {show(value)} is not allowed: 3-33 letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def check_model_name(value: object) -> str | None:
    if (err := _text(value, "model name")) or not isinstance(value, str):
        return err
    if not _matches(_MODEL_NAME, value):
        return (
            f"model name {show(value)} is not allowed: letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    return None


def check_model_version(value: object) -> str | None:
    if (err := _text(value, "model version")) or not isinstance(value, str):
        return err
    if not _matches(_MODEL_VERSION, value):
        return f"model version {show(value)} is not allowed: use 'latest' or a registered version such as 3"
    return None


def check_model_kind(value: object) -> str | None:
    if value not in MODEL_KINDS:
        return (
            f"model kind {show(value)} is not one rdeploy-tui serves: use {', '.join(MODEL_KINDS)} "
            "(`rdeploy-tui init --model-dir DIR` reads it from the model's files)"
        )
    return None


def check_model_file(value: object) -> str | None:
    """`model.file`: where the model file is inside the registered folder, as a relative path."""
    if (err := _text(value, "model file")) or not isinstance(value, str):
        return err
    if not _matches(_MODEL_FILE, value) or any(part in (".", "..") for part in value.split("/")):
        return (
            f"model file {show(value)} is not allowed: a path inside the model's folder such as crate.bin or "
            "models/model.rds (letters, digits, '_', '.', '+', '-', '/')"
        )
    return None


_INSTANCE_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,63}")


def check_instance_type(value: object) -> str | None:
    """An error only for what cannot be a VM size name; a size missing from the table is a warning (Azure adds
    sizes)."""
    if (err := _text(value, "instance type")) or not isinstance(value, str):
        return err
    if not _matches(_INSTANCE_TYPE, value):
        return f"instance type {show(value)} is not a VM size name such as Standard_DS3_v2 (letters, digits and '_')"
    return None


def instance_type_warning(value: str) -> str | None:
    if not isinstance(value, str) or check_instance_type(value):
        return None
    size = INSTANCE_TYPES.get(value.lower())
    if size is None:
        near = close_matches(value)
        hint = f" (did you mean {', '.join(near)}?)" if near else " such as Standard_DS3_v2 or Standard_F4s_v2"
        return (
            f"instance type {show(value)} is not in Microsoft's list of managed online endpoint sizes{hint}; "
            "Azure adds sizes, so it may still be accepted, but it is refused at deployment if it is not supported"
        )
    if value.lower() in SMALL_INSTANCE_TYPES:
        return (
            f"{size.label} is smaller than Azure recommends for online endpoints; R with its packages may not fit. "
            "Standard_DS3_v2 is the recommended minimum"
        )
    return None


def _int_in(value: object, what: str, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{what} must be a whole number from {low} to {high}, got {show(value)}"
    if not low <= value <= high:
        return f"{what} {value} is out of range: use {low} to {high}"
    return None


def check_instance_count(value: object) -> str | None:
    return _int_in(value, "instance count", 1, MAX_INSTANCES)


def check_traffic(value: object) -> str | None:
    return _int_in(value, "traffic", 0, 100)


def check_port(value: object) -> str | None:
    return _int_in(value, "port", 1, 65535)


def check_auth_mode(value: object) -> str | None:
    if value not in AUTH_MODES:
        return f"auth mode {show(value)} is not allowed: use one of {', '.join(AUTH_MODES)}"
    return None


def check_route(value: object, what: str = "route") -> str | None:
    if (err := _text(value, what)) or not isinstance(value, str):
        return err
    if not _matches(_ROUTE, value) or "//" in value or "/../" in value + "/":
        return f"{what} {show(value)} is not allowed: a path such as /score (letters, digits, '.', '_', '~', '-', '/')"
    return None


def check_routes(routes: Routes) -> list[tuple[str, str]]:
    found = [
        (name, err)
        for name in ("live", "ready", "score")
        if (err := check_route(getattr(routes, name), f"{name} route"))
    ]
    if not found and routes.score in (routes.live, routes.ready):
        found.append(("score", f"score route {show(routes.score)} must differ from the live and ready routes"))
    return found


def check_sample_request(value: object, kind: str = "crate") -> str | None:
    """The body sent to the score route: for a crate, a JSON object whose keys become the crate's named arguments;
    for a fitted or vetiver model, rows (an array of objects) or columns (an object of values or arrays)."""
    if kind != "crate":
        return _check_frame_request(value)
    if not isinstance(value, dict):
        return f'sample request must be a JSON object such as {{"forecast_horizon": [2]}}, got {show(value)}'
    if err := _request_size(value):
        return err
    for key in value:
        if not _matches(_REQUEST_KEY, key) or len(key) > 64:
            return (
                f"sample request field {show(key)} cannot be an R argument name: use letters, digits, '.' and '_', "
                "starting with a letter or '.'"
            )
    return None


def _request_size(value: object) -> str | None:
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"sample request cannot be written as JSON: {exc}"
    if len(encoded) > 1_000_000:
        return f"sample request is {len(encoded):,} bytes as JSON; keep it under 1 MB"
    return None


_FRAME_SHAPE = 'rows such as [{"speed": 10}] or columns such as {"speed": [10, 20]}'


def _plain(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _check_frame_request(value: object) -> str | None:
    """Rows or columns of a data frame, as the generated API reads them for predict()."""
    if isinstance(value, list):
        if not value or not all(isinstance(row, dict) and row for row in value):
            return f"sample request must be {_FRAME_SHAPE}, got {show(value)}"
        for i, row in enumerate(value):
            for key, cell in row.items():
                if not _plain(cell):
                    return f"sample request row {i + 1}: column {show(key)} must hold a plain value, got {show(cell)}"
    elif isinstance(value, dict) and value:
        sizes = set()
        for key, column in value.items():
            cells = column if isinstance(column, list) else [column]
            if not all(_plain(cell) for cell in cells):
                return f"sample request column {show(key)} must hold plain values, got {show(column)}"
            sizes.add(len(cells))
        if len(sizes) > 1:
            return "sample request columns must all have the same number of values"
    else:
        return f"sample request must be {_FRAME_SHAPE}, got {show(value)}"
    return _request_size(value)


def check_script_path(value: object, base_dir: Path | None = None) -> str | None:
    """`scoring.script`: None (generate) or an existing .R file, relative to the spec's folder."""
    if value is None:
        return None
    if (err := _text(value, "scoring script path")) or not isinstance(value, str):
        return err
    if not _matches(_SCRIPT_PATH, value):
        return (
            f"scoring script path {show(value)} is not allowed: a path to an .R file "
            "(letters, digits, '_', '.', '-', '/', spaces)"
        )
    if base_dir is not None:
        path = Path(value) if Path(value).is_absolute() else Path(base_dir) / value
        if not path.exists():
            return f"scoring script {show(value)} does not exist (looked for {path})"
        if not path.is_file():
            return f"scoring script {show(value)} is not a regular file ({path}); give the path of your plumber .R file"
    return None


def outside_folder_warning(value: object, base_dir: Path | None, what: str) -> str | None:
    """A relative path that leaves the spec's folder (../, or a symlink): said with where it resolves, since a
    copied or shared spec then reads a file nobody sees beside it. An absolute path is plainly meant."""
    if not isinstance(value, str) or not value or base_dir is None or Path(value).is_absolute():
        return None
    folder = Path(base_dir).resolve()
    resolved = (folder / value).resolve()
    if resolved == folder or folder in resolved.parents:
        return None
    return f"{what} {show(value)} resolves to {resolved}, outside the spec's folder {folder} (fine if you mean it)"


def check_requests_file(value: object, base_dir: Path | None = None, kind: str = "crate") -> str | None:
    """`rollout.requests_file`: None (the sample request) or a readable JSON file of request bodies."""
    if value is None:
        return None
    if (err := _text(value, "requests file path")) or not isinstance(value, str):
        return err
    if base_dir is None:
        return None
    from rdeploy_tui.errors import RdeployError
    from rdeploy_tui.spec.requests_file import read_requests_file, requests_file_path

    try:
        read_requests_file(requests_file_path(value, base_dir), lambda body: check_sample_request(body, kind))
    except RdeployError as exc:
        return exc.what[:1].lower() + exc.what[1:].rstrip(".")
    return None


def _probe_problems(probes: ProbeSpec) -> list[Problem]:
    limits = {"initial_delay": (0, 3600), "period": (1, 3600), "timeout": (1, 3600), "failure_threshold": (1, 1000)}
    return [
        Problem(f"deployment.probes.{name}", err)
        for name, (low, high) in limits.items()
        if (err := _int_in(getattr(probes, name), f"probe {name.replace('_', ' ')}", low, high))
    ]


def check_expires_after(value: object) -> str | None:
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds is None:
        return f"{show(value)} is not a duration: use a number and m, h, d or w, e.g. 8h or 2d (0h: no expiry)"
    if seconds > 365 * 86400:
        return "expiry is at most a year away (52w)"
    return None


# ----- deployment.autoscale (spec/autoscale.py says how it becomes Azure's autoscale setting) -----------------------
def check_autoscale_count(value: object, what: str = "instance count") -> str | None:
    """min, max, default and a schedule's count: 1 to 50 (a managed deployment runs at least one instance; 50 is
    Azure's limit per deployment, learn.microsoft.com/azure/machine-learning/how-to-manage-quotas)."""
    return _int_in(value, what, 1, MAX_INSTANCES)


def check_scale_minutes(value: object) -> str | None:
    """A rule's time window: 5 minutes to 12 hours (REST spec MetricTrigger.timeWindow)."""
    return _int_in(value, "time window (minutes)", autoscale.MIN_WINDOW_MINUTES, autoscale.MAX_WINDOW_MINUTES)


def check_cooldown_minutes(value: object) -> str | None:
    """1 minute to 1 week (REST spec ScaleAction.cooldown)."""
    return _int_in(value, "cooldown (minutes)", autoscale.MIN_COOLDOWN_MINUTES, autoscale.MAX_COOLDOWN_MINUTES)


def check_scale_change(value: object) -> str | None:
    """Instances added or removed per action: 1 or more (REST spec ScaleAction.value), at most the 50 allowed."""
    return _int_in(value, "instances per scale action", 1, MAX_INSTANCES)


def check_scale_metric(value: object) -> str | None:
    if value not in SCALE_METRICS:
        return f"scale metric {show(value)} is not allowed: use {' or '.join(SCALE_METRICS)}"
    return None


def check_threshold(metric: str, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"threshold must be a number, got {show(value)}"
    if metric == "cpu" and not 0 < value < 100:
        return f"CPU threshold {value:g} is out of range: use a percentage above 0 and below 100"
    if metric == "latency" and not 0 < value <= 180_000:
        return (
            f"latency threshold {value:g} is out of range: use milliseconds above 0, at most 180000 "
            "(the longest request timeout)"
        )
    return None


def scale_in_flaps(auto: AutoscaleSpec) -> str | None:
    """Why the scale-in rule would trigger the scale-out rule at once, or None.

    Azure's "Autoscale flapping" (learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-flapping): before a
    scale-in the engine estimates the metric on fewer instances, and when that crosses the scale-out threshold it
    skips the scale-in ("Flapping" in the activity log); its cure is an adequate margin between the thresholds. For
    an average per instance (CPU), removing instances raises each one's share by n/(n - change): the scale-in
    threshold times the largest such factor between min and max must stay below the scale-out threshold. A latency
    does not move with 1/n in a known way, so for it only the order of the thresholds is checked."""
    out, into = auto.scale_out, auto.scale_in
    if (
        out.metric != into.metric
        or check_threshold(out.metric, out.threshold)
        or check_threshold(into.metric, into.threshold)
    ):
        return None
    if into.threshold >= out.threshold:
        return (
            f"the scale-in threshold ({into.threshold:g}) must be below the scale-out threshold ({out.threshold:g}); "
            "with no margin every scale action triggers the opposite one (Azure calls it flapping)"
        )
    if out.metric != "cpu" or not all(isinstance(v, int) and v >= 1 for v in (auto.min, auto.max, into.change)):
        return None
    worst = None
    for n in range(auto.min + 1, auto.max + 1):
        fewer = max(auto.min, n - into.change)
        if worst is None or n / fewer > worst[0] / worst[1]:
            worst = (n, fewer)
    if worst is None:
        return None
    n, fewer = worst
    estimate = into.threshold * n / fewer
    if estimate < out.threshold:
        return None
    return (
        f"a scale-in from {n} to {fewer} instance{'s' if fewer != 1 else ''} puts {n / fewer:.2g}x the load on each: "
        f"{into.threshold:g} % CPU becomes {estimate:.0f} %, not below the scale-out threshold {out.threshold:g} %, so "
        "Azure would skip the scale-in to avoid flapping; "
        f"use a scale-in threshold below {out.threshold * fewer / n:.0f} %"
    )


def cpu_ceiling_warning(auto: AutoscaleSpec, instance_type: object) -> str | None:
    """plumber answers one request at a time on one R process (r-facts): an instance with v vCPUs rarely goes past
    100/v % CPU (more only when the model itself runs threads), so a higher CPU scale-out threshold never fires."""
    size = INSTANCE_TYPES.get(instance_type.lower()) if isinstance(instance_type, str) else None
    rule = auto.scale_out
    if size is None or size.vcpus < 2 or rule.metric != "cpu" or check_threshold("cpu", rule.threshold):
        return None
    ceiling = 100 / size.vcpus
    if rule.threshold < ceiling:
        return None
    return (
        f"plumber serves one request at a time on one core, so on {size.name} ({size.vcpus} vCPU) an instance rarely "
        f"uses more than {ceiling:.0f} % CPU: a scale-out above {rule.threshold:g} % may never fire. Use a threshold "
        f"below {ceiling:.0f} %, scale on latency, or a smaller VM size"
    )


# Azure ML holds 20 % more quota than a deployment's cores for its upgrades, except for the sizes the SKU list marks
# "Skip 20% Reservation" (vm_sizes.py).
QUOTA_HEADROOM = 1.2


def quota_warning(instance_type: str, maximum: int, current: int, used: int, limit: int) -> str | None:
    """Whether autoscale's maximum fits in the VM family's quota: the deployment holds `current` instances (counted in
    `used`); at `maximum` it holds vcpus x maximum (+20 %). A scale-out beyond what fits fails (OutOfQuota): a warning,
    since the quota can be raised. None when it fits or the size is unknown."""
    size = INSTANCE_TYPES.get(instance_type.lower()) if isinstance(instance_type, str) else None
    if size is None or limit < 0:  # -1: no limit
        return None
    factor = 1.0 if size.skip_reservation else QUOTA_HEADROOM

    def more(count: int) -> int:
        return max(0, math.ceil(round(size.vcpus * count * factor, 6)) - size.vcpus * current)

    free = limit - used
    if more(maximum) <= free:
        return None
    fits = max((k for k in range(current, maximum + 1) if more(k) <= free), default=current)
    return (
        f"at its max of {maximum} instances {size.name} needs {more(maximum)} more vCPUs of the "
        f"{size.family} quota (20 % extra included), which has {max(0, free)} of {limit} free: scale-outs past "
        f"{fits} instances will fail (OutOfQuota). Request more quota (Azure ML studio > Quota) or lower max"
    )


def autoscale_problems(d: DeploymentSpec) -> list[Problem]:
    """deployment.autoscale against Azure's limits and its autoscale best practices."""
    auto = d.autoscale
    if auto is None:
        return []
    at = "deployment.autoscale"
    found: list[Problem] = []
    for name in ("min", "max", "default"):
        if err := check_autoscale_count(getattr(auto, name), f"autoscale {name}"):
            found.append(Problem(f"{at}.{name}", err))
    counts_ok = not found
    if counts_ok and not auto.min <= auto.default <= auto.max:
        found.append(Problem(f"{at}.default", f"default {auto.default} must be from min {auto.min} to max {auto.max}"))
    if counts_ok and auto.min > auto.max:
        found.append(Problem(f"{at}.max", f"max {auto.max} is below min {auto.min}"))
    elif counts_ok and auto.min == auto.max:
        # "Ensure the maximum and minimum values are different" (Best practices for autoscale).
        found.append(Problem(f"{at}.max", f"min and max are both {auto.min}: autoscale can never scale", "warning"))
    for side in ("scale_out", "scale_in"):
        r = getattr(auto, side)
        for name, err in (
            ("metric", check_scale_metric(r.metric)),
            ("minutes", check_scale_minutes(r.minutes)),
            ("change", check_scale_change(r.change)),
            ("cooldown_minutes", check_cooldown_minutes(r.cooldown_minutes)),
        ):
            if err:
                found.append(Problem(f"{at}.{side}.{name}", err))
        if r.metric in SCALE_METRICS and (err := check_threshold(r.metric, r.threshold)):
            found.append(Problem(f"{at}.{side}.threshold", err))
    if auto.scale_out.metric != auto.scale_in.metric and not any(p.field.endswith(".metric") for p in found):
        # "When you use a scale-in and scale-out rule, ideally use the same metric to control both" (best practices).
        found.append(
            Problem(
                f"{at}.scale_in.metric",
                "scale out and in on the same metric: on different ones both can hold at once and the count flaps",
                "warning",
            )
        )
    if counts_ok and not any(p.level == "error" for p in found) and (flap := scale_in_flaps(auto)):
        found.append(Problem(f"{at}.scale_in.threshold", flap))
    if warning := cpu_ceiling_warning(auto, d.instance_type):
        found.append(Problem(f"{at}.scale_out.threshold", warning, "warning"))
    if counts_ok and isinstance(d.instance_count, int) and not auto.min <= d.instance_count <= auto.max:
        bound = "min" if d.instance_count < auto.min else "max"
        found.append(
            Problem(
                "deployment.instance_count",
                f"{d.instance_count} is outside autoscale's {auto.min}-{auto.max}: Azure moves it to the {bound} on "
                "its next run (manual counts outside the limits are reset)",
                "warning",
            )
        )
    if auto.schedule is not None:
        found.extend(_schedule_problems(auto.schedule, f"{at}.schedule"))
    return found


def _schedule_problems(s: ScheduleSpec, at: str) -> list[Problem]:
    found = []
    days = s.days if isinstance(s.days, list) else []
    if not days or any(day not in autoscale.DAYS for day in days):
        found.append(
            Problem(f"{at}.days", f"{show(s.days)} must list days such as Saturday, Sunday (English, capitalised)")
        )
    for name in ("start", "end"):
        if autoscale.hh_mm(getattr(s, name)) is None:
            found.append(Problem(f"{at}.{name}", f"{show(getattr(s, name))} is not a time of day like 06:00"))
    if s.time_zone not in autoscale.TIME_ZONES:
        found.append(
            Problem(
                f"{at}.time_zone",
                f"{show(s.time_zone)} is not a time zone Azure's autoscale knows, e.g. UTC or W. Europe Standard Time",
            )
        )
    if err := check_autoscale_count(s.instances, "schedule instances"):
        found.append(Problem(f"{at}.instances", err))
    if not found and s.start == s.end:
        found.append(Problem(f"{at}.end", "the schedule ends when it starts"))
    return found


def _rollout_problems(r: RolloutSpec) -> list[Problem]:
    problems: list[Problem] = []
    steps = list(r.steps or [])
    if not steps or any(not 1 <= s <= 100 for s in steps) or steps != sorted(set(steps)) or steps[-1] != 100:
        problems.append(
            Problem(
                "rollout.steps", f"{steps} must be rising percentages from 1 to 100 ending at 100, e.g. [10, 50, 100]"
            )
        )
    for name, low, high in (
        ("hold_seconds", 0, 86400),
        ("requests_per_stage", 1, 500),
        ("mirror_seconds", 0, 86400),
        ("latency_slack_ms", 0, 60_000),
    ):
        if err := _int_in(getattr(r, name), name.replace("_", " "), low, high):
            problems.append(Problem(f"rollout.{name}", err))
    # Azure mirrors at most 50 % of live traffic
    # (learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints)
    if err := _int_in(r.mirror_percent, "mirror percent", 0, 50):
        problems.append(Problem("rollout.mirror_percent", err + " (Azure mirrors at most 50 %)"))
    for name in ("max_error_rate", "max_answer_mismatch"):
        if not 0 <= getattr(r, name) <= 1:
            problems.append(Problem(f"rollout.{name}", "must be a share from 0 to 1, e.g. 0.02 for 2 %"))
    for name in ("max_p50_ratio", "max_p95_ratio"):
        if getattr(r, name) < 1:
            problems.append(
                Problem(f"rollout.{name}", "must be 1 or more (1.5: the new deployment may be 50 % slower)")
            )
    if r.answer_tolerance < 0:
        problems.append(Problem("rollout.answer_tolerance", "must be 0 or more"))
    return problems


def validate(spec: DeploySpec, base_dir: Path | None = None) -> list[Problem]:
    """Every problem of a spec, errors and warnings, in file order."""
    problems: list[Problem] = []

    def check(field: str, fn: Callable[[object], str | None], value: object) -> None:
        if err := fn(value):
            problems.append(Problem(field, err))

    check("workspace.subscription_id", check_subscription_id, spec.workspace.subscription_id)
    check("workspace.resource_group", check_resource_group, spec.workspace.resource_group)
    check("workspace.name", check_workspace_name, spec.workspace.name)
    check("model.name", check_model_name, spec.model.name)
    check("model.version", check_model_version, spec.model.version)
    check("model.kind", check_model_kind, spec.model.kind)
    check("model.file", check_model_file, spec.model.file)
    check("image.repository", check_repository, spec.image.repository)
    check("image.tag", check_tag, spec.image.tag)
    check("image.base", check_base_image, spec.image.base)
    problems.extend(
        Problem("image.base", w, "warning") for w in base_image_warnings(spec.image.base, spec.image.package_snapshot)
    )
    check("image.package_snapshot", check_package_snapshot, spec.image.package_snapshot)
    bad_packages = set()
    for index, message in check_r_packages(spec.image.r_packages):
        problems.append(Problem("image.r_packages" + (f"[{index}]" if index is not None else ""), message))
        bad_packages.add(index)
    if isinstance(spec.image.r_packages, list):
        for index, name in enumerate(spec.image.r_packages):
            if index not in bad_packages and (warning := package_names.offline_warning(name)):
                problems.append(Problem(f"image.r_packages[{index}]", warning, "warning"))
    if err := check_script_path(spec.scoring.script, base_dir):
        problems.append(Problem("scoring.script", err))
    elif warning := outside_folder_warning(spec.scoring.script, base_dir, "scoring script"):
        problems.append(Problem("scoring.script", warning, "warning"))
    check("scoring.port", check_port, spec.scoring.port)
    for name, message in check_routes(spec.scoring.routes):
        problems.append(Problem(f"scoring.routes.{name}", message))
    if err := check_sample_request(spec.scoring.sample_request, spec.model.kind):
        problems.append(Problem("scoring.sample_request", err))
    check("endpoint.name", check_endpoint_name, spec.endpoint.name)
    check("endpoint.auth_mode", check_auth_mode, spec.endpoint.auth_mode)
    check("deployment.name", check_deployment_name, spec.deployment.name)
    check("deployment.instance_type", check_instance_type, spec.deployment.instance_type)
    if warning := instance_type_warning(spec.deployment.instance_type):
        problems.append(Problem("deployment.instance_type", warning, "warning"))
    check("deployment.instance_count", check_instance_count, spec.deployment.instance_count)
    check("deployment.traffic", check_traffic, spec.deployment.traffic)
    if err := _int_in(spec.deployment.request_timeout_ms, "request timeout (ms)", 1, 180_000):
        problems.append(Problem("deployment.request_timeout_ms", err))
    problems.extend(_probe_problems(spec.deployment.probes))
    check("deployment.expires_after", check_expires_after, spec.deployment.expires_after)
    problems.extend(autoscale_problems(spec.deployment))
    problems.extend(_rollout_problems(spec.rollout))
    if err := check_requests_file(spec.rollout.requests_file, base_dir, spec.model.kind):
        problems.append(Problem("rollout.requests_file", err))
    elif warning := outside_folder_warning(spec.rollout.requests_file, base_dir, "requests file"):
        problems.append(Problem("rollout.requests_file", warning, "warning"))
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == "error"]
