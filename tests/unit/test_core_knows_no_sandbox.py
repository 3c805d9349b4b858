"""The simulator is composed at the edge: the core (azure/, pipeline/, scoring/, local/, spec/, deploy_folder/) never
imports the sandbox or the launch module that starts it, and never asks whether it talks to one, so `--sandbox`
reaches it exactly as `--arm-endpoint` would (rdeploy_tui/launch.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rdeploy_tui"
CORE = ("azure", "pipeline", "scoring", "local", "spec", "deploy_folder")
CORE_FILES = sorted(p for folder in CORE for p in (PACKAGE / folder).rglob("*.py"))
# What the core once used to tell the sandbox apart; none may come back.
SANDBOX_QUESTIONS = re.compile(
    r"\.is_sandbox\b|\.poll_scale\b|\bsession_for_sandbox\b|\.sandbox\.|getattr\([^)]*\"sandbox\""
)


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_core_files_are_found():
    assert len(CORE_FILES) > 40 and any(p.name == "runner.py" for p in CORE_FILES)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_never_imports_the_sandbox_or_the_launch(path):
    bad = {n for n in _imported(path) if n.startswith(("rdeploy_tui.sandbox", "rdeploy_tui.launch"))}
    assert bad == set()


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_never_asks_whether_it_talks_to_the_sandbox(path):
    code = path.read_text(encoding="utf-8")
    assert SANDBOX_QUESTIONS.findall(code) == []


def test_the_question_pattern_catches_the_old_ways():
    for line in (
        "if session.is_sandbox:",
        "x * ws.session.poll_scale",
        "self.session.sandbox.ensure_model(",
        'getattr(s, "sandbox", None)',
    ):
        assert SANDBOX_QUESTIONS.search(line), line
