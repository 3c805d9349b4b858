"""Deployments run for real: each instance of a ready deployment is a container process started through
rdeploy_tui.local.plumber (instance_count of them; autoscale adds and removes them with `scale`).

The container runs what Docker would run for its image (container.py: ENTRYPOINT and CMD by Docker's rules, the
image's files laid out under rootfs/), with what Azure mounts: the uploaded code folder (AML_APP_ROOT), the model's
files (AZUREML_MODEL_DIR). Where the machine allows it the container has its own network namespace and the sandbox
probes and scores the port the inference config names on the container's address, as Azure does; elsewhere the
deployment's log says so and the container shares this machine's network. The first instance's stdout/stderr is the
inference-server log. Files live under state_dir/run/<deployment>/ and are rebuilt on every start; each further
instance keeps its pid file in a sibling folder (<deployment>-<n>/), so a restart reaps it too.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import shlex
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdeploy_tui.sandbox import container, ml
from rdeploy_tui.sandbox.arm import iso

READY_TIMEOUT_S = 60.0  # real seconds: R's own start-up is not simulated
# Real seconds a container may take to answer its probe once plumber says it is running (only the bind is left):
# a server that cannot be reached (bound to 127.0.0.1 inside its own network) fails then, not after a minute.
READY_AFTER_BANNER_S = 10.0
DEFAULT_PORT = 8000
PID_FILE = "plumber.pid"  # in state_dir/run/<deployment>/, beside app/ and model/


class ContainerFailure(Exception):
    """The deployment's container could not start; code/message as Azure reports them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Instance:
    """One instance of a deployment: a plumber process (its id is Azure Monitor's instanceId dimension)."""

    id: str
    process: Any  # rdeploy_tui.local.plumber.PlumberProcess
    folder: Path | None = None  # its own pid-file folder (the first instance shares the deployment's)
    in_flight: int = 0  # requests the front has sent it and not had answered (guarded by the Target's lock)

    def stop(self) -> None:
        self.process.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Target:
    """Where the front sends a deployment's requests: its instances, each a plumber process on 127.0.0.1."""

    scoring_path: str
    request_timeout_s: float
    instances: list[Instance] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _turn: Any = field(default_factory=itertools.count, repr=False)

    @property
    def url(self) -> str:
        """The first instance's http://127.0.0.1:PORT."""
        return self.instances[0].url

    @contextmanager
    def lease(self) -> Iterator[Instance]:
        """The instance with the fewest requests in flight (ties in turn) for one request. How Azure's front picks
        an instance is not documented; plumber answers one request at a time, so the least busy one answers first."""
        with self._lock:
            live = list(self.instances)
            turn = next(self._turn)
            chosen = min(live, key=lambda i: (i.in_flight, (live.index(i) - turn) % len(live)))
            chosen.in_flight += 1
        try:
            yield chosen
        finally:
            with self._lock:
                chosen.in_flight -= 1


@dataclass(frozen=True)
class _Recipe:
    """How to start one more instance of a running deployment (autoscale's scale-out)."""

    name: str
    folder: Path
    app_dir: Path
    model_dir: Path
    prepared: container.Prepared
    entry: str
    variables: dict[str, str]
    ready_path: str
    port: int


class DeploymentHosting:
    def __init__(self, sandbox: Any) -> None:
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self._processes: dict[str, Any] = {}  # each deployment's first instance (its output is the log)
        self._targets: dict[str, Target] = {}
        self._recipes: dict[str, _Recipe] = {}
        self._serial = itertools.count(1)  # instance ids never repeat within a sandbox run
        self._logs: dict[str, list[str]] = {}  # lines written by the platform (start-up, probes)
        self._exited_output: dict[str, str] = {}  # output of a process that has stopped
        self.reaped = _reap_orphans(sandbox.state_dir / "run")
        self._netns_problem: str | None = None
        self._netns_checked = False
        self._starting: dict[str, threading.Lock] = {}  # deployment id -> held while its container starts

    # ----- public -----
    def start(self, dep: dict[str, Any], *, simulate_probe_failure: bool = False) -> Target:
        """Start the deployment's container; raise ContainerFailure the way a failing container surfaces.

        One start at a time per deployment: two callers at once (a restart resuming both the deployment's container
        and its unfinished operation) would otherwise each start a process, and the first would be left running
        untracked (issue 25: an extra R process after a SIGKILL and a restart)."""
        key = dep["id"].lower()
        with self._lock:
            starting = self._starting.setdefault(key, threading.Lock())
        with starting:
            return self._start(key, dep, simulate_probe_failure)

    def _start(self, key: str, dep: dict[str, Any], simulate_probe_failure: bool) -> Target:
        self.stop(dep["id"])
        with self._lock:
            self._logs[key] = []
            self._exited_output.pop(key, None)
        env = ml.asset_by_id(self._sandbox, dep["properties"].get("environmentId") or "")
        env_props = (env or {}).get("properties", {})
        reference = env_props.get("image") or ""
        self._say(key, f"Pulling image {reference}")
        image = self._sandbox.images.resolve(reference) if reference else None
        if image is None:
            self._say(key, f"Failed to pull image {reference}: manifest unknown")
            raise ContainerFailure(
                "ImagePullFailure",
                f"The image '{reference}' could not be pulled: it is not in the workspace's container registry. "
                "Build and push it first (the ACR build step), then create the deployment again.",
            )
        self._say(key, f"Image {image.reference} ({image.digest[:19]}) pulled")
        if image.metadata.get("plumber") is False:
            # The image was built FROM a base without plumber (rocker/r-ver, r-base) and nothing installed it: R stops
            # at plumber::plumb in start_plumber.R, the container restarts, and the readiness probe never passes.
            for line in (
                "Error in loadNamespace(x) : there is no package called ‘plumber’",
                "Calls: loadNamespace -> withRestarts -> withOneRestart -> doWithOneRestart",
                "Execution halted",
                "Container exited with code 1",
            ):
                self._say(key, line)
            raise ContainerFailure("ResourceNotReady", _not_ready_message(ready_path_of(env_props)))
        config = _container_config(image)
        start_script = image.folder / image.metadata.get("start_script", "start_plumber.R")
        unloadable = image.metadata.get("r_packages_unloadable") or {}
        if unloadable and start_script.is_file() and "loadNamespace" in start_script.read_text(errors="replace"):
            # The host's R is not the image's: what the image's R would print at start-up for a package built without
            # its system library (build.py decided it), as rdeploy-tui's start_plumber.R words it.
            for package, reason in sorted(unloadable.items()):
                self._say(key, f"rdeploy: R package {package} does not load: {reason}")
        lacking = image.metadata.get("r_packages_missing_on_host") or []
        if lacking:
            self._say(
                key,
                f"sandbox: this machine's R lacks {', '.join(lacking)}, which the image installs; the container runs "
                "with this machine's R (a sandbox limit), so loading them fails here (the build log said how to "
                "install them)",
            )
        routes = env_props.get("inferenceConfig") or {}
        ready_path = (routes.get("readinessRoute") or {}).get("path") or "/ready"
        scoring_path = (routes.get("scoringRoute") or {}).get("path") or "/score"
        if simulate_probe_failure:
            self._probe_failures(key, ready_path, routes)
            raise ContainerFailure("ResourceNotReady", _not_ready_message(ready_path))
        app_dir, model_dir = self._materialize(dep)
        prepared = container.prepare(
            config, image.files(), app_dir.parent / "rootfs", _base_files(config), _which_on_this_machine
        )
        self._say(key, f"Starting container: {shlex.join(config.argv())}")
        if prepared.problem is not None:
            self._say(key, prepared.problem)
            hint = ""
            if config.argv() and config.argv()[0] in ("R", "Rscript"):
                hint = (
                    " The sandbox runs containers with this machine's R, and it has none: install R with plumber "
                    "(apt-get install r-base-core r-cran-plumber r-cran-jsonlite)."
                )
            raise ContainerFailure(
                "ResourceNotReady", f"The inference-server container could not start: {prepared.problem}.{hint}"
            )
        code_config = dep["properties"].get("codeConfiguration") or {}
        variables = dict(dep["properties"].get("environmentVariables") or {})
        entry = code_config.get("scoringScript") or variables.get("AZUREML_ENTRY_SCRIPT") or "plumber.R"
        port = int((routes.get("readinessRoute") or {}).get("port") or DEFAULT_PORT)
        process = self._launch(
            key, app_dir, model_dir, prepared, entry, variables, ready_path, port, app_dir.parent / PID_FILE
        )
        recipe = _Recipe(dep["name"], app_dir.parent, app_dir, model_dir, prepared, entry, variables, ready_path, port)
        timeout = _duration_s(((dep["properties"].get("requestSettings") or {}).get("requestTimeout")) or "PT5S")
        target = Target(scoring_path, timeout, [Instance(self._instance_id(recipe), process)])
        with self._lock:
            self._processes[key] = process
            self._targets[key] = target
            self._recipes[key] = recipe
        try:
            self._add_instances(key, recipe, target, int(dep.get("instance_count") or 1) - 1)
        except ContainerFailure:
            self.stop(dep["id"])
            raise
        return target

    def scale(self, dep_id: str, count: int) -> None:
        """Run `count` instances of a running deployment: start more (each waits for its readiness route) or stop
        the newest. Blocks until done; the front routes to a new instance only once it is ready."""
        key = dep_id.lower()
        with self._lock:
            target, recipe = self._targets.get(key), self._recipes.get(key)
        if target is None or recipe is None or count < 1:
            return
        with target._lock:
            surplus = target.instances[count:] if len(target.instances) > count else []
            target.instances[count:] = []
        for instance in reversed(surplus):
            self._say(key, f"Instance {instance.id} removed (scale in)")
            instance.stop()
        self._add_instances(key, recipe, target, count - len(target.instances))

    def instances(self, dep_id: str) -> list[Instance]:
        """The ready instances of a deployment (empty when it runs none)."""
        with self._lock:
            target = self._targets.get(dep_id.lower())
        if target is None:
            return []
        with target._lock:
            return list(target.instances)

    def _instance_id(self, recipe: _Recipe) -> str:
        # Azure's instance ids are not documented in a form to copy: the deployment's name and a serial number.
        return f"{recipe.name}-{next(self._serial)}"

    def _add_instances(self, key: str, recipe: _Recipe, target: Target, more: int) -> None:
        """Start `more` further instances together; each joins the target once its readiness route answers."""
        if more <= 0:
            return

        def one(_: int) -> None:
            instance_id = self._instance_id(recipe)
            folder = recipe.folder.with_name(f"{recipe.folder.name}-{instance_id.rsplit('-', 1)[1]}")
            process = self._launch(
                key,
                recipe.app_dir,
                recipe.model_dir,
                recipe.prepared,
                recipe.entry,
                recipe.variables,
                recipe.ready_path,
                recipe.port,
                folder / PID_FILE,
            )
            with self._lock:
                running = self._targets.get(key) is target
            instance = Instance(instance_id, process, folder)
            if not running:  # stopped while this instance started
                instance.stop()
                return
            with target._lock:
                target.instances.append(instance)
            self._say(key, f"Instance {instance_id} added")

        with ThreadPoolExecutor(max_workers=min(more, 8), thread_name_prefix="sandbox-instance") as pool:
            list(pool.map(one, range(more)))

    def stop(self, dep_id: str) -> None:
        key = dep_id.lower()
        with self._lock:
            process = self._processes.pop(key, None)
            target = self._targets.pop(key, None)
            self._recipes.pop(key, None)
        if target is not None:
            with target._lock:
                others, target.instances[:] = [i for i in target.instances if i.process is not process], []
            for instance in others:
                instance.stop()
        if process is not None:
            process.stop()
            with self._lock:
                self._exited_output[key] = _safe_output(process)

    def stop_all(self) -> None:
        with self._lock:
            keys = list(self._processes)
        for key in keys:
            self.stop(key)

    def target(self, dep_id: str) -> Target | None:
        with self._lock:
            return self._targets.get(dep_id.lower())

    def logs(self, dep_id: str) -> str:
        key = dep_id.lower()
        with self._lock:
            platform = list(self._logs.get(key, []))
            process = self._processes.get(key)
            output = _safe_output(process) if process is not None else self._exited_output.get(key, "")
        return "\n".join(platform + ([output.rstrip("\n")] if output else []))

    # ----- internals -----
    def _say(self, key: str, line: str) -> None:
        with self._lock:
            self._logs.setdefault(key, []).append(f"{iso(time.time())} {line}")

    def _probe_failures(self, key: str, ready_path: str, routes: dict[str, Any]) -> None:
        port = (routes.get("readinessRoute") or {}).get("port") or DEFAULT_PORT
        self._say(key, "Starting container: Rscript /tmp/start_plumber.R")
        address = f"{container.CONTAINER_IP}:{port}"
        for _ in range(3):
            self._say(
                key,
                f'Readiness probe failed: Get "http://{address}{ready_path}": dial tcp {address}: connect: '
                "connection refused",
            )
        self._say(key, "Container did not become ready within the readiness probe's failure threshold")

    def _materialize(self, dep: dict[str, Any]) -> tuple[Path, Path]:
        folder = self._sandbox.state_dir / "run" / hashlib.sha256(dep["id"].lower().encode()).hexdigest()[:16]
        shutil.rmtree(folder, ignore_errors=True)
        app_dir, model_dir = folder / "app", folder / "model"
        code_id = (dep["properties"].get("codeConfiguration") or {}).get("codeId")
        code = ml.asset_by_id(self._sandbox, code_id) if code_id else None
        _write_tree(app_dir, ml.code_files(self._sandbox, code) if code else {})
        model = ml.asset_by_id(self._sandbox, dep["properties"].get("model") or "")
        _write_tree(model_dir, ml.model_files(self._sandbox, model) if model else {})
        self._say(dep["id"].lower(), "Code and model mounted (AML_APP_ROOT, AZUREML_MODEL_DIR)")
        return app_dir, model_dir

    def _launch(
        self,
        key: str,
        app_dir: Path,
        model_dir: Path,
        prepared: container.Prepared,
        entry: str,
        variables: dict[str, str],
        ready_path: str,
        port: int,
        pid_file: Path,
    ) -> Any:
        try:
            from rdeploy_tui.local import plumber as local
        except ImportError:
            raise ContainerFailure(
                "ResourceNotReady",
                "The sandbox cannot run containers: rdeploy_tui.local.plumber (the process runner) is missing.",
            ) from None
        env = _host_env()
        env.update(local.container_env(app_dir.resolve(), model_dir.resolve(), entry))
        env["HOME"] = str(prepared.home)
        env.update(variables)
        host_port = local.free_port()
        url = f"http://{local.LOOPBACK}:{host_port}"
        problem = self._network_namespace_problem()
        if problem is None:
            argv = container.launcher_argv([(host_port, port)], prepared.argv)
            self._say(key, f"Container network: its own namespace; probing {container.CONTAINER_IP}:{port}{ready_path}")
        else:
            # Today's port mapping: rdeploy-tui's start_plumber.R serves where PLUMBER_HOST/PLUMBER_PORT say.
            argv = prepared.argv
            env.update({"PLUMBER_HOST": local.LOOPBACK, "PLUMBER_PORT": str(host_port)})
            self._say(
                key,
                f"sandbox: no network namespace for this container ({problem}); it shares this machine's network and "
                f"is probed on {local.LOOPBACK}:{host_port} (PLUMBER_PORT) instead of its own port {port}",
            )
        try:
            process = local.PlumberProcess(argv, env, url, cwd=prepared.cwd, pid_file=pid_file)
        except local.LocalRunError as exc:
            self._say(key, f"Container failed to start: {exc.what}")
            raise ContainerFailure(
                "ResourceNotReady", f"The inference-server container failed to start: {exc.what}"
            ) from None
        try:
            process.wait_ready(ready_path, timeout=READY_TIMEOUT_S, after_banner=READY_AFTER_BANNER_S)
        except local.LocalRunError as exc:
            output = _safe_output(process)
            process.stop()
            if problem is None and process.returncode == container.NETNS_UNAVAILABLE:
                # The probe said yes but this container's namespace could not be made: share the network instead.
                with self._lock:
                    self._netns_problem = output.strip().splitlines()[-1] if output.strip() else "unshare failed"
                return self._launch(key, app_dir, model_dir, prepared, entry, variables, ready_path, port, pid_file)
            with self._lock:
                self._exited_output[key] = output
            self._say(key, f"Readiness probe on {ready_path} failed; container exited")
            raise ContainerFailure(
                "ResourceNotReady", f"{_not_ready_message(ready_path)} The container said: {exc.what}"
            ) from None
        self._say(key, f"Readiness probe on {ready_path} succeeded")
        return process

    def _network_namespace_problem(self) -> str | None:
        """Checked once per sandbox: None when containers get their own network namespace here."""
        with self._lock:
            if not self._netns_checked:
                self._netns_problem = container.network_namespaces()
                self._netns_checked = True
            return self._netns_problem


def _container_config(image: Any) -> container.ContainerConfig:
    """What the image's container runs: recorded by its build or push; for an image recorded from a docker context
    without one, what its Dockerfile says; else its start script run by Rscript."""
    if image.metadata.get("container"):
        return container.ContainerConfig.from_metadata(image.metadata["container"])
    files = image.files()
    derived = container.config_from_dockerfile(files)
    if derived is not None:
        return derived
    script = image.metadata.get("start_script", "start_plumber.R")
    return container.ContainerConfig(cmd=["Rscript", f"/{script}"], paths={f"/{script}": script})


def _base_files(config: container.ContainerConfig) -> dict[str, bytes]:
    """Files a known base image brings that its CMD uses: rstudio/plumber's ~/plumber.R is a copy of plumber's
    04-mean-sum example (its Dockerfile's ENTRYPOINT_FILE), taken from this machine's plumber."""
    if config.base != "rstudio/plumber":
        return {}
    for found in sorted(glob.glob("/usr/*/lib/R/*/plumber/plumber/04-mean-sum/plumber.R")) + sorted(
        glob.glob("/usr/lib/R/*/plumber/plumber/04-mean-sum/plumber.R")
    ):
        return {f"{container.HOME}/plumber.R": Path(found).read_bytes()}
    return {}


def _which_on_this_machine(name: str) -> str | None:
    """This machine's executable for a container's command word; R's through rdeploy_tui.local (RDEPLOY_RSCRIPT)."""
    if name in ("R", "Rscript"):
        from rdeploy_tui.local.plumber import find_rscript

        rscript = find_rscript()
        if rscript is None:
            return None
        sibling = Path(rscript).with_name(name)
        return str(sibling) if sibling.is_file() else shutil.which(name)
    return shutil.which(name)


def _host_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("PLUMBER_", "AZUREML_", "AML_"))}


def _reap_orphans(run_dir: Path) -> list[int]:
    """Plumber processes a previous sandbox on this folder left running (it was killed with SIGKILL where the
    kernel's parent-death signal is not available): stopped before this one starts its own."""
    try:
        from rdeploy_tui.local.plumber import reap_pid_files
    except ImportError:
        return []
    return reap_pid_files(run_dir, PID_FILE)


def ready_path_of(env_props: dict[str, Any]) -> str:
    return ((env_props.get("inferenceConfig") or {}).get("readinessRoute") or {}).get("path") or "/ready"


def _not_ready_message(ready_path: str) -> str:
    return (
        f"The inference-server container did not become ready: its readiness probe ({ready_path}) kept failing. "
        "Read the deployment's inference-server logs (get_logs) for the R error."
    )


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents:
            continue  # never write outside the mount (names come from uploaded blobs)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _safe_output(process: Any) -> str:
    try:
        return process.output()
    except Exception:  # a runner that cannot report output must not break log reads
        return ""


def _duration_s(text: str) -> float:
    """ISO 8601 durations as the SDK sends them (PT5S, PT1M30S, PT0.5S)."""
    import re

    match = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", text or "")
    if not match:
        return 5.0
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds
