"""What an ACR quick build (`az acr build`) of a docker context would print and produce, without Docker.

`plan_build` reads the uploaded context, checks the Dockerfile the way the docker builder would
(FROM, instructions, COPY sources, the R packages a RUN installs) and returns a `BuildPlan`: the log
as timed chunks, in ACR's own wording, plus the outcome and the image it would push. acr.py replays
the chunks into the run's log blob at the sandbox's time scale. Everything here is pure and fast.

Realism over strictness: a Dockerfile without `ENTRYPOINT []` on the rstudio/plumber base builds fine
(as it does in ACR) and only draws a warning line; the image record says so, so a deployment of that
image can fail later the way the real container does.
"""
from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any

from rdeploy_tui.sandbox import dockerfile
from rdeploy_tui.sandbox.cran import BASE_R, Cran
from rdeploy_tui.sandbox.durations import BUILD_TIMES

# The ENTRYPOINT of rstudio/plumber: it plumbs its last argument, i.e. CMD is taken as a plumber file.
PLUMBER_BASE_ENTRYPOINT = [
    "R",
    "-e",
    "pr <- plumber::plumb(rev(commandArgs())[1]); args <- list(host = '0.0.0.0', port = 8000); "
    "if (packageVersion('plumber') >= '1.0.0') { pr$setDocs(TRUE) } else { args$swagger <- TRUE }; "
    "do.call(pr$run, args)",
]
# Packages the rstudio/plumber image already has: a build does not download them again.
PLUMBER_BASE_PACKAGES = frozenset(
    "plumber jsonlite httpuv R6 Rcpp later promises stringi crayon magrittr mime sodium swagger webutils "
    "lifecycle rlang glue cli ellipsis remotes".split()
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
class BuildPlan:
    chunks: list[Chunk]
    succeeded: bool
    error: str | None = None  # why it fails, as the log's last docker line says it
    images: list[ImageRef] = field(default_factory=list)  # pushed on success
    push_at: int | None = None  # index of the chunk whose writing means "pushed": record the images first
    image: dict[str, Any] = field(default_factory=dict)  # metadata for the image record (see describe_image)
    warnings: list[str] = field(default_factory=list)


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


def _hex(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _stamp(text: str) -> str:
    return TIMESTAMP + text


class _Log:
    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def add(self, seconds: float, *lines: str) -> None:
        self.chunks.append(Chunk(seconds, list(lines)))


def plan_build(
    *,
    run_id: str,
    files: dict[str, bytes],
    dockerfile_path: str,
    image_names: list[str],
    push: bool,
    login_server: str,
    cran: Cran,
    fail_build: bool = False,
) -> BuildPlan:
    """Simulate `docker build` + `docker push` of the context as ACR Tasks runs them."""
    log = _Log()
    log.add(TIMES["source"], _stamp("Downloading source code..."), _stamp("Finished downloading source code"))
    volume = _hex(run_id, "vol")
    log.add(
        TIMES["setup"],
        _stamp(f"Using acb_vol_{volume[:8]}-{volume[8:12]} as the home volume"),
        _stamp("Setting up Docker configuration..."),
        _stamp("Successfully set up Docker configuration"),
        _stamp(f"Logging in to registry: {login_server}"),
        _stamp(f"Successfully logged into {login_server}"),
        _stamp("Executing step ID: build. Timeout(sec): 28800, Working directory: '', Network: ''"),
        _stamp("Scanning for dependencies..."),
    )

    def fail(message: str, *lines: str) -> BuildPlan:
        log.add(TIMES["final"], *lines, _stamp("Container failed during run: build. No retries remaining."),
                "failed to run step ID: build: exit status 1")
        return BuildPlan(log.chunks, False, message)

    try:
        images = [parse_image_name(name, login_server) for name in image_names]
    except ValueError as exc:
        return fail(str(exc), str(exc))

    path = posixpath.normpath(dockerfile_path or "Dockerfile")
    if path not in files:
        message = f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat /workspace/{path}: no such file or directory"
        return fail(message, message)
    text = files[path].decode("utf-8", errors="replace")
    instructions = dockerfile.parse(text)
    problem = _syntax_problem(instructions, path)
    if problem:
        return fail(problem, _stamp("Successfully scanned dependencies"), _stamp("Launching container with name: build"),
                    f"Sending build context to Docker daemon  {_size(files)}", problem)

    log.add(TIMES["step"], _stamp("Successfully scanned dependencies"), _stamp("Launching container with name: build"),
            f"Sending build context to Docker daemon  {_size(files)}")
    builder = _Builder(run_id, files, instructions, cran, fail_build, log)
    outcome = builder.run()
    if outcome is not None:
        return fail(outcome, *builder.pending, outcome)

    image_id = builder.layer
    lines = [f"Successfully built {image_id}"]
    lines += [f"Successfully tagged {login_server}/{ref.repository}:{ref.tag}" for ref in images]
    lines.append(_stamp("Successfully executed container: build"))
    log.add(TIMES["step"], *lines)
    build_seconds = sum(chunk.seconds for chunk in log.chunks)
    pushed = images if push else []
    push_at = None
    if pushed:
        log.add(TIMES["step"], _stamp("Executing step ID: push. Timeout(sec): 3600, Working directory: '', Network: ''"))
        for ref in pushed:
            full = f"{login_server}/{ref.repository}:{ref.tag}"
            layers = [_hex(image_id, n)[:12] for n in range(4)]
            log.add(TIMES["push"], _stamp(f"Pushing image: {full}, attempt 1"),
                    f"The push refers to repository [{login_server}/{ref.repository}]",
                    *[f"{layer}: Preparing" for layer in layers])
            if push_at is None:
                push_at = len(log.chunks)
            log.add(TIMES["push"], *[f"{layer}: Pushed" for layer in layers],
                    f"{ref.tag}: digest: {DIGEST} size: {1000 + int(image_id[:3], 16)}",
                    _stamp(f"Successfully pushed image: {full}"))
    push_seconds = sum(chunk.seconds for chunk in log.chunks) - build_seconds
    log.add(TIMES["final"], _stamp(f"Step ID: build marked as successful (elapsed time in seconds: {build_seconds:.6f})"),
            _stamp("Populating digests for step ID: build..."),
            _stamp("Successfully populated digests for step ID: build"),
            *([_stamp(f"Step ID: push marked as successful (elapsed time in seconds: {push_seconds:.6f})")] if pushed else []),
            _stamp("The following dependencies were found:"), _stamp(""),
            *_dependencies(pushed, login_server, builder.base_image))
    return BuildPlan(log.chunks, True, None, pushed, push_at, builder.describe_image(path, run_id), builder.warnings)


def _size(files: dict[str, bytes]) -> str:
    total = sum(len(content) for content in files.values()) + 512 * len(files)
    return f"{total / 1000:.3g}kB" if total < 1_000_000 else f"{total / 1_000_000:.3g}MB"


def _syntax_problem(instructions: list[dockerfile.Instruction], path: str) -> str | None:
    if not instructions:
        return f"Error response from daemon: the Dockerfile ({path}) cannot be empty"
    for instruction in instructions:
        if instruction.keyword not in dockerfile.KNOWN_INSTRUCTIONS:
            return (f"Error response from daemon: dockerfile parse error line {instruction.line}: "
                    f"unknown instruction: {instruction.keyword}")
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        return "Error response from daemon: No build stage in current context"
    return None


def _dependencies(images: list[ImageRef], login_server: str, base: str) -> list[str]:
    repository, _, tag = base.partition(":")
    lines: list[str] = []
    for ref in images or [ImageRef("", "")]:
        if ref.repository:
            lines += ["- image:", f"    registry: {login_server}", f"    repository: {ref.repository}",
                      f"    tag: {ref.tag}", f"    digest: {DIGEST}"]
        else:
            lines.append("- image: {}")
        lines += ["  runtime-dependency:", "    registry: registry.hub.docker.com",
                  f"    repository: {repository}", f"    tag: {tag or 'latest'}",
                  f"    digest: sha256:{_hex('base', base)}", "  git: {}"]
    return lines


class _Builder:
    """Walks the instructions like the classic docker builder: one "Step i/N" per instruction."""

    def __init__(self, run_id: str, files: dict[str, bytes], instructions: list[dockerfile.Instruction],
                 cran: Cran, fail_build: bool, log: _Log) -> None:
        self.files = files
        self.instructions = instructions
        self.cran = cran
        self.fail_build = fail_build
        self.log = log
        self.layer = _hex(run_id, "start")[:12]
        self.base_image = ""
        self.entrypoint: list[str] | None = None
        self.entrypoint_set = False
        self.cmd: list[str] | None = None
        self.installed: list[str] = []
        self.missing: list[str] = []
        self.copied: dict[str, str] = {}  # context path -> path in the image
        self.warnings: list[str] = []
        self.pending: list[str] = []  # lines of the failing step before docker's error, written with it

    def run(self) -> str | None:
        """Log every step; returns docker's error line when a step fails."""
        handlers = {"FROM": self._from, "ENTRYPOINT": self._entrypoint, "CMD": self._cmd,
                    "COPY": self._copy, "ADD": self._copy, "RUN": self._run}
        total = len(self.instructions)
        for number, instruction in enumerate(self.instructions, start=1):
            header = f"Step {number}/{total} : {instruction}"
            failure = handlers.get(instruction.keyword, self._metadata)(instruction, header)
            if failure is not None:
                return failure
            self.layer = _hex(self.layer, instruction)[:12]
        if self.base_image.startswith("rstudio/plumber") and not self.entrypoint_set:
            warning = ("warning: the image keeps the ENTRYPOINT of rstudio/plumber, which runs CMD as a plumber file; "
                       "add `ENTRYPOINT []` so the container runs CMD itself")
            self.warnings.append(warning)
            self.log.add(0, warning)
        return None

    def _from(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        words = [w for w in instruction.args.split() if not w.startswith("--")]
        self.base_image = words[0] if words else ""
        if ":" not in self.base_image.rpartition("/")[2]:
            self.base_image += ":latest"
        repository, _, tag = self.base_image.partition(":")
        self.entrypoint = PLUMBER_BASE_ENTRYPOINT if repository.startswith("rstudio/plumber") else None
        self.entrypoint_set = False
        self.cmd = None
        layers = [_hex("base", self.base_image, n)[:12] for n in range(5)]
        self.log.add(TIMES["step"], header, f"{tag}: Pulling from {repository}",
                     *[f"{layer}: Pulling fs layer" for layer in layers])
        for layer in layers:
            self.log.add(TIMES["layer"], f"{layer}: Verifying Checksum", f"{layer}: Download complete")
        self.log.add(TIMES["step"], *[f"{layer}: Pull complete" for layer in layers],
                     f"Digest: sha256:{_hex('base', self.base_image)}",
                     f"Status: Downloaded newer image for {self.base_image}",
                     f" ---> {_hex('base', self.base_image, 'id')[:12]}")
        return None

    def _entrypoint(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        form = dockerfile.exec_form(instruction.args)
        self.entrypoint = None if form == [] else dockerfile.command(instruction.args)
        self.entrypoint_set = True
        self.cmd = None  # docker resets an inherited CMD when ENTRYPOINT is set
        return self._metadata(instruction, header)

    def _cmd(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        self.cmd = dockerfile.command(instruction.args)
        return self._metadata(instruction, header)

    def _metadata(self, instruction: dockerfile.Instruction, header: str) -> str | None:
        container = _hex(self.layer, "container")[:12]
        self.log.add(TIMES["step"], header, f" ---> Running in {container}",
                     f"Removing intermediate container {container}", f" ---> {_hex(self.layer, instruction)[:12]}")
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
                return (f"{instruction.keyword} failed: file not found in build context or excluded by "
                        f".dockerignore: stat {source}: file does not exist")
            base = posixpath.normpath(source.lstrip("/"))
            for path in matched:
                if path == base and len(matched) == 1 and not destination.endswith("/") and len(sources) == 1:
                    target = destination  # COPY file /path/name
                elif path.startswith(base + "/") or base == ".":
                    target = posixpath.join(destination, path if base == "." else path[len(base) + 1 :])  # a folder
                else:
                    target = posixpath.join(destination, posixpath.basename(path))  # files into a folder
                self.copied[path] = target
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
        install = dockerfile.r_install(instruction.args)
        shell = f"/bin/sh -c {instruction.args}" if dockerfile.exec_form(instruction.args) is None else instruction.args
        failed_command = f"The command '{shell}' returned a non-zero code: 1"
        if install is None:
            if self.fail_build:
                self.pending = [header, f" ---> Running in {container}", "Killed"]
                return failed_command.replace("code: 1", "code: 137")
            self.log.add(TIMES["step"] * 2, header, f" ---> Running in {container}",
                         f"Removing intermediate container {container}", f" ---> {_hex(self.layer, instruction)[:12]}")
            return None

        self.log.add(TIMES["step"], header, f" ---> Running in {container}",
                     *([f"> {_r_expression(install.code)}"] if install.echoes_code else []))
        requested = [p for p in install.packages if p not in BASE_R]
        to_fetch = [p for p in requested if p not in PLUMBER_BASE_PACKAGES or not self.base_image.startswith("rstudio/plumber")]
        available = [p for p in to_fetch if self.cran.has(p)]
        unavailable = [p for p in to_fetch if not self.cran.has(p)]
        # the build-fail fault: the first package fails to compile; a script that does not check
        # for that would still build, so then the step is killed instead (as an out-of-memory agent does)
        broken = available[:1] if self.fail_build and install.checked else []
        if self.fail_build and not broken:
            self.pending = [header, f" ---> Running in {container}", "Killed"]
            return failed_command.replace("code: 1", "code: 137")

        if to_fetch:
            plural = "s" if len(to_fetch) > 1 else ""
            self.log.add(TIMES["step"], f"Installing package{plural} into ‘/usr/local/lib/R/site-library’",
                         "(as ‘lib’ is unspecified)")
        for package in available:
            version, size = self.cran.version(package), self.cran.size_kb(package)
            if package in broken:
                self.log.add(TIMES["package"], *_compile_failure(package, version))
                continue
            self.log.add(TIMES["package"], f"trying URL '{RSPM_URL}/{package}_{version}.tar.gz'",
                         f"Content type 'binary/octet-stream' length {size * 1024} bytes ({size} KB)",
                         "=" * 50, f"downloaded {size} KB", "",
                         f"* installing *binary* package ‘{package}’ ...", f"* DONE ({package})")
        if available:
            self.log.add(0, "", "The downloaded source packages are in",
                         f"\t‘/tmp/Rtmp{_hex(self.layer)[:6]}/downloaded_packages’")
        warnings = _install_warnings(install.call, unavailable, broken)
        missing = unavailable + broken
        self.installed += [p for p in requested if p not in missing]
        self.missing += missing
        if missing and install.checked:
            self.pending = warnings + _failure_message(install, missing)
            return failed_command
        if warnings:
            self.log.add(0, *warnings)
            self.warnings.append(f"R packages not installed (the build did not check): {', '.join(missing)}")
        self.log.add(TIMES["step"], f"Removing intermediate container {container}",
                     f" ---> {_hex(self.layer, instruction)[:12]}")
        return None

    def describe_image(self, dockerfile_path: str, run_id: str) -> dict[str, Any]:
        """Metadata for the image record; images.py documents the keys deployments read."""
        cmd = self.cmd or []
        start_script = self._start_script(cmd)
        return {
            **({"start_script": start_script} if start_script else {}),
            # False when the container would hand CMD to rstudio/plumber's ENTRYPOINT as a file to plumb:
            # a deployment of it crashes at start instead of serving, as in Azure.
            "entrypoint_reset": self.entrypoint != PLUMBER_BASE_ENTRYPOINT,
            "r_packages": sorted(set(self.installed)),
            "r_packages_missing": sorted(set(self.missing)),  # failed installs the Dockerfile did not check
            "base_image": self.base_image,
            "entrypoint": self.entrypoint or [],
            "cmd": cmd,
            "copied": dict(self.copied),  # context path -> path in the image
            "dockerfile": dockerfile_path,
            "warnings": list(self.warnings),
            "run_id": run_id,
        }

    def _start_script(self, cmd: list[str]) -> str | None:
        """The context file CMD runs (e.g. start_plumber.R copied to /tmp/start_plumber.R)."""
        by_target = {target: source for source, target in self.copied.items()}
        for argument in reversed(cmd):
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
            lines += [f"{prefix(number)}package {quoted} is not available for this version of R", "",
                      "A version of this package for your version of R might be available elsewhere,"]
        else:
            lines += [f"{prefix(number)}packages {quoted} are not available for this version of R", "",
                      "Versions of these packages for your version of R might be available elsewhere,"]
        lines += ["see the ideas at", "https://cran.r-project.org/doc/manuals/r-patched/R-admin.html#Installing-packages "]
        number += 1
    for package in broken:
        lines += [f"{prefix(number)}In {call} :",
                  f"  installation of package ‘{package}’ had non-zero exit status"]
        number += 1
    return lines


def _compile_failure(package: str, version: str) -> list[str]:
    return [
        f"trying URL '{RSPM_URL}/{package}_{version}.tar.gz'",
        f"* installing *source* package ‘{package}’ ...",
        f"** package ‘{package}’ successfully unpacked and MD5 sums checked",
        "** using staged installation",
        "** libs",
        "g++ -std=gnu++17 -I\"/usr/local/lib/R/include\" -DNDEBUG -fpic -g -O2 -c init.cpp -o init.o",
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
