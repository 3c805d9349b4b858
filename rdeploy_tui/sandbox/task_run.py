"""A multi-step ACR task run (`az acr run -f acr-task.yaml .`): its steps read from the task file, planned like a quick
build, one docker build or push per step.

Source: "ACR Tasks reference: YAML" (learn.microsoft.com/azure/container-registry/container-registry-tasks-reference-
yaml). A task file is a YAML mapping with `version`, optional task properties (stepTimeout, workingDirectory, env ...)
and `steps`, each step one of
    build: docker build arguments (-t/--image, -f/--file, --build-arg, a context path last)
    push:  the images to push (a string or a list)
    cmd:   a container to run
and optional step properties (id, when, timeout ...). Before the YAML is read, the file is rendered as a Go template:
`{{.Run.ID}}`, `{{.Run.Registry}}` ... (run variables) and `{{.Values.name}}` (the run's values); the aliases `$ID`,
`$Registry`, `$RegistryName`, `$Date`, `$OS`, `$Architecture`, `$Commit`, `$Branch` are expanded in the steps.
The log follows ACR's multi-step layout: a Docker network `acb_default_network`, "Executing step ID: acb_step_N",
each step's container named after its id, "Step ID: ... marked as successful" per step at the end.

Sandbox limits (said in the run's log, never silently): `cmd` steps do not run (the sandbox runs R deployments, not
arbitrary containers); pushes go to the run's own registry only; Go template constructs other than `{{.Run.X}}` and
`{{.Values.X}}` (if, range, functions) are not rendered.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from rdeploy_tui.bounded_read import ContentError, parse_yaml
from rdeploy_tui.sandbox import build

DEFAULT_TASK_FILE = "acr-task.yaml"  # what `az acr run` sends when -f is not given
NETWORK = "acb_default_network"
STEP_TIMEOUT_S = 600  # the reference's default stepTimeout
_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_ALIAS = re.compile(r"\$(ID|Registry|RegistryName|Date|OS|Architecture|Commit|Branch)\b")
_STEP_TYPES = ("build", "push", "cmd")


class TaskFileError(ValueError):
    """The task file cannot be run; the message is the log's last line."""


@dataclass
class TaskStep:
    id: str
    kind: str  # build, push or cmd
    argument: Any


@dataclass
class _Built:
    files: dict[str, bytes]
    metadata: dict[str, Any]
    base_image: str
    base_registry: str
    image_id: str


@dataclass
class _Run:
    env: build.BuildEnvironment
    files: dict[str, bytes]
    log: build.RunLog = field(default_factory=build.RunLog)
    built: dict[str, _Built] = field(default_factory=dict)  # full image name -> what built it
    pushes: dict[int, list[build.Pushed]] = field(default_factory=dict)
    pushed: list[tuple[build.ImageRef, _Built]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def render(text: str, variables: dict[str, str], values: dict[str, str]) -> str:
    """The task file as ACR renders it before reading the YAML: `{{.Run.X}}` and `{{.Values.X}}` replaced."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        run = re.fullmatch(r"\.Run\.(\w+)", expression)
        if run and run.group(1) in variables:
            return variables[run.group(1)]
        value = re.fullmatch(r"\.Values\.(\w+)", expression)
        if value and value.group(1) in values:
            return values[value.group(1)]
        if value:
            raise TaskFileError(f"template: the value '{value.group(1)}' is not set (--set or a values file)")
        raise TaskFileError(
            f"template: '{{{{{expression}}}}}' is not rendered by the sandbox (it renders .Run and .Values only)"
        )

    return _TEMPLATE.sub(replace, text)


def parse_steps(text: str, variables: dict[str, str], values: dict[str, str]) -> list[TaskStep]:
    """The steps of a task file, rendered; raises TaskFileError in words close to ACR's."""
    try:
        document = parse_yaml(render(text, variables, values))
    except ContentError as exc:
        raise TaskFileError(f"failed to parse the task file: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list) or not document["steps"]:
        raise TaskFileError("failed to parse the task file: it needs a `steps` list with at least one step")
    steps: list[TaskStep] = []
    for index, raw in enumerate(document["steps"]):
        kinds = [kind for kind in _STEP_TYPES if isinstance(raw, dict) and kind in raw]
        if len(kinds) != 1:
            raise TaskFileError(f"step {index} must have exactly one of build, push or cmd")
        step_id = str(raw.get("id") or f"acb_step_{index}")
        steps.append(TaskStep(step_id, kinds[0], _alias(raw[kinds[0]], variables)))
    return steps


def plan_task_run(
    *,
    env: build.BuildEnvironment,
    files: dict[str, bytes],
    task_file: str,
    values: dict[str, str],
    variables: dict[str, str],
) -> build.BuildPlan:
    """What running the task file prints and pushes (build.BuildPlan, with `pushes` per chunk)."""
    run = _Run(env, files)
    build.prologue(run.log, env.run_id, env.login_server, network=NETWORK)
    path = posixpath.normpath(task_file or DEFAULT_TASK_FILE)
    if path not in files:
        return _fail(run, "", f"open /workspace/{path}: no such file or directory")
    try:
        steps = parse_steps(files[path].decode("utf-8", "replace"), variables, values)
    except TaskFileError as exc:
        return _fail(run, "", str(exc))
    elapsed: list[tuple[str, float]] = []
    for step in steps:
        before = sum(chunk.seconds for chunk in run.log.chunks)
        run.log.add(
            build.TIMES["step"],
            build._stamp(
                f"Executing step ID: {step.id}. Timeout(sec): {STEP_TIMEOUT_S}, Working directory: '', "
                f"Network: '{NETWORK}'"
            ),
        )
        failure = {"build": _build, "push": _push, "cmd": _cmd}[step.kind](run, step)
        if failure is not None:
            return _fail(run, step.id, failure)
        elapsed.append((step.id, sum(chunk.seconds for chunk in run.log.chunks) - before))
    closing = [
        line
        for step_id, seconds in elapsed
        for line in build.step_succeeded(
            step_id, seconds, digests=any(s.id == step_id for s in steps if s.kind == "build")
        )
    ]
    for ref, made in run.pushed:
        closing += build.dependencies_found([ref], env.login_server, made.base_image, made.base_registry)
    run.log.add(build.TIMES["final"], *closing)
    images = [ref for ref, _ in run.pushed]
    return build.BuildPlan(run.log.chunks, True, None, images, None, {}, run.warnings, run.pushes)


def _fail(run: _Run, step_id: str, message: str, *lines: str) -> build.BuildPlan:
    tail = build.step_failed(step_id) if step_id else []
    run.log.add(build.TIMES["final"], *lines, message, *tail)
    return build.BuildPlan(run.log.chunks, False, message)


def _build(run: _Run, step: TaskStep) -> str | None:
    try:
        words = shlex.split(str(step.argument))
    except ValueError as exc:
        return f"failed to parse the build step: {exc}"
    tags, dockerfile, arguments, positional = _docker_build_arguments(words)
    if len(positional) != 1:
        return '"docker build" requires exactly 1 argument.'
    context = posixpath.normpath(positional[0])
    prefix = "" if context in (".", "") else context.rstrip("/") + "/"
    files = {name[len(prefix) :]: data for name, data in run.files.items() if name.startswith(prefix)}
    if prefix and not files:
        return f'unable to prepare context: path "{positional[0]}" not found'
    try:
        refs = [(name, build.parse_image_name(name, run.env.login_server)) for name in tags]
    except ValueError as exc:
        return str(exc)
    run.log.chunks[-1].lines.append(build._stamp("Scanning for dependencies..."))
    built = build.docker_build(
        run.log, run.env, step.id, files, dockerfile or "Dockerfile", [ref for _, ref in refs], arguments
    )
    if built.error is not None:
        run.log.add(0, *built.pending[:-1])
        return built.error
    made = _Built(
        files,
        built.describe(dockerfile or "Dockerfile", run.env.run_id),
        built.base_image,
        built.base_registry,
        built.image_id,
    )
    run.warnings += built.warnings
    for name, ref in refs:
        run.built[_full_name(name, ref, run.env.login_server)] = made
    return None


def _push(run: _Run, step: TaskStep) -> str | None:
    names = step.argument if isinstance(step.argument, list) else [step.argument]
    for name in (str(n) for n in names):
        try:
            ref = build.parse_image_name(name, run.env.login_server)
        except ValueError as exc:
            return str(exc)
        full = _full_name(name, ref, run.env.login_server)
        made = run.built.get(full)
        if made is None:
            return f"An image does not exist locally with the tag: {name}"
        if not full.lower().startswith(run.env.login_server.lower() + "/"):
            return (
                f"denied: the sandbox pushes to the run's own registry ({run.env.login_server}) only, not to "
                f"{name.split('/', 1)[0]} (a sandbox limit)"
            )
        at = build.push_chunks(run.log, run.env.login_server, ref, made.image_id)
        run.pushes.setdefault(at, []).append(build.Pushed(ref, made.files, made.metadata))
        run.pushed.append((ref, made))
    return None


def _cmd(run: _Run, step: TaskStep) -> str | None:
    return (
        f"the sandbox does not run cmd steps ({step.argument}): it runs R deployments, not arbitrary containers "
        "(a sandbox limit; ACR runs the container)"
    )


def _docker_build_arguments(words: list[str]) -> tuple[list[str], str, dict[str, str], list[str]]:
    tags: list[str] = []
    dockerfile = ""
    arguments: dict[str, str] = {}
    positional: list[str] = []
    takes_value = {"-t", "--tag", "--image", "-f", "--file", "--build-arg", "--target", "--platform", "--network"}
    index = 0
    while index < len(words):
        word = words[index]
        name, eq, inline = word.partition("=")
        if word.startswith("-") and (name in takes_value):
            value = inline if eq else (words[index + 1] if index + 1 < len(words) else "")
            index += 1 if eq else 2
            if name in ("-t", "--tag", "--image"):
                tags.append(value)
            elif name in ("-f", "--file"):
                dockerfile = value
            elif name == "--build-arg":
                key, _, arg_value = value.partition("=")
                arguments[key] = arg_value
            continue
        if not word.startswith("-"):
            positional.append(word)
        index += 1
    return tags, dockerfile, arguments, positional


def _full_name(name: str, ref: build.ImageRef, login_server: str) -> str:
    """The image's full name as docker keeps it: the run's registry, another registry, or Docker Hub."""
    if name.lower().startswith(login_server.lower() + "/"):
        return f"{login_server}/{ref.repository}:{ref.tag}".lower()
    head, sep, _ = name.partition("/")
    if sep and ("." in head or ":" in head or head == "localhost"):
        return (name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest").lower()
    return f"docker.io/{ref.repository}:{ref.tag}".lower()


def _alias(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _ALIAS.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_alias(item, variables) for item in value]
    return value
