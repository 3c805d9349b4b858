"""`rdeploy-tui local`: render the deploy folder, start the API as the container would, and check it.

Checks, in order; a failed check that makes the rest meaningless ends the run:
  runner     Rscript, or docker where an engine answers
  R          Rscript present (else: the exact apt command)
  packages   plumber/jsonlite here; a package of image.r_packages missing here -> failed check (the run goes on);
             carrier missing -> warning (a simple crate loads without it)
  model      the model folder read with R (default: the sample model, rebuilt from its R source when R is here):
             its kind and file must be the spec's model.kind and model.file, its packages in image.r_packages
  start-up   the API loads (R's own error text otherwise) and /ready answers within the probe budget
  liveness   the live route answers 200
  score      POST the spec's sample request -> 200 (else body + server output)
  JSON       the answer is JSON, and not JSON inside a string
  precision  numbers equal the model's own full-precision result in R (not rounded to 4 places)
  latency    a few requests on new connections (and keep-alive, reported apart)

Core code: no textual. The report is plain data (to_dict() for --json); on_event streams progress.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rdeploy_tui.deploy_folder.render import (
    DOCKER_CONTEXT,
    ENTRY_SCRIPT,
    MODEL_LIBRARY,
    r_packages,
    render,
    write_folder,
)
from rdeploy_tui.deploy_folder.sample_model import sample_model_dir
from rdeploy_tui.deploy_folder.templates import asset
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.local.http_client import Latency, measure, request
from rdeploy_tui.local.package_advice import install_advice, missing_package
from rdeploy_tui.local.plumber import R_INSTALL_COMMAND, LocalRunError, PlumberProcess, find_rscript, start_plumber
from rdeploy_tui.local.sample_crate import build_sample_crate
from rdeploy_tui.scoring.client import score
from rdeploy_tui.scoring.judge import DOUBLE_ENCODING_FIX, parse_body, precision_finding
from rdeploy_tui.scoring.result import ScoreResult
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError

if TYPE_CHECKING:
    from rdeploy_tui.local.model_reader import ModelReading

Status = Literal["ok", "warn", "fail"]
LATENCY_SAMPLES = 10
_R_QUERY_TIMEOUT = 60.0

# The model scored directly, outside plumber, with the generated API's own functions (rdeploy_model.R) on the request
# parsed as the API parses it, after loading the image's packages as start_plumber.R does; printed at full precision.
# This is the reference the API's numbers are compared with.
_REFERENCE_R = r"""
args <- commandArgs(trailingOnly = TRUE)
source(args[[1]])
for (p in strsplit(args[[6]], ",")[[1]]) try(loadNamespace(p), silent = TRUE)
model <- rdeploy_load_model(args[[2]], kind = args[[3]], file = args[[4]])
body <- rdeploy_parse_body(readBin(args[[5]], "raw", file.size(args[[5]])))
cat(jsonlite::toJSON(rdeploy_score(model, body), digits = NA, na = "null"))
"""


@dataclass
class Check:
    name: str
    status: Status
    message: str
    next_step: str | None = None
    details: str | None = None


@dataclass
class LocalEvent:
    kind: Literal["step", "check"]
    text: str
    check: Check | None = None


@dataclass
class LocalReport:
    runner: str = "rscript"
    url: str | None = None
    model_dir: str | None = None
    startup_seconds: float | None = None
    probe_initial_delay: int | None = None
    probe_limit_seconds: int | None = None
    score_status: int | None = None
    score_body: object = None
    latency: list[dict[str, object]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    server_output: str = ""

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


class _Stop(Exception):
    """A failed check after which the remaining checks cannot run."""


def probe_limit(spec: DeploySpec) -> int:
    """Seconds until Azure gives up on a container that never gets ready."""
    p = spec.deployment.probes
    return p.initial_delay + p.period * p.failure_threshold


def run_local_checks(
    spec: DeploySpec,
    base_dir: Path,
    model_dir: Path | None = None,
    *,
    runner: Literal["auto", "rscript", "docker"] = "auto",
    on_event: Callable[[LocalEvent], None] | None = None,
    latency_samples: int = LATENCY_SAMPLES,
) -> LocalReport:
    """Run every check; never raises for a user-facing problem (it becomes a failed check)."""
    session = _Session(spec, Path(base_dir), model_dir, on_event, latency_samples)
    with tempfile.TemporaryDirectory(prefix="rdeploy-local-") as tmp:
        session.tmp = Path(tmp)
        try:
            session.run(runner)
        except _Stop:
            pass
        finally:
            session.stop_server()
    return session.report


class _Session:
    def __init__(
        self,
        spec: DeploySpec,
        base_dir: Path,
        model_dir: Path | None,
        on_event: Callable[[LocalEvent], None] | None,
        latency_samples: int,
    ):
        self.spec = spec
        self.base_dir = base_dir
        self.model_dir = model_dir
        self.on_event = on_event
        self.latency_samples = latency_samples
        self.report = LocalReport(
            probe_initial_delay=spec.deployment.probes.initial_delay, probe_limit_seconds=probe_limit(spec)
        )
        self.tmp = Path(".")
        self.rscript: str | None = None
        self.server: PlumberProcess | None = None
        self.reading: ModelReading | None = None  # what R read in the model folder given

    # --- plumbing ---------------------------------------------------------------------------

    def step(self, text: str) -> None:
        if self.on_event:
            self.on_event(LocalEvent("step", text))

    def add(
        self,
        name: str,
        status: Status,
        message: str,
        next_step: str | None = None,
        details: str | None = None,
        *,
        stop: bool = False,
    ) -> None:
        check = Check(name, status, message, next_step, details)
        self.report.checks.append(check)
        if self.on_event:
            self.on_event(LocalEvent("check", f"{name}: {message}", check))
        if stop and status == "fail":
            raise _Stop

    def fail_with(self, name: str, exc: RdeployError) -> None:
        self.add(name, "fail", exc.what, exc.next_step, exc.details, stop=True)

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.report.server_output = self.server.output()

    # --- the checks -------------------------------------------------------------------------

    def run(self, runner: str) -> None:
        folder = self.render()
        use_docker = False
        if runner != "rscript":
            from rdeploy_tui.local.docker import docker_engine_available

            self.step("looking for a Docker engine")
            use_docker = docker_engine_available()
            if runner == "docker" and not use_docker:
                self.add(
                    "runner",
                    "fail",
                    "no Docker engine answers `docker info`",
                    "start Docker, or run with --runner rscript",
                    stop=True,
                )
        self.report.runner = "docker" if use_docker else "rscript"
        if use_docker:
            self.add("runner", "ok", "docker: the image is built and run as Azure would run it")
        else:
            self.add(
                "runner", "ok", "Rscript on this machine" + (" (no Docker engine answered)" if runner == "auto" else "")
            )
        self.rscript = find_rscript()
        if not use_docker:
            self.check_r()
        model_dir = self.resolve_model()
        self.start(folder, model_dir, use_docker)
        self.check_live()
        response = self.score()
        value = self.check_json(response)
        self.check_precision(value, model_dir)
        self.check_latency()

    def render(self) -> Path:
        self.step("rendering the deploy folder")
        try:
            rendered = render(self.spec, base_dir=self.base_dir)
        except SpecError as exc:
            self.add(
                "spec",
                "fail",
                "the spec has errors: " + "; ".join(str(p) for p in exc.problems),
                "fix them (rdeploy-tui validate lists them all)",
                stop=True,
            )
        except OSError as exc:
            self.add(
                "spec", "fail", f"cannot read the scoring script: {exc}", "check scoring.script in the spec", stop=True
            )
        folder = self.tmp / "folder"
        write_folder(rendered, folder)
        return folder

    def check_r(self) -> None:
        if self.rscript is None:
            self.add(
                "R",
                "fail",
                "R is not installed here (no Rscript on PATH)",
                f"install R and plumber: {R_INSTALL_COMMAND}",
                stop=True,
            )
        assert self.rscript is not None  # the failed check above stopped the run
        self.step("listing the R packages installed here")
        try:
            done = subprocess.run(
                [self.rscript, "-e", 'cat(R.version.string, "\\n"); cat(rownames(installed.packages()), sep = "\\n")'],
                capture_output=True,
                text=True,
                timeout=_R_QUERY_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.add("R", "fail", f"{self.rscript} does not run: {exc}", f"reinstall R: {R_INSTALL_COMMAND}", stop=True)
        if done.returncode != 0:
            self.add(
                "R",
                "fail",
                f"{self.rscript} failed (exit code {done.returncode})",
                f"reinstall R: {R_INSTALL_COMMAND}",
                details=done.stdout + done.stderr,
                stop=True,
            )
        version, *installed = done.stdout.splitlines()
        have = {p.strip() for p in installed}
        self.add("R", "ok", f"{version.strip()} at {self.rscript}")
        missing_core = [p for p in ("plumber", "jsonlite") if p not in have]
        if missing_core:
            self.add(
                "packages",
                "fail",
                f"{', '.join(missing_core)} not installed here: the API cannot start",
                f"install them: {R_INSTALL_COMMAND}",
                stop=True,
            )
        missing = [p for p in r_packages(self.spec) if p not in have]
        if not missing:
            self.add("packages", "ok", "every package the image installs is installed here too")
            return
        requested = [p for p in missing if p in self.spec.image.r_packages]
        if requested:
            # a package the model needs is not here: a pass would be a guess (issue 13.5); the rest still runs
            self.add(
                "packages",
                "fail",
                f"{_listed(requested)} from image.r_packages {'is' if len(requested) == 1 else 'are'} not installed "
                "here, so this run cannot show what the endpoint, which installs "
                f"{'it' if len(requested) == 1 else 'them'}, will answer",
                install_advice(requested),
            )
            return
        note = " A simple crate loads without carrier." if "carrier" in missing else ""
        self.add(
            "packages",
            "warn",
            f"the image installs {_listed(missing)}, not installed here, so results here may differ from the "
            f"endpoint's results.{note}",
            f"to test exactly what Azure runs, {install_advice(missing)}",
        )

    def resolve_model(self) -> Path:
        if self.model_dir is None:
            if self.spec.model.kind != "crate":
                self.add(
                    "model",
                    "fail",
                    f"the spec's model is a {self.spec.model.kind} model, and the built-in sample model is a crate",
                    "give the folder holding the model's files (rdeploy-tui local --model-dir DIR)",
                    stop=True,
                )
            model_dir = self.sample_model()
        else:
            model_dir = Path(self.model_dir).resolve()
            if not model_dir.is_dir():
                self.add(
                    "model",
                    "fail",
                    f"model folder {model_dir} does not exist",
                    "pass --model-dir the folder holding the model's files (crate.bin, an .rds file or a pins board)",
                    stop=True,
                )
            self.read_model(model_dir)
        self.report.model_dir = str(model_dir)
        return model_dir

    def read_model(self, model_dir: Path) -> None:
        """What the folder holds, read with R, against what the spec says (the generated API loads what it says)."""
        from rdeploy_tui.local.model_reader import read_model

        generated = self.spec.scoring.script is None
        if self.rscript is None:
            self.add("model", "ok", f"{model_dir} (not read: no R here; the container reads it)")
            return
        self.step("reading the model's files with R")
        reading = read_model(model_dir, rscript=self.rscript)
        if not reading.ok:
            # a scoring script of the user's own may load other files; the generated one loads what the spec says
            self.add(
                "model",
                "fail" if generated else "warn",
                f"{model_dir}: {reading.error}",
                reading.next_step,
                stop=generated,
            )
            return
        self.reading = reading
        spec_model = self.spec.model
        if generated and (spec_model.kind, spec_model.file) != (reading.kind, reading.file):
            self.add(
                "model",
                "fail",
                f"the folder holds {reading.summary()}, but the spec says model.kind {spec_model.kind}, "
                f"model.file {spec_model.file}: the generated API would not load it",
                f"record what the folder holds: rdeploy-tui init --model-dir {model_dir} "
                f"(or set model.kind: {reading.kind} and model.file: {reading.file} in the spec)",
                stop=True,
            )
        fixed = {p.lower() for p in r_packages(self.spec)}
        lacking = [p for p in reading.packages if p.lower() not in fixed]
        if lacking:
            self.add(
                "model",
                "warn",
                f"{reading.summary()}; it needs {_listed(lacking)}, which image.r_packages lacks, so the image "
                f"would not have {'it' if len(lacking) == 1 else 'them'}",
                f"add {'it' if len(lacking) == 1 else 'them'} to image.r_packages "
                f"(rdeploy-tui init --model-dir {model_dir} adds what the model needs)",
            )
            return
        self.add("model", "ok", f"{reading.summary()}; it takes {reading.input_text()}")

    def sample_model(self) -> Path:
        if self.rscript is not None:
            self.step("building the sample model from make_crate.R")
            try:
                build_sample_crate(self.tmp / "sample-model")
                self.add(
                    "model", "ok", "sample model (Nile trend forecast), rebuilt from assets/sample-model/make_crate.R"
                )
                return self.tmp / "sample-model"
            except LocalRunError as exc:
                self.add(
                    "model",
                    "warn",
                    f"could not rebuild the sample model ({exc.what}); using the shipped crate.bin",
                    exc.next_step,
                    exc.details,
                )
                return sample_model_dir()
        self.add("model", "ok", "sample model (Nile trend forecast), the shipped crate.bin")
        return sample_model_dir()

    def start(self, folder: Path, model_dir: Path, use_docker: bool) -> None:
        limit = probe_limit(self.spec)
        delay = self.spec.deployment.probes.initial_delay
        try:
            if use_docker:
                self.server = self.start_docker(folder, model_dir)
            else:
                self.step("starting Rscript start_plumber.R")
                self.server = start_plumber(
                    folder / "src",
                    model_dir,
                    start_script=folder / DOCKER_CONTEXT / "start_plumber.R",
                    entry_script=ENTRY_SCRIPT,
                )
            self.report.url = self.server.url
            self.step(f"waiting for {self.spec.scoring.routes.ready} on {self.server.url} (probe limit {limit} s)")
            seconds = self.server.wait_ready(self.spec.scoring.routes.ready, timeout=limit)
        except LocalRunError as exc:
            if exc.code == "not_ready":
                p = self.spec.deployment.probes
                exc = LocalRunError(
                    f"{exc.what}: Azure stops waiting after initial_delay {p.initial_delay} s + period {p.period} s "
                    f"x failure_threshold {p.failure_threshold} = {limit} s and restarts the container, "
                    "again and again",
                    "load less at start-up, or raise deployment.probes.initial_delay / failure_threshold in the spec",
                    details=exc.details,
                    code=exc.code,
                )
            self.fail_with("start-up", exc)
        self.report.startup_seconds = round(seconds, 3)
        if seconds > delay:
            self.add(
                "start-up",
                "warn",
                f"ready after {seconds:.2f} s, later than the probes' initial_delay of {delay} s (limit {limit} s): "
                "Azure logs failed probes until then, and the cloud starts slower than this machine",
                "raise deployment.probes.initial_delay above the start-up time",
            )
        else:
            self.add("start-up", "ok", f"ready after {seconds:.2f} s (probes start at {delay} s, give up at {limit} s)")

    def start_docker(self, folder: Path, model_dir: Path) -> PlumberProcess:
        from rdeploy_tui.local.docker import build_image, run_container

        image = f"rdeploy-local/{self.spec.image.repository}:latest"
        self.step(f"docker build -t {image} (the first build pulls {self.spec.image.base})")
        build_image(folder / DOCKER_CONTEXT, image)
        self.step("docker run with the container's variables")
        return run_container(
            image,
            folder / "src",
            model_dir,
            container_port=self.spec.scoring.port,
            entry_script=ENTRY_SCRIPT,
            model_subdir=f"{self.spec.model.name}/{self.spec.model.version}",
        )

    def check_live(self) -> None:
        route = self.spec.scoring.routes.live
        assert self.server is not None
        try:
            resp = request(self.server.url, "GET", route, timeout=10)
        except OSError as exc:
            self.add(
                "liveness",
                "fail",
                f"GET {route} got no answer ({exc})",
                "check the live route in the scoring script",
                self.server.output(),
                stop=True,
            )
        if resp.status != 200:
            self.add(
                "liveness",
                "fail",
                f"GET {route} answered {resp.status}: Azure would restart the container",
                f"add a GET {route} handler that returns 200 (or fix scoring.routes.live)",
                resp.text,
            )
        else:
            self.add("liveness", "ok", f"GET {route} answered 200")

    def score(self) -> ScoreResult:
        assert self.server is not None
        route = self.spec.scoring.routes.score
        body = self.spec.scoring.sample_request
        self.step(f"POST {route} with the sample request")
        before = len(self.server.output())
        timeout = self.spec.deployment.request_timeout_ms / 1000
        resp = score(ScoringTarget(self.server.url + route, timeout=max(timeout, 30.0)), body)
        if resp.status is None:
            self.add(
                "score",
                "fail",
                f"POST {route} got no answer ({resp.error})",
                "see the server output in the details",
                self.server.output(),
                stop=True,
            )
        self.report.score_status = resp.status
        is_json, value = resp.is_json, resp.value
        self.report.score_body = resp.body
        if resp.status == 200:
            self.add("score", "ok", f"POST {route} {json.dumps(body)} answered 200 in {resp.latency_ms:.0f} ms")
            return resp
        # plumber prints a handler's error (500) as it answers; a handled 4xx usually prints nothing.
        server_said = _server_lines(_output_since(self.server, before, wait=0.5 if (resp.status or 0) >= 500 else 0.05))
        error = value.get("error") if is_json and isinstance(value, dict) else None
        what = f"POST {route} {json.dumps(body)} answered {resp.status}: {error or _clip(resp.text)}"
        if server_said:
            what += f"\nserver output: {server_said}"
        if package := missing_package(f"{error} {server_said}"):
            next_step = f"the model needs the R package {package}, not installed here: {install_advice([package])}"
        elif resp.status == 400:
            next_step = "the model refused the sample request: fix scoring.sample_request (or the model) so they agree"
        elif resp.status == 404:
            next_step = f"the scoring script has no POST {route}: fix the route in the script or scoring.routes.score"
        else:
            next_step = (
                "the handler failed: fix the error shown in the server output, in the scoring script or the model"
            )
        self.add("score", "fail", what, next_step, self.server.output())
        raise _Stop

    def check_json(self, resp: ScoreResult) -> object:
        content_type = resp.headers.get("content-type", "")
        if not resp.is_json:
            self.add(
                "JSON",
                "fail",
                f"the answer is not JSON (Content-Type {content_type or 'none'}): {_clip(resp.text)}",
                "use a JSON serializer on the score handler: #* @serializer json list(digits = NA)",
                stop=True,
            )
        if resp.double_encoded is not None:
            self.add(
                "JSON",
                "fail",
                f"the answer is JSON inside a string: {_clip(resp.text)}",
                DOUBLE_ENCODING_FIX,
                stop=True,
            )
        if "json" not in content_type.lower():
            self.add(
                "JSON",
                "warn",
                f"the body is JSON but Content-Type is {content_type or 'missing'}",
                "use a JSON serializer on the score handler: #* @serializer json list(digits = NA)",
            )
        else:
            self.add("JSON", "ok", "real JSON: " + _clip(resp.text, 120))
        return resp.value

    def check_precision(self, value: object, model_dir: Path) -> None:
        reference, why_not = self.reference_result(model_dir)
        finding = precision_finding(reference, value)
        details = None if reference is not None else why_not
        status: Status = "fail" if finding.status == "fail" else "warn" if finding.status == "warn" else "ok"
        self.add("precision", status, finding.message, finding.next_step, details)

    def reference_result(self, model_dir: Path) -> tuple[object, str | None]:
        """The model's own result for the sample request, computed in R directly; (None, why) if impossible."""
        if self.rscript is None:
            return None, "no local R to run the model directly"
        kind, file = self.spec.model.kind, self.spec.model.file
        if self.reading is not None:  # a scoring script of the user's own: what the folder holds
            kind, file = self.reading.kind or kind, self.reading.file or file
        script = self.tmp / "reference.R"
        script.write_text(_REFERENCE_R)
        req = self.tmp / "reference-request.json"
        req.write_text(json.dumps(self.spec.scoring.sample_request))
        packages = ",".join(p for p in r_packages(self.spec) if p != "plumber")
        self.step("running the model directly in R for comparison")
        argv = [self.rscript, str(script), str(asset(MODEL_LIBRARY)), str(model_dir), kind, file, str(req), packages]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=_R_QUERY_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"running the model directly failed: {exc}"
        if done.returncode != 0:
            return None, "running the model directly failed:\n" + done.stderr.strip()
        is_json, value = parse_body(done.stdout.encode())
        return (value, None) if is_json else (None, "the model's direct result could not be read as JSON")

    def check_latency(self) -> None:
        assert self.server is not None
        n = self.latency_samples
        if n <= 0:
            return
        route, body = self.spec.scoring.routes.score, self.spec.scoring.sample_request
        self.step(f"timing {n} requests on new connections and {n} on one kept-alive connection")
        try:
            new = measure(self.server.url, route, body, n, keep_alive=False)
            kept = measure(self.server.url, route, body, n, keep_alive=True)
        except OSError as exc:
            self.add(
                "latency",
                "fail",
                f"the API stopped answering while timed ({exc})",
                "see the server output in the details",
                self.server.output(),
            )
            return
        self.report.latency = [new.summary(), kept.summary()]
        budget_ms = self.spec.deployment.request_timeout_ms
        closing = kept.closes == len(kept.statuses)
        how = "the API answers Connection: close, so it reconnects" if closing else "connections reused"
        message = (
            f"new connection p50 {_ms(new, 50)} / p95 {_ms(new, 95)}; keep-alive client p50 {_ms(kept, 50)} / p95 "
            f"{_ms(kept, 95)} ({how}; n={n} each)"
        )
        # httpuv answers a reused connection ~40 ms late (r-facts.md); Azure's scoring front reuses its connections.
        slow_reuse = (kept.percentile(50) or 0) > (new.percentile(50) or 0) + 20
        worst = max(new.samples_ms + kept.samples_ms)
        failures = sum(s != 200 for s in new.statuses + kept.statuses)
        if failures:
            self.add(
                "latency",
                "fail",
                f"{failures} of {2 * n} repeated requests did not answer 200; " + message,
                "the API is not stable under repeated calls: see the server output",
                self.server.output(),
            )
        elif worst > budget_ms:
            self.add(
                "latency",
                "fail",
                f"slowest request {worst:.0f} ms exceeds request_timeout_ms {budget_ms}; " + message,
                "make scoring faster or raise deployment.request_timeout_ms",
            )
        elif slow_reuse:
            self.add(
                "latency",
                "warn",
                "reused connections answer ~40 ms late (httpuv); " + message,
                'keep `res$setHeader("Connection", "close")` in the score handler: '
                "Azure's scoring front reuses connections",
            )
        elif (new.percentile(95) or 0) > budget_ms / 2:
            self.add(
                "latency",
                "warn",
                f"p95 is over half of request_timeout_ms {budget_ms}; " + message,
                "the cloud instance may be slower: raise deployment.request_timeout_ms",
            )
        else:
            self.add("latency", "ok", message)


def _listed(packages: list[str]) -> str:
    return ("R package " if len(packages) == 1 else "R packages ") + ", ".join(packages)


def _ms(lat: Latency, p: float) -> str:
    value = lat.percentile(p)
    return "-" if value is None else f"{value:.1f} ms"


def _clip(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _output_since(server: PlumberProcess, offset: int, wait: float) -> str:
    """Output printed after `offset`; plumber prints a handler's error as it answers, so give the
    reader thread a moment to catch up."""
    deadline = time.monotonic() + wait
    while len(server.output()) == offset and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.output()[offset:]


def _server_lines(text: str) -> str:
    """What the server printed while handling a request, on one line, clipped."""
    return _clip(" | ".join(line.strip() for line in text.splitlines() if line.strip()), 600)
