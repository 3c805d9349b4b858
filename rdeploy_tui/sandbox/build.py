"""What an ACR quick build (`az acr build`) of a docker context would print and produce, without Docker.

`plan_build` reads the uploaded context, checks the Dockerfile the way the docker builder would
(FROM, instructions, COPY sources, the R packages a RUN installs) and returns a `BuildPlan`: the log
as timed chunks, in ACR's own wording, plus the outcome and the image it would push. acr.py replays
the chunks into the run's log blob at the sandbox's time scale. Everything here is pure and fast.

Realism over strictness: a Dockerfile without `ENTRYPOINT []` on the rstudio/plumber base builds fine (as it does in
ACR); the image record says what its container runs by Docker's rules (container.py), and a note in the log says so.
Multi-step task runs (task_run.py) reuse the pieces: prologue, docker_build, push_chunks, step_succeeded.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import posixpath
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rdeploy_tui.sandbox import container, dockerfile, sysreqs
from rdeploy_tui.sandbox.cran import BASE_R, Cran
from rdeploy_tui.sandbox.durations import BUILD_TIMES
from rdeploy_tui.spec import base_images

# The ENTRYPOINT of rstudio/plumber (container.py holds the base images' ENTRYPOINT/CMD, with their sources).
PLUMBER_BASE_ENTRYPOINT = container.PLUMBER_ENTRYPOINT
# Packages the rstudio/plumber image already has: a build does not download them again.
PLUMBER_BASE_PACKAGES = frozenset(
    [
        "plumber",
        "jsonlite",
        "httpuv",
        "R6",
        "Rcpp",
        "later",
        "promises",
        "stringi",
        "crayon",
        "magrittr",
        "mime",
        "sodium",
        "swagger",
        "webutils",
        "lifecycle",
        "rlang",
        "glue",
        "cli",
        "ellipsis",
        "remotes",
        "pak",
    ]
)
# What docker prints when a pull fails (moby's registry errors, as `docker build` shows them at the FROM step):
# https://docs.docker.com/docker-hub/usage/pulls/ (the rate limit), distribution spec error codes for the rest.
DOCKERHUB_RATE_LIMIT = (
    "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
    "authenticating and upgrading: https://www.docker.com/increase-rate-limit"
)
RSPM_URL = "https://p3m.dev/cran/__linux__/noble/latest/src/contrib"
# Seconds of a real build each phase stands for (durations.py says why); acr.py multiplies them by the time scale.
TIMES = BUILD_TIMES
TIMESTAMP = "\x00ts "  # marks a line acr.py prefixes with the wall-clock time, as ACR's runner does
DIGEST = "\x00digest\x00"  # replaced by the digest the image registry gives the pushed image


class ContextError(ValueError):
    """The uploaded source is not a readable tar.gz."""


def read_context(archive: bytes) -> dict[str, bytes]:
    """Regular files of a (gzipped) tar, keyed by normalised relative path ("./x" -> "x")."""
    try:
        raw = gzip.decompress(archive) if archive[:2] == b"\x1f\x8b" else archive
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                name = posixpath.normpath(member.name.lstrip("/"))
                if name.startswith(".."):
                    continue
                extracted = tar.extractfile(member)
                files[name] = extracted.read() if extracted else b""
        return files
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise ContextError(str(exc) or type(exc).__name__) from None


@dataclass
class Chunk:
    """Log lines written together after `seconds` of simulated work."""

    seconds: float
    lines: list[str]


@dataclass
class ImageRef:
    repository: str
    tag: str


@dataclass
class Pushed:
    """An image a run pushes, recorded in the sandbox's registry when the log reaches its chunk."""

    ref: ImageRef
    files: dict[str, bytes]
    metadata: dict[str, Any]


@dataclass
class BuildPlan:
    chunks: list[Chunk]
    succeeded: bool
    error: str | None = None  # why it fails, as the log's last docker line says it
    images: list[ImageRef] = field(default_factory=list)  # pushed on success
    push_at: int | None = None  # index of the chunk whose writing means "pushed": record the images first
    image: dict[str, Any] = field(default_factory=dict)  # metadata for the image record (see describe_image)
    warnings: list[str] = field(default_factory=list)
    # multi-step runs: chunk index -> the images pushed there (quick builds use `images` and `push_at`)
    pushes: dict[int, list[Pushed]] = field(default_factory=dict)


_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


def parse_image_name(name: str, login_server: str) -> ImageRef:
    """`repo[:tag]` or `{loginServer}/repo[:tag]`; raises ValueError with docker's wording."""
    bare = name[len(login_server) + 1 :] if name.lower().startswith(login_server.lower() + "/") else name
    repository, sep, tag = bare.rpartition(":")
    if not sep or "/" in tag:
        repository, tag = bare, "latest"
    invalid = f'invalid argument "{name}" for "-t, --tag" flag: invalid reference format'
    if repository.lower() != repository:
        raise ValueError(invalid + ": repository name must be lowercase")
    if not _REPOSITORY.match(repository) or not _TAG.match(tag):
        raise ValueError(invalid)
    return ImageRef(repository, tag)


_RUN_VARIABLE = re.compile(r"\{\{\s*\.Run\.(\w+)\s*\}\}")


def run_variables(*, run_id: str, login_server: str, when: str, platform: dict[str, str]) -> dict[str, str]:
    """ACR Tasks' run variables (learn.microsoft.com/azure/container-registry/container-registry-tasks-reference-yaml,
    "Run variables"): ID, Registry, RegistryName, Date (UTC, yyyyMMdd-HHmmssz), OS, Architecture; Commit and Branch are
    empty for a run of an uploaded context."""
    return {
        "ID": run_id,
        "Registry": login_server,
        "RegistryName": login_server.split(".", 1)[0],
        "Date": when,
        "OS": (platform.get("os") or "linux").lower(),
        "Architecture": platform.get("architecture") or "amd64",
        "Commit": "",
        "Branch": "",
    }


def expand_run_variables(name: str, *, run_id: str, login_server: str, when: str, platform: dict[str, str]) -> str:
    """The run variables in an image name, as `az acr build -t hello-world:{{.Run.ID}}` uses them (az's own first
    example); an unknown variable is left as written (docker then refuses the name)."""
    values = run_variables(run_id=run_id, login_server=login_server, when=when, platform=platform)
    return _RUN_VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), name)


def _hex(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _stamp(text: str) -> str:
    return TIMESTAMP + text


class RunLog:
    """A run's log as timed chunks (acr.py writes them at the sandbox's pace)."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def add(self, seconds: float, *lines: str) -> None:
        self.chunks.append(Chunk(seconds, list(lines)))


@dataclass
class BuildEnvironment:
    """What a docker build in a run may reach: the registry, the package repository, the run's faults."""

    run_id: str
    login_server: str
    cran: Cran
    # the build-fail fault: True fails the first package the build installs (or kills an install-less RUN); a
    # package's name fails only that package, in every build that installs it
    fail_build: bool | str = False
    registry_image: Callable[[str], dict[str, Any] | None] = lambda reference: None
    dockerhub_limited: Callable[[], bool] = lambda: False


def plan_build(
    *,
    run_id: str,
    files: dict[str, bytes],
    dockerfile_path: str,
    image_names: list[str],
    push: bool,
    login_server: str,
    cran: Cran,
    fail_build: bool | str = False,
    build_args: dict[str, str] | None = None,
    registry_image: Callable[[str], dict[str, Any] | None] = lambda reference: None,
    dockerhub_limited: Callable[[], bool] = lambda: False,
) -> BuildPlan:
    """Simulate `docker build` + `docker push` of the context as ACR Tasks runs them.

    `build_args` are the run's `--build-arg`s; `registry_image(reference)` gives the metadata of an image in the
    workspace registry (or None); `dockerhub_limited()` says whether this pull from Docker Hub hits its rate limit."""
    env = BuildEnvironment(run_id, login_server, cran, fail_build, registry_image, dockerhub_limited)
    log = RunLog()
    prologue(log, run_id, login_server)
    log.chunks[-1].lines += [
        _stamp("Executing step ID: build. Timeout(sec): 28800, Working directory: '', Network: ''"),
        _stamp("Scanning for dependencies..."),
    ]

    def fail(message: str, *lines: str) -> BuildPlan:
        log.add(TIMES["final"], *lines, *step_failed("build"))
        return BuildPlan(log.chunks, False, message)

    try:
        images = [parse_image_name(name, login_server) for name in image_names]
    except ValueError as exc:
        return fail(str(exc), str(exc))
    built = docker_build(log, env, "build", files, dockerfile_path, images, build_args or {})
    if built.error is not None:
        return fail(built.error, *built.pending)
    build_seconds = sum(chunk.seconds for chunk in log.chunks)
    pushed = images if push else []
    push_at = None
    if pushed:
        log.add(
            TIMES["step"], _stamp("Executing step ID: push. Timeout(sec): 3600, Working directory: '', Network: ''")
        )
        for ref in pushed:
            at = push_chunks(log, login_server, ref, built.image_id)
            push_at = at if push_at is None else push_at
    push_seconds = sum(chunk.seconds for chunk in log.chunks) - build_seconds
    log.add(
        TIMES["final"],
        *step_succeeded("build", build_seconds, digests=True),
        *(step_succeeded("push", push_seconds) if pushed else []),
        *dependencies_found(pushed, login_server, built.base_image, built.base_registry),
    )
    image = built.describe(dockerfile_path, run_id)
    return BuildPlan(log.chunks, True, None, pushed, push_at, image, built.warnings)


def prologue(log: RunLog, run_id: str, login_server: str, *, network: str = "") -> None:
    """What every run prints before its first step: the source download, the home volume, docker's set-up and the
    registry log-in (with a network for multi-step runs)."""
    log.add(TIMES["source"], _stamp("Downloading source code..."), _stamp("Finished downloading source code"))
    volume = _hex(run_id, "vol")
    lines = [_stamp(f"Using acb_vol_{volume[:8]}-{volume[8:12]} as the home volume")]
    if network:
        lines += [
            _stamp(f"Creating Docker network: {network}, driver: 'bridge'"),
            _stamp(f"Successfully set up Docker network: {network}"),
        ]
    lines += [
        _stamp("Setting up Docker configuration..."),
        _stamp("Successfully set up Docker configuration"),
        _stamp(f"Logging in to registry: {login_server}"),
        _stamp(f"Successfully logged into {login_server}"),
    ]
    log.add(TIMES["setup"], *lines)


def step_failed(step_id: str) -> list[str]:
    return [
        _stamp(f"Container failed during run: {step_id}. No retries remaining."),
        f"failed to run step ID: {step_id}: exit status 1",
    ]


def step_succeeded(step_id: str, seconds: float, *, digests: bool = False) -> list[str]:
    lines = [_stamp(f"Step ID: {step_id} marked as successful (elapsed time in seconds: {seconds:.6f})")]
    if digests:
        lines += [
            _stamp(f"Populating digests for step ID: {step_id}..."),
            _stamp(f"Successfully populated digests for step ID: {step_id}"),
        ]
    return lines


@dataclass
class Built:
    """The outcome of one `docker build` step."""

    error: str | None  # docker's error line when the build failed
    pending: list[str] = field(default_factory=list)  # the failing step's lines, written with the error
    image_id: str = ""
    builder: _Builder | None = None

    @property
    def base_image(self) -> str:
        return self.builder.base_image if self.builder else ""

    @property
    def base_registry(self) -> str:
        return self.builder.base_registry if self.builder else "docker.io"

    @property
    def warnings(self) -> list[str]:
        return list(self.builder.warnings) if self.builder else []

    def describe(self, dockerfile_path: str, run_id: str) -> dict[str, Any]:
        assert self.builder is not None
        return self.builder.describe_image(posixpath.normpath(dockerfile_path or "Dockerfile"), run_id)


def docker_build(
    log: RunLog,
    env: BuildEnvironment,
    step_id: str,
    files: dict[str, bytes],
    dockerfile_path: str,
    images: list[ImageRef],
    build_args: dict[str, str],
) -> Built:
    """`docker build` of `files` (the step's context) as the classic builder prints it, from "Successfully scanned
    dependencies" to "Successfully executed container"; on failure the log is left for the caller to end."""
    path = posixpath.normpath(dockerfile_path or "Dockerfile")
    if path not in files:
        message = (
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
            f"lstat /workspace/{path}: no such file or directory"
        )
        return Built(message, [message])
    text = files[path].decode("utf-8", errors="replace")
    instructions = dockerfile.parse(text)
    opening = [
        _stamp("Successfully scanned dependencies"),
        _stamp(f"Launching container with name: {step_id}"),
        f"Sending build context to Docker daemon  {_size(files)}",
    ]
    problem = _syntax_problem(instructions, path)
    if problem:
        return Built(problem, [*opening, problem])
    log.add(TIMES["step"], *opening)
    builder = _Builder(env.run_id, files, instructions, env.cran, env.fail_build, log)
    builder.args = dict(build_args)
    builder.login_server = env.login_server
    builder.registry_image = env.registry_image
    builder.dockerhub_limited = env.dockerhub_limited
    outcome = builder.run()
    if outcome is not None:
        return Built(outcome, [*builder.pending, outcome], builder=builder)
    image_id = builder.layer
    lines = [f"Successfully built {image_id}"]
    lines += [f"Successfully tagged {env.login_server}/{ref.repository}:{ref.tag}" for ref in images]
    lines.append(_stamp(f"Successfully executed container: {step_id}"))
    log.add(TIMES["step"], *lines)
    return Built(None, image_id=image_id, builder=builder)


def push_chunks(log: RunLog, login_server: str, ref: ImageRef, image_id: str) -> int:
    """`docker push` of one image; returns the index of the chunk whose writing means "pushed"."""
    full = f"{login_server}/{ref.repository}:{ref.tag}"
    layers = [_hex(image_id, n)[:12] for n in range(4)]
    log.add(
        TIMES["push"],
        _stamp(f"Pushing image: {full}, attempt 1"),
        f"The push refers to repository [{login_server}/{ref.repository}]",
        *[f"{layer}: Preparing" for layer in layers],
    )
    at = len(log.chunks)
    log.add(
        TIMES["push"],
        *[f"{layer}: Pushed" for layer in layers],
        f"{ref.tag}: digest: {DIGEST} size: {1000 + int(image_id[:3], 16)}",
        _stamp(f"Successfully pushed image: {full}"),
    )
    return at


def _size(files: dict[str, bytes]) -> str:
    total = sum(len(content) for content in files.values()) + 512 * len(files)
    return f"{total / 1000:.3g}kB" if total < 1_000_000 else f"{total / 1_000_000:.3g}MB"


def _syntax_problem(instructions: list[dockerfile.Instruction], path: str) -> str | None:
    if not instructions:
        return f"Error response from daemon: the Dockerfile ({path}) cannot be empty"
    for instruction in instructions:
        if instruction.keyword not in dockerfile.KNOWN_INSTRUCTIONS:
            return (
                f"Error response from daemon: dockerfile parse error line {instruction.line}: "
                f"unknown instruction: {instruction.keyword}"
            )
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        return "Error response from daemon: No build stage in current context"
    return None


def dependencies_found(images: list[ImageRef], login_server: str, base: str, base_registry: str) -> list[str]:
    """ACR's closing summary: each pushed image with the base image it depends on."""
    repository, _, tag = base.partition(":")
    registry = "registry.hub.docker.com" if base_registry == "docker.io" else base_registry
    lines: list[str] = [_stamp("The following dependencies were found:"), _stamp("")]
    for ref in images or [ImageRef("", "")]:
        if ref.repository:
            lines += [
                "- image:",
                f"    registry: {login_server}",
                f"    repository: {ref.repository}",
                f"    tag: {ref.tag}",
                f"    digest: {DIGEST}",
            ]
        else:
            lines.append("- image: {}")
        lines += [
            "  runtime-dependency:",
            f"    registry: {registry}",
            f"    repository: {repository}",
            f"    tag: {tag or 'latest'}",
            f"    digest: sha256:{_hex('base', base)}",
            "  git: {}",
        ]
    return lines


class _Builder:
    """Walks the instructions like the classic docker builder: one "Step i/N" per instruction."""

    def __init__(
        self,
        run_id: str,
        files: dict[str, bytes],
        instructions: list[dockerfile.Instruction],
        cran: Cran,
        fail_build: bool | str,
        log: RunLog,
    ) -> None:
        self.files = files
        self.instructions = instructions
        self.cran = cran
        self.fail_build = fail_build
        self.log = log
        self.layer = _hex(run_id, "start")[:12]
        self.base_image = ""
        self.base_registry = "docker.io"
        self.base: dict[str, Any] = {}  # what the base image holds: see _base_facts
        self.args: dict[str, str] = {}
        self.login_server = ""
        self.registry_image: Callable[[str], dict[str, Any] | None] = lambda reference: None
        self.dockerhub_limited: Callable[[], bool] = lambda: False
        self.provided: set[str] = set()  # system libraries (sysreqs keys) the image has
        self.unloadable: dict[str, str] = {}  # package -> R's load error, for installs nobody checked
        self.container = container.ContainerConfig()  # ENTRYPOINT, CMD, WORKDIR and files, by Docker's rules
        self.installed: list[str] = []
        self.missing: list[str] = []
        self.copied: dict[str, str] = {}  # context path -> path in the image
        self.warnings: list[str] = []
        self.pending: list[str] = []  # lines of the failing step before docker's error, written with it

    def run(self) -> str | None:
        """Log every step; returns docker's error line when a step fails."""
        handlers = {
            "FROM": self._from,
            "ENTRYPOINT": self._entrypoint,
            "CMD": self._cmd,
            "COPY": self._copy,
            "ADD": self._copy,
            "RUN": self._run,
            "WORKDIR": self._workdir,
        }
        # ARGs before the first FROM are build-wide defaults, not steps of the classic builder
        leading = next((i for i, ins in enumerate(self.instructions) if ins.keyword != "ARG"), 0)
        for instruction in self.instructions[:leading]:
            name, _, default = instruction.args.partition("=")
            self.args.setdefault(name.strip(), default.strip().strip("\"'"))
        steps = self.instructions[leading:]
        total = len(steps)
        for number, instruction in enumerate(steps, start=1):
            header = f"Step {number}/{total} : {instruction}"
            failure = handlers.get(instruction.keyword, self._metadata)(instruction, header)
            if failure is not None:
                return failure
            self.layer = _hex(self.layer, instruction)[:12]
        if self.container.entrypoint == PLUMBER_BASE_ENTRYPOINT and (self.container.cmd or []) != ["~/plumber.R"]:
            # Not ACR's line: the sandbox saying what the container will run (docs.docker.com: ENTRYPOINT + CMD).
            note = (
                "sandbox note: the image keeps rstudio/plumber's ENTRYPOINT, so the container runs "
                f'`R -e "pr <- plumber::plumb(rev(commandArgs())[1]) ..." {" ".join(self.container.cmd or [])}`: '
                "the last word of CMD is plumbed as an API file (Microsoft's how-to resets it with `ENTRYPOINT []`)"
            )
            self.warnings.append(note)
            self.log.add(0, note)
        return None

    def _from(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        words = [w for w in instruction.args.split() if not w.startswith("--")]
        reference = re.sub(
            r"\$\{(\w+)\}|\$(\w+)", lambda m: self.args.get(m.group(1) or m.group(2), ""), words[0] if words else ""
        )
        registry, repository, tag = base_images.split_reference(reference)
        self.base_registry = registry
        self.base_image = f"{repository}:{tag}"
        self.container = container.ContainerConfig.for_base(repository)
        full = self.base_image if registry == "docker.io" else f"{registry}/{self.base_image}"
        failure = self._pull_failure(registry, repository, tag, full)
        if failure is not None:
            self.pending = [header, failure]
            return failure
        layers = [_hex("base", full, n)[:12] for n in range(5)]
        self.log.add(
            TIMES["step"],
            header,
            f"{tag}: Pulling from {repository}",
            *[f"{layer}: Pulling fs layer" for layer in layers],
        )
        for layer in layers:
            self.log.add(TIMES["layer"], f"{layer}: Verifying Checksum", f"{layer}: Download complete")
        self.log.add(
            TIMES["step"],
            *[f"{layer}: Pull complete" for layer in layers],
            f"Digest: sha256:{_hex('base', full)}",
            f"Status: Downloaded newer image for {full}",
            f" ---> {_hex('base', full, 'id')[:12]}",
        )
        return None

    def _pull_failure(self, registry: str, repository: str, tag: str, full: str) -> str | None:
        """Docker's error when the FROM image cannot be pulled; else None, with self.base set to what it holds."""
        if registry.lower() == self.login_server.lower():
            metadata = self.registry_image(f"{registry}/{repository}:{tag}")
            if metadata is None:  # ACR's own wording for a missing tag
                return f'manifest for {full} not found: manifest unknown: manifest tagged by "{tag}" is not found'
            self.base = dict(metadata.get("holds") or _unknown_base())
            self.provided = set(self.base.get("system_libraries", ()))
            inherited = metadata.get("container")
            self.container = container.ContainerConfig.for_base(repository, inherited)
            return None
        if registry != "docker.io":
            # The sandbox reaches no registry but its own and its copy of Docker Hub's catalogue: say so.
            return (
                f'Error response from daemon: Get "https://{registry}/v2/": the sandbox cannot pull from {registry}: '
                "import the image into the workspace registry first"
            )
        if self.dockerhub_limited():
            return DOCKERHUB_RATE_LIMIT
        known = base_images.lookup(f"{repository}:{tag}")
        if known is None:
            if repository in base_images.CATALOGUE:
                return f"manifest for {full} not found: manifest unknown: manifest unknown"
            return (
                f"pull access denied for {repository}, repository does not exist or may require 'docker login': "
                "denied: requested access to the resource is denied"
            )
        self.base = _base_facts(known)
        self.provided = set(self.base["system_libraries"])
        return None

    def _entrypoint(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        self.container.set_entrypoint(instruction.args)
        return self._metadata(instruction, header)

    def _cmd(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        self.container.set_cmd(instruction.args)
        return self._metadata(instruction, header)

    def _workdir(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        self.container.set_workdir(instruction.args.strip())
        return self._metadata(instruction, header)

    def _metadata(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        container = _hex(self.layer, "container")[:12]
        self.log.add(
            TIMES["step"],
            header,
            f" ---> Running in {container}",
            f"Removing intermediate container {container}",
            f" ---> {_hex(self.layer, instruction)[:12]}",
        )
        return None

    def _copy(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        if dockerfile.copy_from_stage(instruction.args):
            return self._metadata(instruction, header)
        sources, destination = dockerfile.copy_sources(instruction.args)
        for source in sources:
            if re.match(r"https?://", source):
                continue
            matched = self._context_matches(source)
            if not matched:
                self.pending = [header]
                return (
                    f"{instruction.keyword} failed: file not found in build context or excluded by "
                    f".dockerignore: stat {source}: file does not exist"
                )
            base = posixpath.normpath(source.lstrip("/"))
            for path in matched:
                if path == base and len(matched) == 1 and not destination.endswith("/") and len(sources) == 1:
                    target = destination  # COPY file /path/name
                elif path.startswith(base + "/") or base == ".":
                    target = posixpath.join(destination, path if base == "." else path[len(base) + 1 :])  # a folder
                else:
                    target = posixpath.join(destination, posixpath.basename(path))  # files into a folder
                self.copied[path] = target
                self.container.copy(path, target)
        self.log.add(TIMES["step"], header, f" ---> {_hex(self.layer, instruction)[:12]}")
        return None

    def _context_matches(self, source: str) -> list[str]:
        pattern = posixpath.normpath(source.lstrip("/"))
        if pattern == ".":
            return sorted(self.files)
        exact = [p for p in self.files if p == pattern or p.startswith(pattern + "/")]
        return sorted(exact or [p for p in self.files if fnmatch.fnmatchcase(p, pattern)])

    def _run(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        container = _hex(self.layer, "container")[:12]
        self.provided |= sysreqs.apt_installed([instruction.args])
        script_path = dockerfile.rscript_file(instruction.args)
        script = self._copied_text(script_path) if script_path else None
        install = dockerfile.r_install(instruction.args, script)
        shell = f"/bin/sh -c {instruction.args}" if dockerfile.exec_form(instruction.args) is None else instruction.args
        failed_command = f"The command '{shell}' returned a non-zero code: 1"
        if install is None:
            if self.fail_build is True:
                self.pending = [header, f" ---> Running in {container}", "Killed"]
                return failed_command.replace("code: 1", "code: 137")
            self.log.add(
                TIMES["step"] * 2,
                header,
                f" ---> Running in {container}",
                f"Removing intermediate container {container}",
                f" ---> {_hex(self.layer, instruction)[:12]}",
            )
            return None

        self.log.add(
            TIMES["step"],
            header,
            f" ---> Running in {container}",
            *([f"> {_r_expression(install.code)}"] if install.echoes_code else []),
        )
        requested = [p for p in install.packages if p not in BASE_R]
        if install.tool == "pak" and self.base.get("pak"):
            requested = [p for p in requested if p != "pak"]  # `if (!requireNamespace("pak")) install.packages("pak")`
        preinstalled = set(self.base.get("packages", ())) | set(self.installed)
        to_fetch = [p for p in requested if p not in preinstalled]
        available = [p for p in to_fetch if self.cran.has(p)]
        unavailable = [p for p in to_fetch if not self.cran.has(p)]
        if install.tool == "pak":
            return self._pak(install, header, container, requested, available, unavailable, failed_command)
        # the build-fail fault: the first package fails to compile; a script that does not check
        # for that would still build, so then the step is killed instead (as an out-of-memory agent does)
        failing = self._failing(available)
        broken = [failing] if failing and (install.checked or self.fail_build is not True) else []
        if self.fail_build is True and not broken:
            self.pending = [header, f" ---> Running in {container}", "Killed"]
            return failed_command.replace("code: 1", "code: 137")

        if to_fetch:
            plural = "s" if len(to_fetch) > 1 else ""
            self.log.add(
                TIMES["step"],
                f"Installing package{plural} into ‘/usr/local/lib/R/site-library’",
                "(as ‘lib’ is unspecified)",
            )
        binary = self.base.get("binary", True)
        for package in available:
            version, size = self.cran.version(package), self.cran.size_kb(package)
            if package in broken:
                self.log.add(TIMES["package"], *_compile_failure(package, version))
                continue
            lacking = sysreqs.missing(package, self.provided, binary=binary)
            if lacking and not binary:
                self.log.add(TIMES["package"], *sysreqs.configure_failure(package, lacking))
                broken.append(package)
                continue
            if lacking:
                self.unloadable[package] = sysreqs.load_error(package, lacking[0])
            self.log.add(
                TIMES["package"],
                f"trying URL '{RSPM_URL}/{package}_{version}.tar.gz'",
                f"Content type 'binary/octet-stream' length {size * 1024} bytes ({size} KB)",
                "=" * 50,
                f"downloaded {size} KB",
                "",
                f"* installing *binary* package ‘{package}’ ...",
                f"* DONE ({package})",
            )
        if available:
            self.log.add(
                0,
                "",
                "The downloaded source packages are in",
                f"\t‘/tmp/Rtmp{_hex(self.layer)[:6]}/downloaded_packages’",
            )
        warnings = _install_warnings(install.call, unavailable, broken)
        missing = unavailable + broken
        self.installed += [p for p in requested if p not in missing]
        self.missing += missing
        if missing and install.checked:
            self.pending = warnings + _failure_message(install, missing)
            return failed_command
        if install.load_checked and self._load_failures(requested):
            self.pending = warnings + self._load_failure_lines(install, requested)
            return failed_command
        if warnings:
            self.log.add(0, *warnings)
            self.warnings.append(f"R packages not installed (the build did not check): {', '.join(missing)}")
        self.log.add(
            TIMES["step"], f"Removing intermediate container {container}", f" ---> {_hex(self.layer, instruction)[:12]}"
        )
        return None

    def _pak(
        self,
        install: dockerfile.RInstall,
        header: str,
        container: str,
        requested: list[str],
        available: list[str],
        unavailable: list[str],
        failed_command: str,
    ) -> str | None:
        """pak::pkg_install(): resolves first (an unknown name fails before anything installs), installs system
        requirements with apt, then the packages. Its output as pak 0.8 prints it."""
        self.log.add(
            TIMES["step"],
            "✔ Updated metadata database: 3.12 MB in 4 files.",
            "ℹ Updating metadata database",
            "✔ Updating metadata database ... done",
        )
        if unavailable:
            self.pending = [
                "Error: ",
                "! error in pak subprocess",
                "Caused by error: ",
                "! Could not solve package dependencies:",
                *[f"* {p}: Can't find package called {p}." for p in unavailable],
                "Execution halted",
            ]
            self.missing += unavailable
            return failed_command
        failing = self._failing(available)
        if failing:
            self.pending = [
                f"✖ Failed to build source package {failing}.",
                "Error: ",
                "! error in pak subprocess",
                "Caused by error in `stop_task_build(state, worker)`:",
                f"! Failed to build source package {failing}.",
                "Execution halted",
            ]
            self.missing.append(failing)
            return failed_command
        if available:
            self.log.add(
                TIMES["step"],
                f"→ Will install {len(available)} package{'s' if len(available) > 1 else ''}.",
                *[f"+ {p} {self.cran.version(p)} [dl]" for p in available],
            )
            needed = sorted({lib.apt for p in available for lib in sysreqs.missing(p, self.provided, binary=False)})
            if needed:
                self.log.add(
                    TIMES["step"] * 2,
                    "ℹ Installing system requirements",
                    "ℹ Executing `sh -c apt-get -y update`",
                    f"ℹ Executing `sh -c apt-get -y install {' '.join(needed)}`",
                )
                self.provided |= {key for key, lib in sysreqs.LIBRARIES.items() if lib.apt in needed}
            else:
                self.log.add(0, "✔ All system requirements are already installed.")
            for package in available:
                self.log.add(
                    TIMES["package"],
                    f"✔ Got {package} {self.cran.version(package)} "
                    f"(x86_64-pc-linux-gnu-ubuntu-24.04) ({self.cran.size_kb(package)} kB)",
                    f"✔ Installed {package} {self.cran.version(package)}  (1.1s)",
                )
            self.log.add(0, f"✔ {len(available)} pkgs: added {len(available)}, dld {len(available)} [12.3s]")
        else:
            self.log.add(0, "✔ No changes needed")
        self.installed += [p for p in requested if p not in self.installed]
        if install.load_checked and self._load_failures(requested):
            self.pending = self._load_failure_lines(install, requested)
            return failed_command
        self.log.add(
            TIMES["step"], f"Removing intermediate container {container}", f" ---> {_hex(self.layer, header)[:12]}"
        )
        return None

    def _failing(self, available: list[str]) -> str | None:
        """The package the build-fail fault fails in this install: the named one if it is installed here, else the
        first one installed."""
        if isinstance(self.fail_build, str):
            return self.fail_build if self.fail_build in available else None
        return available[0] if self.fail_build and available else None

    def _load_failures(self, packages: list[str]) -> dict[str, str]:
        return {p: self.unloadable[p] for p in packages if p in self.unloadable}

    def _load_failure_lines(self, install: dockerfile.RInstall, packages: list[str]) -> list[str]:
        failures = self._load_failures(packages)
        text = install.load_failure_text or "Error: packages do not load: "
        body = "\n".join(f"{p}: {message}" for p, message in failures.items())
        return (text + body).splitlines()

    def _copied_text(self, target: str) -> str | None:
        by_target = {destination: source for source, destination in self.copied.items()}
        source = by_target.get(target)
        return self.files[source].decode("utf-8", "replace") if source in self.files else None

    def describe_image(self, dockerfile_path: str, run_id: str) -> dict[str, Any]:
        """Metadata for the image record; images.py documents the keys deployments read."""
        start_script = self._start_script(self.container.argv())
        return {
            **({"start_script": start_script} if start_script else {}),
            "container": self.container.to_metadata(),  # what a deployment runs (container.py)
            "r_packages": sorted(set(self.installed)),
            "r_packages_missing": sorted(set(self.missing)),  # failed installs the Dockerfile did not check
            "r_packages_unloadable": dict(self.unloadable),  # installed, but loading fails (a missing system library)
            # plumber is there when the base holds it or the build installed it; without it the container cannot start
            "plumber": bool(self.base.get("plumber")) or "plumber" in self.installed,
            "r_version": self.base.get("r_version", "unknown"),
            # what an image built FROM this one starts with
            "holds": {
                **self.base,
                "packages": sorted(set(self.base.get("packages", ())) | set(self.installed)),
                "plumber": self.base.get("plumber") or ("plumber" in self.installed or None),
                "system_libraries": sorted(self.provided),
            },
            "base_image": self.base_image,
            "copied": dict(self.copied),  # context path -> path in the image
            "dockerfile": dockerfile_path,
            "warnings": list(self.warnings),
            "run_id": run_id,
        }

    def _start_script(self, argv: list[str]) -> str | None:
        """The context file the container's command runs (e.g. start_plumber.R copied to /tmp/start_plumber.R)."""
        by_target = {target: source for source, target in self.copied.items()}
        for argument in reversed(argv):
            if argument in by_target:
                return by_target[argument]
        return None


def _r_expression(code: str) -> str:
    return re.sub(r"^\S*\bR\s+(--\S+\s+)*-e\s+", "", code)


def _install_warnings(call: str, unavailable: list[str], broken: list[str]) -> list[str]:
    """R's own warnings, word for word (checked with R 4.2.2)."""
    lines: list[str] = []
    count = int(bool(unavailable)) + len(broken)
    if count:
        lines.append("Warning message:" if count == 1 else "Warning messages:")
    prefix = (lambda n: f"{n}: ") if count > 1 else (lambda n: "")
    number = 1
    if unavailable:
        quoted = ", ".join(f"‘{p}’" for p in unavailable)
        if len(unavailable) == 1:
            lines += [
                f"{prefix(number)}package {quoted} is not available for this version of R",
                "",
                "A version of this package for your version of R might be available elsewhere,",
            ]
        else:
            lines += [
                f"{prefix(number)}packages {quoted} are not available for this version of R",
                "",
                "Versions of these packages for your version of R might be available elsewhere,",
            ]
        lines += [
            "see the ideas at",
            "https://cran.r-project.org/doc/manuals/r-patched/R-admin.html#Installing-packages ",
        ]
        number += 1
    for package in broken:
        lines += [f"{prefix(number)}In {call} :", f"  installation of package ‘{package}’ had non-zero exit status"]
        number += 1
    return lines


def _compile_failure(package: str, version: str) -> list[str]:
    return [
        f"trying URL '{RSPM_URL}/{package}_{version}.tar.gz'",
        f"* installing *source* package ‘{package}’ ...",
        f"** package ‘{package}’ successfully unpacked and MD5 sums checked",
        "** using staged installation",
        "** libs",
        'g++ -std=gnu++17 -I"/usr/local/lib/R/include" -DNDEBUG -fpic -g -O2 -c init.cpp -o init.o',
        "g++: fatal error: Killed signal terminated program cc1plus",
        "compilation terminated.",
        "make: *** [/usr/local/lib/R/etc/Makeconf:196: init.o] Error 1",
        f"ERROR: compilation failed for package ‘{package}’",
        f"* removing ‘/usr/local/lib/R/site-library/{package}’",
    ]


def _failure_message(install: dockerfile.RInstall, missing: list[str]) -> list[str]:
    """What the Dockerfile's own check prints before exiting non-zero."""
    names = ", ".join(missing)
    if install.failure_text is None:
        return [f"Error: failed to install R packages: {names}", "Execution halted"]
    if install.failure_is_error:
        return [f"Error: {install.failure_text}{names}", "Execution halted"]
    return [f"{install.failure_text}{names}"]


def _base_facts(image: base_images.BaseImage) -> dict[str, Any]:
    """What a catalogue image holds, as the image record stores it (JSON)."""
    packages = sorted(PLUMBER_BASE_PACKAGES) if image.plumber else []
    provided = {key for key, lib in sysreqs.LIBRARIES.items() if key in image.system_libraries}
    return {
        "reference": image.reference,
        "r_version": image.r_version,
        "plumber": image.plumber,
        "pak": image.pak,
        "binary": image.binary,
        "repo_url": image.repo_url,
        "packages": packages,
        "system_libraries": sorted(provided),
    }


def _unknown_base() -> dict[str, Any]:
    return {
        "r_version": "unknown",
        "plumber": None,
        "pak": False,
        "binary": True,
        "packages": [],
        "system_libraries": [],
    }


def base_record(image: base_images.BaseImage) -> dict[str, Any]:
    """Metadata of a catalogue image copied into a registry (importImage): builds FROM the copy read it."""
    return {
        "holds": _base_facts(image),
        "imported_from": f"docker.io/{image.reference}",
        "container": container.ContainerConfig.for_base(image.repository).to_metadata(),
    }
