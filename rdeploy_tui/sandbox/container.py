"""What a container of an image runs, by Docker's rules, and running it on this machine in its own network namespace.

The command. Docker combines ENTRYPOINT and CMD (Dockerfile reference, "Understand how CMD and ENTRYPOINT interact",
docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact):
- only the last ENTRYPOINT and the last CMD of the (final) stage count; both are inherited from the base image;
- ENTRYPOINT in exec form runs with CMD's words appended (CMD in shell form is appended as `/bin/sh -c "..."`);
- ENTRYPOINT in shell form runs `/bin/sh -c "..."` and ignores CMD;
- no ENTRYPOINT (or `ENTRYPOINT []`): CMD runs on its own;
- setting ENTRYPOINT resets a CMD inherited from the base image to empty.
The base images' own ENTRYPOINT and CMD (BASE_CONFIG) are their published Dockerfiles': rstudio/plumber's
(github.com/rstudio/plumber Dockerfile, commit b6a8b01) plumbs its last argument and defaults CMD to ~/plumber.R, a copy
of plumber's 04-mean-sum example; rocker/r-ver (rocker-org/rocker-versioned2 dockerfiles/r-ver_*.Dockerfile) and
r-base (rocker-org/rocker r-base/latest/Dockerfile) run `R`.

The run. The image's files (what the build copied in, at their paths in the image) are laid out under a folder, and
the command's words naming them (and `~`, the image's HOME=/root) point there; the executable is this machine's (R,
Rscript, sh). Where the machine allows it (root, or CAP_SYS_ADMIN: CI), the container gets its own network namespace:
its loopback interface, which also carries the container's address (CONTAINER_IP), so a server on 0.0.0.0:8000 binds the
container's own port 8000, and the sandbox reaches that address and port as Azure's probes and router reach the
container's, through a forwarder (a host-side listening socket opened before the namespace is entered). A server
bound to 127.0.0.1 is then unreachable, as in Azure. Elsewhere the deployment's log says so and the container shares
this machine's network: PLUMBER_HOST/PLUMBER_PORT (rdeploy-tui's start_plumber.R reads them) pick a free port.
Sandbox limits: file paths inside scripts (not command words) are not remapped; executables other than this machine's
are missing, as `exec: "X": executable file not found in $PATH`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rdeploy_tui.sandbox import dockerfile

CONTAINER_IP = "10.0.0.4"  # the address Azure's probe messages show for a container (hosting's simulated probes too)
HOME = "/root"

# rstudio/plumber's ENTRYPOINT, word for word from its Dockerfile (see above).
PLUMBER_ENTRYPOINT = [
    "R",
    "-e",
    "pr <- plumber::plumb(rev(commandArgs())[1]); args <- list(host = '0.0.0.0', port = 8000); "
    "if (packageVersion('plumber') >= '1.0.0') { pr$setDocs(TRUE) } else { args$swagger <- TRUE }; "
    "do.call(pr$run, args)",
]
BASE_CONFIG: dict[str, dict[str, Any]] = {
    "rstudio/plumber": {"entrypoint": PLUMBER_ENTRYPOINT, "cmd": ["~/plumber.R"]},
    "rocker/r-ver": {"entrypoint": None, "cmd": ["R"]},
    "r-base": {"entrypoint": None, "cmd": ["R"]},
}


@dataclass
class ContainerConfig:
    """ENTRYPOINT, CMD, WORKDIR and files of an image, as the build left them (stored in the image's metadata)."""

    entrypoint: list[str] | None = None
    entrypoint_shell: bool = False
    cmd: list[str] | None = None
    workdir: str = "/"
    paths: dict[str, str] = field(default_factory=dict)  # absolute path in the image -> key in the image's files
    base: str = ""  # the base image's repository, when it is a known one

    @classmethod
    def for_base(cls, repository: str, inherited: dict[str, Any] | None = None) -> ContainerConfig:
        """A stage's start: a known base image's ENTRYPOINT/CMD, or what an image of the workspace registry had."""
        if inherited:
            config = cls.from_metadata(inherited)
            config.paths = {}  # the files of a registry image are not carried into a build (a sandbox limit)
            return config
        base = next((key for key in BASE_CONFIG if repository == key or repository.endswith("/" + key)), "")
        known = BASE_CONFIG.get(base, {})
        return cls(
            entrypoint=list(known["entrypoint"]) if known.get("entrypoint") else None,
            cmd=list(known["cmd"]) if known.get("cmd") else None,
            base=base,
        )

    def set_entrypoint(self, args: str) -> None:
        form = dockerfile.exec_form(args)
        self.entrypoint = None if form == [] else dockerfile.command(args)
        self.entrypoint_shell = form is None
        self.cmd = None  # setting ENTRYPOINT resets an inherited CMD

    def set_cmd(self, args: str) -> None:
        form = dockerfile.exec_form(args)
        self.cmd = None if form == [] else dockerfile.command(args)

    def set_workdir(self, path: str) -> None:
        self.workdir = str(PurePosixPath(self.workdir) / path) if not path.startswith("/") else path

    def copy(self, source: str, target: str) -> None:
        absolute = target if target.startswith("/") else str(PurePosixPath(self.workdir) / target)
        self.paths[absolute] = source

    def argv(self) -> list[str]:
        """The command the container runs (Docker's rules above); empty when there is none."""
        if self.entrypoint:
            return list(self.entrypoint) if self.entrypoint_shell else list(self.entrypoint) + list(self.cmd or [])
        return list(self.cmd or [])

    def to_metadata(self) -> dict[str, Any]:
        return {
            "entrypoint": self.entrypoint,
            "entrypoint_shell": self.entrypoint_shell,
            "cmd": self.cmd,
            "workdir": self.workdir,
            "paths": dict(self.paths),
            "base": self.base,
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> ContainerConfig:
        return cls(
            entrypoint=metadata.get("entrypoint"),
            entrypoint_shell=bool(metadata.get("entrypoint_shell")),
            cmd=metadata.get("cmd"),
            workdir=metadata.get("workdir") or "/",
            paths=dict(metadata.get("paths") or {}),
            base=metadata.get("base") or "",
        )


def config_from_dockerfile(files: dict[str, bytes], path: str = "Dockerfile") -> ContainerConfig | None:
    """The container config a Dockerfile in `files` gives its image (for image records made without one: images a
    caller recorded from a docker context). None without a Dockerfile."""
    if path not in files:
        return None
    config = ContainerConfig()
    args: dict[str, str] = {}
    for instruction in dockerfile.parse(files[path].decode("utf-8", "replace")):
        keyword, text = instruction.keyword, instruction.args
        if keyword == "ARG":
            name, _, default = text.partition("=")
            args.setdefault(name.strip(), default.strip().strip("\"'"))
        elif keyword == "FROM":
            words = [w for w in text.split() if not w.startswith("--")]
            reference = _substitute(words[0] if words else "", args)
            config = ContainerConfig.for_base(_repository(reference))
        elif keyword == "ENTRYPOINT":
            config.set_entrypoint(text)
        elif keyword == "CMD":
            config.set_cmd(text)
        elif keyword == "WORKDIR":
            config.set_workdir(text.strip())
        elif keyword in ("COPY", "ADD") and not dockerfile.copy_from_stage(text):
            sources, destination = dockerfile.copy_sources(text)
            for source in sources:
                name = str(PurePosixPath(source.lstrip("./") or "."))
                if name in files:
                    target = destination.rstrip("/") + "/" + PurePosixPath(name).name
                    config.copy(name, target if destination.endswith("/") or len(sources) > 1 else destination)
    return config


def _substitute(text: str, args: dict[str, str]) -> str:
    import re

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), text)


def _repository(reference: str) -> str:
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(last)] + last.split(":", 1)[0]


# ----- laying the image out and running it -----------------------------------------------------------------
@dataclass
class Prepared:
    argv: list[str]  # with this machine's executable and the image's paths
    cwd: Path
    home: Path
    problem: str | None = None  # what Docker would say when the command cannot start


def prepare(
    config: ContainerConfig,
    files: dict[str, bytes],
    rootfs: Path,
    extra: dict[str, bytes] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> Prepared:
    """Write the image's files under `rootfs` at their image paths and map the command's words onto them; `which`
    finds this machine's executable for a name (R, Rscript, sh)."""
    shutil.rmtree(rootfs, ignore_errors=True)
    home = rootfs / HOME.lstrip("/")
    home.mkdir(parents=True, exist_ok=True)
    for image_path, key in {**config.paths}.items():
        if key in files:
            _write(rootfs, image_path, files[key])
    for image_path, data in (extra or {}).items():
        _write(rootfs, image_path, data)
    argv = config.argv()
    cwd = rootfs / config.workdir.lstrip("/")
    cwd.mkdir(parents=True, exist_ok=True)
    if not argv:
        return Prepared([], cwd, home, "Error response from daemon: No command specified")
    mapped = [_map_path(word, rootfs) for word in argv]
    executable = which(mapped[0]) if "/" not in mapped[0] else mapped[0]
    if executable is None or not os.access(executable, os.X_OK):
        return Prepared(mapped, cwd, home, f'exec: "{argv[0]}": executable file not found in $PATH')
    return Prepared([executable, *mapped[1:]], cwd, home)


def _write(rootfs: Path, image_path: str, data: bytes) -> None:
    relative = PurePosixPath(image_path.lstrip("/"))
    if ".." in relative.parts or not relative.parts:
        return
    target = rootfs / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _map_path(word: str, rootfs: Path) -> str:
    if word.startswith("~/"):
        return str(rootfs / HOME.lstrip("/") / word[2:])
    if word.startswith("/") and (rootfs / word.lstrip("/")).exists():
        return str(rootfs / word.lstrip("/"))
    return word


# The launcher: in the new process (already bound to die with the sandbox, see rdeploy_tui.local.plumber), open the
# host-side listening sockets, enter a new network namespace, bring up lo with the container's address (CONTAINER_IP;
# a dummy eth0 would need a kernel module containers often lack), fork the forwarder
# (which dies with the container), then exec the container's command. Exit 97 when the namespace cannot be made.
NETNS_UNAVAILABLE = 97
NO_NETNS_ENV = "RDEPLOY_SANDBOX_NO_NETNS"  # set: containers share this machine's network even where namespaces work
_LAUNCHER = r"""
import ctypes, os, signal, socket, subprocess, sys, threading
ports = [tuple(int(p) for p in pair.split(":")) for pair in sys.argv[1].split(",") if pair]
ip, argv = sys.argv[2], sys.argv[3:]
listeners = []
for host_port, _ in ports:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", host_port)); s.listen(64); listeners.append(s)
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x40000000) != 0:
    sys.stderr.write("rdeploy-sandbox: no network namespace: %s\n" % os.strerror(ctypes.get_errno())); sys.exit(97)
for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", ip + "/32", "dev", "lo"]):
    if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode != 0:
        sys.stderr.write("rdeploy-sandbox: no network namespace: %s failed\n" % " ".join(cmd)); sys.exit(97)
parent = os.getpid()
if os.fork() == 0:
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent: os._exit(0)
    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data: break
                b.sendall(data)
        except OSError: pass
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
    def serve(listener, port):
        while True:
            client, _ = listener.accept()
            try: upstream = socket.create_connection((ip, port), timeout=5); upstream.settimeout(None)
            except OSError: client.close(); continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()
    for listener, (_, port) in zip(listeners, ports):
        threading.Thread(target=serve, args=(listener, port), daemon=True).start()
    threading.Event().wait()
for s in listeners: s.close()
os.execv(argv[0], argv)
"""


def launcher_argv(port_map: list[tuple[int, int]], argv: list[str]) -> list[str]:
    """The process to start for a container with its own network namespace: (host port, container port) pairs."""
    ports = ",".join(f"{host}:{inside}" for host, inside in port_map)
    return [sys.executable, "-c", _LAUNCHER, ports, CONTAINER_IP, *argv]


_NETNS_PROBE = r"""
import ctypes, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x40000000) != 0: sys.exit(1)
for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", "10.0.0.4/32", "dev", "lo"]):
    if subprocess.run(cmd, capture_output=True).returncode != 0: sys.exit(2)
"""


def network_namespaces() -> str | None:
    """None when this machine gives containers their own network namespace; else why not (for the deployment log)."""
    if os.environ.get(NO_NETNS_ENV):
        return f"{NO_NETNS_ENV} is set"
    if not sys.platform.startswith("linux"):
        return "network namespaces are a Linux feature"
    if shutil.which("ip") is None:
        return "the `ip` tool (iproute2) is not installed"
    try:
        probe = subprocess.run([sys.executable, "-c", _NETNS_PROBE], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the namespace probe failed: {exc}"
    if probe.returncode == 1:
        return "unshare(CLONE_NEWNET) is not permitted (run as root, or with CAP_SYS_ADMIN)"
    if probe.returncode != 0:
        return "the container's address could not be set inside a new namespace (ip addr add ... dev lo failed)"
    return None
