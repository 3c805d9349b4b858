"""A spec file cannot decide how much memory or time loading it takes, and what it holds is never echoed raw to the
terminal (issue 15 items 6 and 10)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import run_cli_peak

from rdeploy_tui.spec.deploy_spec import load_spec

LAUGHS = """\
model: {name: forecast-model}
scoring:
  sample_request:
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _validate(spec: str, home: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess, int]:
    """`rdeploy-tui validate` in a child; returns its result and the child's own peak memory in MiB."""
    return run_cli_peak(["validate", "--spec", spec], home, timeout)


def test_billion_laughs_is_refused_while_loading(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    assert path.stat().st_size < 1024
    result, peak_mib = _validate(str(path), tmp_path / "home")
    assert result.returncode == 1
    assert "aliases expand to more than" in result.stderr and "Traceback" not in result.stderr
    assert 0 < peak_mib < 400, f"validate peaked at {peak_mib} MiB"


def test_a_self_referencing_alias_is_refused(tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("scoring:\n  sample_request: &x {a: *x}\n")
    spec, problems = load_spec(path)
    assert spec is None and "contains it" in problems[0].message


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_a_spec_that_is_not_a_regular_file_is_refused_at_once(tmp_path, special):
    if special == "fifo":
        target = str(tmp_path / "spec.fifo")
        os.mkfifo(target)  # nobody writes to it: opening it to read would block forever
    elif special == "folder":
        target = str(tmp_path)
    else:
        target = special
    result, _ = _validate(target, tmp_path / "home", timeout=30)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert target in result.stderr and ("not a regular file" in result.stderr or "is a folder" in result.stderr)


def test_an_oversized_spec_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("model: {name: m}\n" + "# padding\n" * 200_000)
    spec, problems = load_spec(path)
    assert spec is None and "at most" in problems[0].message


@pytest.mark.parametrize(
    "text", ["a: " + "[" * 5000 + "]" * 5000, "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200))]
)
def test_deep_nesting_is_a_problem_not_a_crash(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    spec, problems = load_spec(path)
    assert spec is None and "nested" in problems[0].message


def test_duplicate_keys_are_an_error(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("model:\n  name: a\n  name: b\n")
    spec, problems = load_spec(path)
    assert spec is None and "the key name is given twice (again on line 3)" in problems[0].message


def test_unknown_keys_are_quoted_escaped_and_truncated(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("AZURE_CLIENT_SECRET=hunter2-very-long-secret-value-that-must-not-be-shown-in-full\n")
    link = tmp_path / "rdeploy.yaml"
    link.symlink_to(secret)
    result, _ = _validate(str(link), tmp_path / "home")
    assert result.returncode == 1
    assert "must-not-be-shown-in-full" not in result.stderr
    escape = tmp_path / "esc.yaml"
    escape.write_text('"\\e]0;owned\\a\\e[2J": 1\n')
    result, _ = _validate(str(escape), tmp_path / "home")
    assert result.returncode == 1 and "\x1b" not in result.stderr and "\\x1b" in result.stderr
