"""What a model folder holds, read with this machine's R (never guessed): its kind, file, input and packages.

The kinds (spec's `model.kind`): a carrier crate saved either way (`saveRDS(serialize(crate, NULL), ...)`, the
how-to's form, or plain `saveRDS(crate, ...)`), a fitted model saved with saveRDS (lm, glm, ranger, a tidymodels
workflow, ...), or a vetiver model pinned to a pins board folder. assets/read_model.R loads the model with the
generated API's own functions (assets/rdeploy_model.R) and prints one JSON object; this module runs it and turns
the answer into a ModelReading. Without R, or when R cannot read the folder, the reading says why and holds no
guess. R's output is capped (MAX_OUTPUT bytes, and the script lists at most 200 of anything).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdeploy_tui.deploy_folder.render import MODEL_LIBRARY
from rdeploy_tui.deploy_folder.templates import asset
from rdeploy_tui.local.plumber import find_rscript
from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import DeploySpec
from rdeploy_tui.spec.model_files import SAVE_CRATE

TIMEOUT_S = 60.0
MAX_OUTPUT = 1_000_000  # bytes of R's answer read; more is refused, never half-parsed
NO_R = "R is not installed here (no Rscript)"  # callers say what could not be read


@dataclass(frozen=True)
class InputColumn:
    name: str
    type: str  # numeric, integer, character, factor, ordered, logical, Date, POSIXct, ... or "unknown"
    levels: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.levels:
            shown = ", ".join(self.levels[:8]) + (", ..." if len(self.levels) > 8 else "")
            return f"{self.name} ({self.type}: {shown})"
        return f"{self.name} ({'type not recorded' if self.type == 'unknown' else self.type})"


@dataclass(frozen=True)
class PinInfo:
    name: str
    version: str
    versions: int = 1
    required_pkgs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelReading:
    """What R found. `error` set: the folder could not be read (then nothing else is filled in)."""

    packages: list[str] = field(default_factory=list)  # beyond base R; read, never guessed
    error: str | None = None
    next_step: str | None = None
    kind: str | None = None  # crate | fitted | vetiver
    file: str | None = None  # as model.file names it: the shortest end of its path in the folder that finds it
    form: str | None = None  # serialize (the how-to's saveRDS(serialize(x, NULL), ...)) or saveRDS
    model_class: tuple[str, ...] = ()
    inputs: tuple[InputColumn, ...] | None = None  # None: the model does not record them
    inputs_total: int = 0
    arguments: tuple[str, ...] = ()  # a crate's arguments
    packages_complete: bool = True  # False: some could not be read (see notes)
    missing: tuple[str, ...] = ()  # needed packages not installed here
    sample_request: object = None  # a request body made from the model (fitted/vetiver), else None
    pin: PinInfo | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None and self.kind is not None

    def summary(self) -> str:
        """One sentence: the kind and how it was saved, e.g. for `models register` and the register form."""
        if self.error:
            return f"could not be read: {self.error}"
        if self.kind == "crate":
            of = f"of {', '.join(self.arguments)}" if self.arguments else "without arguments"
            how = (
                "saved with saveRDS(serialize(crate, NULL), ...), the how-to's form"
                if self.form == "serialize"
                else "saved with plain saveRDS(crate, ...)"
            )
            return f"a crate (an R function {of}) in {self.file}, {how}"
        model = f"a fitted {'/'.join(self.model_class[:3])} model"
        if self.kind == "vetiver" and self.pin is not None:
            version = f", version {self.pin.version}" if self.pin.version else ""
            return f"a vetiver model (pin {self.pin.name}{version}) holding {model}, in {self.file}"
        return f"{model} scored with predict(), in {self.file}"

    def kind_text(self) -> str:
        """A few words: a crate, a fitted lm model, a vetiver lm model."""
        if self.kind == "crate":
            return "a crate"
        model = self.model_class[0] if self.model_class else "R"
        return f"a vetiver {model} model" if self.kind == "vetiver" else f"a fitted {model} model"

    def input_text(self) -> str:
        """What the model takes, in words."""
        if self.kind == "crate":
            return "the body's fields as its arguments: " + (", ".join(self.arguments) or "none")
        if self.inputs is None:
            return "columns it does not record: the API passes the body's columns as sent"
        shown = ", ".join(str(c) for c in self.inputs[:12])
        more = self.inputs_total - min(len(self.inputs), 12)
        return f"rows with the columns {shown}" + (f" and {more} more" if more > 0 else "")


def without_r() -> ModelReading | None:
    """The answer when this machine has no R, else None (asked before fetching a model's files only to find that)."""
    return None if find_rscript() else ModelReading(error=NO_R)


def read_model(folder: Path, *, rscript: str | None = None, save_crate_hint: str | None = None) -> ModelReading:
    """Read the model folder with R (see the module's docstring)."""
    rscript = rscript or find_rscript()
    if rscript is None:
        return ModelReading(error=NO_R)
    folder = Path(folder)
    if not folder.is_dir():
        return ModelReading(error=f"{folder} is not a folder")
    argv = [rscript, "--vanilla", str(asset("read_model.R")), str(asset(MODEL_LIBRARY)), str(folder)]
    argv.append(save_crate_hint or SAVE_CRATE)
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return ModelReading(error=f"R took more than {TIMEOUT_S:g} s to read {folder}")
    except OSError as exc:
        return ModelReading(error=f"R could not be started to read the model: {exc}")
    stdout = done.stdout
    if len(stdout) > MAX_OUTPUT:
        return ModelReading(error=f"R's description of the model was over {MAX_OUTPUT:,} bytes")
    try:
        data = json.loads(stdout.decode("utf-8", errors="replace"))
    except ValueError:
        data = None
    if not isinstance(data, dict):
        said = done.stderr.decode("utf-8", errors="replace").strip()
        return ModelReading(
            error=f"R failed reading the model (exit code {done.returncode}): {said[-300:] or 'no output'}"
        )
    return _reading(data)


def _texts(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _reading(data: dict[str, Any]) -> ModelReading:
    if data.get("error"):
        return ModelReading(
            error=str(data["error"]),
            next_step=str(data["next_step"]) if data.get("next_step") else None,
            file=data.get("file"),
            missing=_texts(data.get("missing")),
        )
    inputs = None
    if isinstance(data.get("inputs"), list):
        inputs = tuple(
            InputColumn(str(col.get("name")), str(col.get("type")), _texts(col.get("levels")))
            for col in data["inputs"]
            if isinstance(col, dict)
        )
    pin = data.get("pin")
    return ModelReading(
        packages=list(_texts(data.get("packages"))),
        kind=str(data.get("kind")),
        file=str(data.get("file")),
        form=data.get("form"),
        model_class=_texts(data.get("class") if isinstance(data.get("class"), list) else [data.get("class")]),
        inputs=inputs,
        inputs_total=int(data.get("inputs_total") or (len(inputs) if inputs else 0)),
        arguments=_texts(data.get("arguments")),
        packages_complete=bool(data.get("packages_complete", True)),
        missing=_texts(data.get("missing")),
        sample_request=data.get("sample_request"),
        pin=PinInfo(
            str(pin.get("name") or ""),
            str(pin.get("version") or ""),
            int(pin.get("versions") or 1),
            _texts(pin.get("required_pkgs")),
        )
        if isinstance(pin, dict)
        else None,
        notes=_texts(data.get("notes")),
    )


def apply_reading(spec: DeploySpec, reading: ModelReading) -> list[str]:
    """Record what was read in the spec: model.kind and model.file, and the reading's sample request when the spec's
    own does not fit the kind. Returns a line per change (nothing when the reading failed)."""
    if not reading.ok or reading.kind is None or reading.file is None:
        return []
    changes = []
    if spec.model.kind != reading.kind:
        changes.append(f"model.kind: {spec.model.kind} -> {reading.kind}")
        spec.model.kind = reading.kind
    if spec.model.file != reading.file:
        changes.append(f"model.file: {spec.model.file} -> {reading.file}")
        spec.model.file = reading.file
    if reading.sample_request is not None and (
        changes
        or rules.check_sample_request(spec.scoring.sample_request, spec.model.kind)
        or not _covers(spec.scoring.sample_request, reading.inputs)
    ):
        spec.scoring.sample_request = reading.sample_request
        changes.append(f"scoring.sample_request: {json.dumps(reading.sample_request)}")
    return changes


def trial_spec(spec: DeploySpec, reading: ModelReading) -> DeploySpec:
    """A copy of `spec` that serves what was read: its kind, file and sample request, and the packages it needs
    (what a local test of a folder runs before the folder is registered)."""
    trial = spec.copy()
    apply_reading(trial, reading)
    have = {p.lower() for p in trial.image.r_packages}
    trial.image.r_packages += [p for p in reading.packages if p.lower() not in have]
    return trial


def _covers(sample: object, inputs: tuple[InputColumn, ...] | None) -> bool:
    """Whether a rows-or-columns sample request has every input column (True when the inputs are unknown)."""
    if inputs is None:
        return True
    rows = sample if isinstance(sample, list) else [sample]
    return all(isinstance(row, dict) and all(col.name in row for col in inputs) for row in rows)
