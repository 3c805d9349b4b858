"""The house's own checks, run on the tree as CI runs them (CI runs the README's test command only, so this is how
they run there): the formatter and linter (ruff), the type checker (mypy) and the layering (import-linter's
contracts), each with the configuration in pyproject.toml. A failure shows the tool's own output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the tools come with the [test] extra, beside this interpreter


def _run(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _tool(name: str) -> Path:
    path = BIN / name
    assert path.exists(), f"{name} is not installed beside {sys.executable}: pip install -e '.[test]'"
    return path


def test_the_code_is_formatted_as_ruff_formats_it():
    done = _run(_tool("ruff"), "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, "run `ruff format` on these files:\n" + done.stdout + done.stderr


def test_ruff_finds_nothing():
    done = _run(_tool("ruff"), "check", "--no-cache", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow  # ~15 s without its cache (a fresh clone), ~1 s with it
def test_mypy_finds_nothing():
    done = _run(_tool("mypy"))  # the files and the rules: [tool.mypy] in pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout, done.stdout


def test_the_import_contracts_hold():
    done = _run(_tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout


# One import planted for each contract in pyproject.toml, in a copy of the package: every contract must see its own.
PLANTED = {
    "spec/rules.py": "import textual  # the core imports Textual\n",
    "sandbox/faults.py": "from rdeploy_tui.azure import errors  # the sandbox imports the client's Azure layer\n",
    "pipeline/plan.py": "import azure.core  # the Azure SDK outside azure/\n",
    "deploy_folder/templates.py": "from rdeploy_tui.local import plumber  # a cycle (local imports deploy_folder)\n",
}
UNPLACED_MODULE = "unplaced.py"  # a module no layer names


def test_each_import_contract_catches_what_it_forbids(tmp_path):
    copy = tmp_path / "rdeploy_tui"
    shutil.copytree(ROOT / "rdeploy_tui", copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, line in PLANTED.items():
        with (copy / module).open("a", encoding="utf-8") as file:
            file.write(line)
    (copy / UNPLACED_MODULE).write_text('"""Belongs to no layer."""\n', encoding="utf-8")

    done = _run(_tool("lint-imports"), "--no-cache", cwd=tmp_path)
    names = _contract_names()
    assert len(names) >= 6, names
    report = " ".join(done.stdout.split())  # long names are wrapped in the report
    broken = [name for name in names if f"{name} BROKEN" in report]
    assert broken == names, done.stdout + done.stderr
    for where in ("rdeploy_tui.spec.rules -> textual", "rdeploy_tui.pipeline.plan -> azure", "unplaced"):
        assert where in report, where


def _contract_names() -> list[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the backport, which mypy depends on there
        import tomli as tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [contract["name"] for contract in config["tool"]["importlinter"]["contracts"]]
