"""What the public base images hold: R version, plumber, pak, the package repository R is pointed at.

One table of facts, read by the spec side (pinning `latest` to a version, the dated package snapshot, warnings) and by
the sandbox's build (which `FROM` exists, what the image then holds). Sources, read 2026-11-26:

- rocker/r-ver: rocker-org/rocker-versioned2 `build/args/history.tsv` and `build/args/*.json` (commit 69cded5,
  2026-06-30). Each R version has a tag; its R points at Posit Package Manager's Linux *binary* repository for the
  image's Ubuntu release, frozen at the date the next R came out ("r_freeze_date"), or `latest` for the newest R.
  Tags `4`, `4.6`, `latest` follow the newest release; `devel` points at cloud.r-project.org (source packages).
- rstudio/plumber: rstudio/plumber `.github/workflows/docker.yaml` and `Dockerfile` (commit b6a8b01, 2025-12-23).
  Tags latest (= v1.3.0), v1.3.0, v1.2.0, v1.1.0, v1.0.0, v0.4.6 and next, every one REBUILT MONTHLY on
  rocker/r-ver:latest: the tag pins plumber's version, not R's. The image adds pak, remotes and the system libraries
  libssl, libcurl (gnutls), libsodium, libxml2; its ENTRYPOINT plumbs CMD as a file.
- r-base: Docker's official image (docker-library/official-images, maintained by the rocker project): Debian testing
  with Debian's R, packages from cloud.r-project.org as SOURCE (every install compiles), no plumber, no pak.
  Which r-base version tags are still published is not checked here (older ones are removed over time: unknown).

Docker Hub adds tags every month; an image or tag missing here is a warning in `validate` (it may be newer than this
table), while the sandbox, which can only build what it knows, fails the pull as Docker would.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

ROCKER_SOURCE = "https://github.com/rocker-org/rocker-versioned2/blob/master/build/args/history.tsv"
PLUMBER_SOURCE = "https://github.com/rstudio/plumber/blob/main/.github/workflows/docker.yaml"
TABLE_DATE = "2026-06-30"  # the rocker-versioned2 commit the R versions come from

# r_version, Ubuntu release, freeze date of its binary repository ("" = latest): rocker-versioned2 history.tsv
_ROCKER_HISTORY = """
4.0.0 20.04 2020-06-04
4.0.1 20.04 2020-06-18
4.0.2 20.04 2020-10-09
4.0.3 20.04 2021-02-11
4.0.4 20.04 2021-03-30
4.0.5 20.04 2021-05-17
4.1.0 20.04 2021-08-09
4.1.1 20.04 2021-10-29
4.1.2 20.04 2022-03-09
4.1.3 20.04 2022-04-21
4.2.0 20.04 2022-06-22
4.2.1 20.04 2022-10-28
4.2.2 22.04 2023-03-14
4.2.3 22.04 2023-04-20
4.3.0 22.04 2023-06-15
4.3.1 22.04 2023-10-30
4.3.2 22.04 2024-02-28
4.3.3 22.04 2024-04-23
4.4.0 22.04 2024-06-13
4.4.1 22.04 2024-10-30
4.4.2 24.04 2025-02-27
4.4.3 24.04 2025-04-10
4.5.0 24.04 2025-06-12
4.5.1 24.04 2025-10-30
4.5.2 24.04 2026-03-10
4.5.3 24.04 2026-04-23
4.6.0 24.04 2026-06-23
4.6.1 24.04 -
"""
_CODENAMES = {"20.04": "focal", "22.04": "jammy", "24.04": "noble"}
PPM = "https://p3m.dev/cran/__linux__"
CRAN_SOURCE = "https://cloud.r-project.org"
PLUMBER_TAGS = {
    "latest": "v1.3.0",
    "v1.3.0": "v1.3.0",
    "v1.2.0": "v1.2.0",
    "v1.1.0": "v1.1.0",
    "v1.0.0": "v1.0.0",
    "v0.4.6": "v0.4.6",
    "next": "next",
}
# What rstudio/plumber's Dockerfile installs with apt (its runtime libraries, by the R packages that need them)
PLUMBER_SYSTEM_LIBRARIES = ("libssl", "libcurl", "libsodium", "libxml2")


@dataclass(frozen=True)
class BaseImage:
    repository: str  # as on Docker Hub: rstudio/plumber, rocker/r-ver, r-base
    tag: str
    r_version: str  # "devel" for R-devel
    distro: str  # ubuntu codename (focal, jammy, noble) or "debian-testing"
    repo_url: str  # the package repository R installs from (options("repos"))
    binary: bool  # the repository serves Linux binaries (no compiling)
    plumber: str | None  # plumber version the image holds, None when it has none
    pak: bool
    system_libraries: tuple[str, ...] = ()
    moving: bool = False  # the tag is rebuilt or re-pointed over time (latest, rstudio/plumber's monthly rebuilds)
    pinned_tag: str = ""  # the version tag `latest` (or 4.6) stands for, when there is one

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    def snapshot_url(self, date: str) -> str | None:
        """The dated Posit Package Manager binary repository for this image's distro, or None where there is none."""
        if self.distro not in _CODENAMES.values():
            return None
        return f"{PPM}/{self.distro}/{date}"


def _rocker() -> dict[str, BaseImage]:
    rows = [line.split() for line in _ROCKER_HISTORY.strip().splitlines()]
    images: dict[str, BaseImage] = {}
    newest = rows[-1][0]
    for version, ubuntu, freeze in rows:
        codename = _CODENAMES[ubuntu]
        url = f"{PPM}/{codename}/{'latest' if freeze == '-' else freeze}"
        images[version] = BaseImage(
            "rocker/r-ver", version, version, codename, url, True, None, False, moving=freeze == "-", pinned_tag=version
        )
    # moving aliases: 4 and latest -> newest; 4.x -> newest of that minor
    aliases = {"latest": newest, "4": newest}
    for version, *_ in rows:
        aliases[version.rsplit(".", 1)[0]] = version
    for alias, version in aliases.items():
        image = images[version]
        images[alias] = BaseImage(
            image.repository,
            alias,
            image.r_version,
            image.distro,
            image.repo_url,
            True,
            None,
            False,
            moving=True,
            pinned_tag=version,
        )
    images["devel"] = BaseImage("rocker/r-ver", "devel", "devel", "noble", CRAN_SOURCE, False, None, False, moving=True)
    return images


_ROCKER = _rocker()
_NEWEST = _ROCKER["latest"]


def _plumber() -> dict[str, BaseImage]:
    images = {}
    for tag, version in PLUMBER_TAGS.items():
        images[tag] = BaseImage(
            "rstudio/plumber",
            tag,
            _NEWEST.r_version,
            _NEWEST.distro,
            _NEWEST.repo_url,
            True,
            version.lstrip("v") if version != "next" else "next",
            True,
            PLUMBER_SYSTEM_LIBRARIES,
            moving=True,
            pinned_tag=version if tag == "latest" else tag,
        )
    return images


def _r_base() -> dict[str, BaseImage]:
    versions = [line.split()[0] for line in _ROCKER_HISTORY.strip().splitlines()]
    images = {
        v: BaseImage("r-base", v, v, "debian-testing", CRAN_SOURCE, False, None, False, pinned_tag=v) for v in versions
    }
    images["latest"] = BaseImage(
        "r-base",
        "latest",
        versions[-1],
        "debian-testing",
        CRAN_SOURCE,
        False,
        None,
        False,
        moving=True,
        pinned_tag=versions[-1],
    )
    return images


CATALOGUE: dict[str, dict[str, BaseImage]] = {
    "rocker/r-ver": _ROCKER,
    "rstudio/plumber": _plumber(),
    "r-base": _r_base(),
}
_DOCKER_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/", "docker.io/library/")


def split_reference(reference: str) -> tuple[str, str, str]:
    """(registry, repository, tag) of `[registry/]repository[:tag][@digest]`; Docker Hub is "docker.io"."""
    name = reference.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, name = first.lower(), rest
    else:
        registry = "docker.io"
    repository, sep, tag = name.rpartition(":")
    if not sep:
        repository, tag = name, "latest"
    if registry == "docker.io" and repository.startswith("library/"):
        repository = repository[len("library/") :]
    return registry, repository, tag


def is_docker_hub(reference: str) -> bool:
    return split_reference(reference)[0] in ("docker.io", "index.docker.io", "registry-1.docker.io")


def lookup(reference: str) -> BaseImage | None:
    """The catalogue entry of a Docker Hub reference, or None (not on Docker Hub, or not in the table)."""
    registry, repository, tag = split_reference(reference)
    if registry not in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return None
    return CATALOGUE.get(repository, {}).get(tag)


def known_tags(repository: str) -> list[str]:
    return list(CATALOGUE.get(repository, {}))


def pinned(reference: str) -> str:
    """`rstudio/plumber:latest` -> `rstudio/plumber:v1.3.0`: the version tag a moving tag stands for today (else as
    is)."""
    image = lookup(reference)
    if image is None or not image.pinned_tag or image.pinned_tag == image.tag:
        return reference
    return f"{image.repository}:{image.pinned_tag}"


def newest(reference: str) -> str:
    """The newest version tag of the same image (`rocker/r-ver:4.4.1` -> `rocker/r-ver:4.6.1`), as of this table;
    a reference this table does not know is returned unchanged."""
    registry, repository, _ = split_reference(reference)
    latest = CATALOGUE.get(repository, {}).get("latest") if registry == "docker.io" else None
    return f"{repository}:{latest.pinned_tag}" if latest is not None and latest.pinned_tag else reference


def snapshot_today(today: datetime.date | None = None) -> str:
    """Yesterday (UTC): Posit Package Manager publishes a date's snapshot once that day's sync is done."""
    day = today or datetime.datetime.now(datetime.timezone.utc).date()
    return (day - datetime.timedelta(days=1)).isoformat()


_DATE = re.compile(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]")


def is_snapshot_date(value: str) -> bool:
    return isinstance(value, str) and _DATE.fullmatch(value) is not None
