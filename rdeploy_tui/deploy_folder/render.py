"""DeploySpec -> the r-deploy-azureml folder of Microsoft's how-to, byte for byte deterministic.

    docker-context/Dockerfile        docker-context/start_plumber.R     src/plumber.R (+ src/rdeploy_model.R)
    endpoint.yml                     deployment.yml                     sample-request.json

Only validated values reach a template (render refuses a spec with errors), and every value that
goes into R or shell text has passed an allow-list in rules.py, so nothing here needs escaping.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from rdeploy_tui import bounded_read
from rdeploy_tui.deploy_folder.templates import asset, docker_template
from rdeploy_tui.spec import base_images, rules
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError

DOCKER_CONTEXT = "docker-context"
ENTRY_SCRIPT = "plumber.R"
MODEL_LIBRARY = "rdeploy_model.R"  # beside the generated plumber.R: how each kind of model is loaded and scored
# plumber serves the API whatever the base image holds; crates are built with carrier (a simple one loads without
# it); the generated API reads a vetiver pin's data.txt with yaml. Each is installed and loaded with the model's.
ALWAYS_INSTALLED = ("plumber", "carrier")
_KIND_PACKAGES = {"crate": ("plumber", "carrier"), "fitted": ("plumber",), "vetiver": ("plumber", "yaml")}
_KIND_TEXT = {
    "crate": ("a carrier crate", "the JSON body's fields become the crate's named arguments"),
    "fitted": ("a fitted model scored with predict()", "predict() on the JSON body's rows, checked column by column"),
    "vetiver": ("a vetiver model", "predict() on the JSON body's rows, checked against the vetiver prototype"),
}
REGISTRY_PLACEHOLDER = "ACR_NAME.azurecr.io"
ENDPOINT_SCHEMA = "https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json"
DEPLOYMENT_SCHEMA = "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json"
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


@dataclass(frozen=True)
class Rendered:
    files: dict[str, bytes]  # relative posix path -> content, in a fixed order
    image_repository: str
    image_tag: str
    registry: str  # login server, or REGISTRY_PLACEHOLDER when not known yet

    @property
    def image_name(self) -> str:
        """repository:tag, as `az acr build -t` takes it."""
        return f"{self.image_repository}:{self.image_tag}"

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.image_name}"

    def docker_context(self) -> dict[str, bytes]:
        prefix = DOCKER_CONTEXT + "/"
        return {k[len(prefix) :]: v for k, v in self.files.items() if k.startswith(prefix)}

    def code_files(self) -> dict[str, bytes]:
        """The code folder (AML_APP_ROOT): plumber.R and what it sources, by name relative to src/."""
        return {k.removeprefix("src/"): v for k, v in self.files.items() if k.startswith("src/")}

    def write_code(self, folder: Path) -> Path:
        """The code folder written into `folder` (made when missing); returns it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.code_files().items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        return folder

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")


def fill(template: str, values: dict[str, str]) -> str:
    """Replace {{NAME}} markers; a marker without a value is a bug in the template, not user input."""

    def sub(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(sub, template)


def always_installed(kind: str) -> tuple[str, ...]:
    """The packages the image installs for a model of this kind whatever the list says (see ALWAYS_INSTALLED)."""
    return _KIND_PACKAGES.get(kind, ALWAYS_INSTALLED)


def r_packages(spec: DeploySpec) -> list[str]:
    """The kind's fixed packages first (plumber, ...), then the user's packages in their order, without repeats."""
    fixed = always_installed(spec.model.kind)
    seen = {p.lower() for p in fixed}
    return list(fixed) + [p for p in spec.image.r_packages if p.lower() not in seen]


def package_repository(spec: DeploySpec) -> str:
    """The dated binary repository packages install from, or "" to keep the base image's own (no snapshot asked
    for, or a base image this tool does not know the distribution of)."""
    snapshot = spec.image.package_snapshot
    image = base_images.lookup(spec.image.base)
    if snapshot == "none" or image is None or not image.binary:
        return ""
    return image.snapshot_url(snapshot) or ""


def base_copy_name(base: str) -> str:
    """Where the base image's copy lives in the workspace registry: base/<repository>:<tag>."""
    _, repository, tag = base_images.split_reference(base)
    return f"base/{repository}:{tag}"


def registry_name(login_server: str) -> str:
    """The name `az acr` takes (-r/-n) for a login server: its first label (myacr.azurecr.io -> myacr)."""
    return login_server.split(".", 1)[0]


def content_tag(context: dict[str, bytes]) -> str:
    """A tag that changes exactly when the docker context changes."""
    digest = hashlib.sha256()
    for name in sorted(context):
        digest.update(name.encode() + b"\0" + context[name] + b"\0")
    return digest.hexdigest()[:16]


def render(spec: DeploySpec, *, base_dir: Path | None = None, registry: str | None = None) -> Rendered:
    """Render every file. Raises SpecError when the spec has errors (nothing half-made)."""
    problems = rules.errors(rules.validate(spec, base_dir))
    if registry is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,252}(?::[0-9]{1,5})?", registry):
        problems.append(rules.Problem("registry", f"registry login server {rules.show(registry)} is not a host name"))
    if problems:
        raise SpecError(problems)

    port = str(spec.scoring.port)
    repository = spec.image.repository
    packages = ", ".join(f'"{p}"' for p in r_packages(spec))
    # start_plumber.R loads what the model uses (not plumber: it loads with the API anyway)
    preload = ", ".join(f'"{p}"' for p in r_packages(spec) if p != "plumber")
    start_script = fill(docker_template("start_plumber.R").read_text(), {"PORT": port, "R_PACKAGES": preload})
    repo_url = package_repository(spec)
    install_script = fill(
        docker_template("install_packages.R").read_text(), {"REPO_URL": repo_url, "R_PACKAGES": packages}
    )
    repo_note = f"the package snapshot {repo_url}" if repo_url else "the base image's own package repository"

    def dockerfile(tag: str, login_server: str) -> str:
        image_name = f"{repository}:{tag}"
        return fill(
            docker_template("Dockerfile").read_text(),
            {
                "ACR_NAME": registry_name(login_server),
                "LOGIN_SERVER": login_server,
                "IMAGE_NAME": image_name,
                "BASE_IMAGE": spec.image.base,
                "BASE_COPY": base_copy_name(spec.image.base),
                "REPO_NOTE": repo_note,
                "PORT": port,
            },
        )

    # The auto tag hashes the context as it would be without the tag in it, so it is a fixed point. The base image
    # (Dockerfile) and the dated package repository (install_packages.R) are in it: changing either changes the tag.
    # The registry is not: the Dockerfile's header names it only in comments, so `init` (no registry known) and a
    # deploy (the workspace's) give the same tag.
    tag = spec.image.tag
    if tag == "auto":
        tag = content_tag(
            {
                "Dockerfile": dockerfile("auto", REGISTRY_PLACEHOLDER).encode(),
                "install_packages.R": install_script.encode(),
                "start_plumber.R": start_script.encode(),
            }
        )
    image = f"{registry or REGISTRY_PLACEHOLDER}/{repository}:{tag}"

    files = {
        f"{DOCKER_CONTEXT}/Dockerfile": dockerfile(tag, registry or REGISTRY_PLACEHOLDER),
        f"{DOCKER_CONTEXT}/install_packages.R": install_script,
        f"{DOCKER_CONTEXT}/start_plumber.R": start_script,
        f"src/{ENTRY_SCRIPT}": _scoring_script(spec, base_dir),
        **({f"src/{MODEL_LIBRARY}": asset(MODEL_LIBRARY).read_text()} if spec.scoring.script is None else {}),
        "endpoint.yml": _endpoint_yaml(spec),
        "deployment.yml": _deployment_yaml(spec, image),
        "sample-request.json": json.dumps(spec.scoring.sample_request, indent=2) + "\n",
    }
    return Rendered(
        files={k: v.encode("utf-8") for k, v in files.items()},
        image_repository=repository,
        image_tag=tag,
        registry=registry or REGISTRY_PLACEHOLDER,
    )


def _scoring_script(spec: DeploySpec, base_dir: Path | None) -> str:
    if spec.scoring.script is not None:
        path = Path(spec.scoring.script)
        if not path.is_absolute():
            path = Path(base_dir or ".") / path
        return bounded_read.read_text(path, bounded_read.SCORING_SCRIPT)  # the user's file: bounded, never blocking
    routes = spec.scoring.routes
    kind_text, score_text = _KIND_TEXT[spec.model.kind]
    return fill(
        asset("plumber.R").read_text(),
        {
            "MODEL_NAME": spec.model.name,
            "MODEL_KIND": spec.model.kind,
            "MODEL_FILE": spec.model.file,
            "KIND_TEXT": kind_text,
            "SCORE_TEXT": score_text,
            "LIVE_ROUTE": routes.live,
            "READY_ROUTE": routes.ready,
            "SCORE_ROUTE": routes.score,
        },
    )


def _yaml(header: str, data: dict) -> str:
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=False)


def model_reference(spec: DeploySpec) -> str:
    """The az CLI form: azureml:NAME@latest or azureml:NAME:VERSION."""
    if spec.model.version == "latest":
        return f"azureml:{spec.model.name}@latest"
    return f"azureml:{spec.model.name}:{spec.model.version}"


def _endpoint_yaml(spec: DeploySpec) -> str:
    header = (
        "# Create: az ml online-endpoint create -f endpoint.yml\n"
        "# Delete when done (it bills while it exists): az ml online-endpoint delete -n " + spec.endpoint.name + "\n"
    )
    return _yaml(
        header,
        {"$schema": ENDPOINT_SCHEMA, "name": spec.endpoint.name, "auth_mode": spec.endpoint.auth_mode},
    )


def _deployment_yaml(spec: DeploySpec, image: str) -> str:
    d = spec.deployment
    port = spec.scoring.port
    routes = spec.scoring.routes
    probe = {
        "initial_delay": d.probes.initial_delay,
        "period": d.probes.period,
        "timeout": d.probes.timeout,
        "failure_threshold": d.probes.failure_threshold,
    }
    header = (
        "# Create (plumber.R is R, so the Python scoring-script check is skipped):\n"
        f"#   az ml online-deployment create -f deployment.yml --skip-script-validation"
        f"{' --all-traffic' if d.traffic == 100 else ''}\n"
        f"# Traffic: az ml online-endpoint update -n {spec.endpoint.name} --traffic {d.name}={d.traffic}\n"
    )
    return _yaml(
        header,
        {
            "$schema": DEPLOYMENT_SCHEMA,
            "name": d.name,
            "endpoint_name": spec.endpoint.name,
            "model": model_reference(spec),
            "code_configuration": {"code": "./src", "scoring_script": ENTRY_SCRIPT},
            "environment": {
                "image": image,
                "inference_config": {
                    "liveness_route": {"port": port, "path": routes.live},
                    "readiness_route": {"port": port, "path": routes.ready},
                    "scoring_route": {"port": port, "path": routes.score},
                },
            },
            "instance_type": d.instance_type,
            "instance_count": d.instance_count,
            "request_settings": {"request_timeout_ms": d.request_timeout_ms},
            "liveness_probe": dict(probe),
            "readiness_probe": dict(probe),
        },
    )


def write_folder(rendered: Rendered, out_dir: Path) -> list[Path]:
    """Write every file, each replaced atomically, so a reader never sees half a file. The files get the mode any file
    the user makes gets (0666 less the umask): they are the user's own, to read, share and commit."""
    out_dir = Path(out_dir)
    written = []
    for rel, content in rendered.files.items():
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, content)
        written.append(target)
    return written


def write_atomically(target: Path, content: bytes) -> None:
    """Replace `target` with `content` through a temporary file beside it. Made with os.open and mode 0666 so the
    kernel applies the umask (tempfile.mkstemp would make it 0600 whatever the umask)."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return
    raise FileExistsError(f"no free temporary name beside {target}")
