"""The sandbox's container image registry: what ACR builds produce and deployments pull.

An image is identified by (login_server, repository, tag), e.g. ("rdeploysandboxacr.azurecr.io",
"r-forecast", "1"), and holds the files of its build context (the docker-context folder:
Dockerfile, start_plumber.R, ...) plus free-form metadata the build recorded. Contents are stored
once per digest under state_dir/images/<digest>/; the index lives in the state document, so a
restarted sandbox still knows every image.

Metadata keys the deployment hosting reads (all optional):
    "container":         what the container runs (container.ContainerConfig.to_metadata: ENTRYPOINT, CMD, WORKDIR and
                         the image paths of its files); without it, what the image's Dockerfile says
    "start_script":      path inside `files` of the script the container's command runs
    "r_packages":        R packages the image installs (the host's R runs the container)
    "r_packages_missing": packages an unchecked install step left out (the build did not fail)
    "r_packages_missing_on_host": packages the image installs that this machine's R lacks (named at build time)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rdeploy_tui.sandbox.state import SandboxStateFile


@dataclass
class Image:
    login_server: str
    repository: str
    tag: str
    digest: str
    created: float
    folder: Path  # the image's files, laid out as in the build context
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"{self.login_server}/{self.repository}:{self.tag}"

    @property
    def size(self) -> int:
        """Bytes of the image's files (what the registry's storage usage counts)."""
        return sum(path.stat().st_size for path in self.folder.rglob("*") if path.is_file())

    def files(self) -> dict[str, bytes]:
        return {
            path.relative_to(self.folder).as_posix(): path.read_bytes()
            for path in sorted(self.folder.rglob("*"))
            if path.is_file()
        }


class ImageRegistry:
    def __init__(self, state: SandboxStateFile, folder: Path) -> None:
        self._state = state
        self._folder = folder

    def record_image(
        self,
        login_server: str,
        repository: str,
        tag: str,
        files: dict[str, bytes],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> Image:
        """Remember a built image (re-recording a tag moves it, as a docker push does). Returns it with its digest."""
        digest = "sha256:" + _digest(files, metadata or {})
        folder = self._folder / digest.split(":", 1)[1]
        if not folder.exists():
            tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
            for name, data in files.items():
                relative = PurePosixPath(name)
                if relative.is_absolute() or ".." in relative.parts:
                    raise ValueError(f"Image file name {name!r} must be a relative path inside the image.")
                target = tmp / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            tmp.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, folder)
        entry = {"digest": digest, "created": time.time(), "metadata": dict(metadata or {})}
        with self._state.edit() as state:
            self._state.collection(state, "images")[_key(login_server, repository, tag)] = entry
        return self._image(login_server, repository, tag, entry)

    def get_image(self, login_server: str, repository: str, tag: str) -> Image | None:
        with self._state.view() as data:
            entry = data.get("images", {}).get(_key(login_server, repository, tag))
        return None if entry is None else self._image(login_server, repository, tag, entry)

    def resolve(self, reference: str) -> Image | None:
        """The image for "loginserver/repo:tag" (tag defaults to latest), or None."""
        login_server, _, rest = reference.partition("/")
        repository, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
        if not repository:
            return None
        return self.get_image(login_server, repository, tag or "latest")

    def list_images(self, login_server: str | None = None) -> list[Image]:
        with self._state.view() as data:
            entries = dict(data.get("images", {}))
        images = []
        for key, entry in sorted(entries.items()):
            server, repository, tag = json.loads(key)
            if login_server is None or server.lower() == login_server.lower():
                images.append(self._image(server, repository, tag, entry))
        return images

    def _image(self, login_server: str, repository: str, tag: str, entry: dict[str, Any]) -> Image:
        return Image(
            login_server,
            repository,
            tag,
            entry["digest"],
            entry["created"],
            self._folder / entry["digest"].split(":", 1)[1],
            dict(entry.get("metadata", {})),
        )


def _key(login_server: str, repository: str, tag: str) -> str:
    # Registry host names are case-insensitive; repositories and tags are not.
    return json.dumps([login_server.lower(), repository, tag])


def _digest(files: dict[str, bytes], metadata: dict[str, Any]) -> str:
    hasher = hashlib.sha256()
    for name in sorted(files):
        hasher.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    hasher.update(json.dumps(metadata, sort_keys=True, default=str).encode())
    return hasher.hexdigest()
