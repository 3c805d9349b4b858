"""pyproject.toml as setuptools reads it: no deprecated form that makes every install print a warning, and each
dependency listed once (a second entry with other bounds or comments drifts from the first)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    """The canonical distribution name of a requirement string (PEP 503)."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group(1)).lower()


def test_the_license_is_an_spdx_expression_which_setuptools_reads_without_a_warning():
    data = _project()
    # A TOML table (`{text = "MIT"}`) makes setuptools >= 77 warn at every install ("project.license as a TOML table
    # is deprecated"); a string is an SPDX expression, which needs setuptools >= 77 to build.
    assert isinstance(data["project"]["license"], str)
    required = [r for r in data["build-system"]["requires"] if _name(r) == "setuptools"]
    assert required and re.search(r">=\s*(7[7-9]|[89]\d|\d{3})", required[0]), required


@pytest.mark.parametrize("group", ["dependencies", "test"])
def test_each_dependency_is_listed_once(group):
    project = _project()["project"]
    requirements = project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]
    names = [_name(r) for r in requirements]
    assert sorted({n for n in names if names.count(n) > 1}) == []
