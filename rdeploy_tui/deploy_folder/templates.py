"""Where the shipped templates live: beside the package in a checkout, under share/ when installed."""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def resource_dir(name: str) -> Path:
    """`assets` or `docker-context-template`."""
    for root in (_CHECKOUT_ROOT, Path(sys.prefix) / "share" / "rdeploy-tui"):
        candidate = root / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"rdeploy-tui is missing its {name} folder; reinstall the package")


def asset(name: str) -> Path:
    return resource_dir("assets") / name


def docker_template(name: str) -> Path:
    return resource_dir("docker-context-template") / name
