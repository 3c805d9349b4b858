"""The simulator is composed at the edge: the core (azure/, pipeline/, scoring/, local/, spec/, deploy_folder/) never
asks whether it talks to a sandbox, so `--sandbox` reaches it exactly as `--arm-endpoint` would
(rdeploy_tui/launch.py). That it never imports the sandbox or the launch module is an import-linter contract
(pyproject.toml, run by test_code_checks.py); what no import graph shows, a question asked by attribute or by
name, is checked here."""

from __future__ import annotations

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


def test_the_core_files_are_found():
    assert len(CORE_FILES) > 40 and any(p.name == "runner.py" for p in CORE_FILES)


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
