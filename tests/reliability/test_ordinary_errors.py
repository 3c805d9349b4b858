"""Ordinary mistakes get a message that names the file and a next step, never "unexpected error" or a traceback; a
corrupt resume file is moved aside with a warning (issue 15 item 9)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reliability_helpers import run_cli


def _case(tmp: Path, name: str) -> tuple[list[str], str]:
    """(command line, text the message must contain) for each mistake."""
    spec = tmp / "rdeploy.yaml"
    if name == "deep-yaml":
        spec.write_text("model:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)))
        return ["validate", "--spec", str(spec)], "nested"
    if name == "deep-json":
        spec.write_text("[" * 100_000 + "]" * 100_000)
        return ["validate", "--spec", str(spec)], "nested"
    if name == "dev-zero":
        return ["validate", "--spec", "/dev/zero"], "not a regular file"
    if name == "fifo":
        os.mkfifo(tmp / "p")
        return ["validate", "--spec", str(tmp / "p")], "not a regular file"
    if name == "spec-folder":
        return ["validate", "--spec", str(tmp)], "is a folder"
    if name == "spec-empty":
        spec.write_text("")
        return ["validate", "--spec", str(spec)], "is empty"
    if name == "spec-not-utf8":
        spec.write_bytes(b"model:\n  name: \xff\xfe\n")
        return ["validate", "--spec", str(spec)], "not UTF-8"
    if name == "spec-duplicate-key":
        spec.write_text("endpoint:\n  name: a\n  name: b\n")
        return ["validate", "--spec", str(spec)], "given twice"
    if name == "out-is-a-file":
        (tmp / "f").write_text("x")
        return ["init", "--spec", str(spec), "--out", str(tmp / "f")], str(tmp / "f")
    if name == "out-under-a-file":
        (tmp / "f").write_text("x")
        return ["init", "--spec", str(spec), "--out", str(tmp / "f" / "sub")], str(tmp / "f")
    if name == "out-read-only":
        return ["init", "--spec", str(spec), "--out", "/sys/rdeploy-test"], "/sys/rdeploy-test"
    if name == "score-binary-file":
        (tmp / "req.bin").write_bytes(bytes(range(256)))
        return ["endpoints", "score", "x", "--file", str(tmp / "req.bin"), "--sandbox"], str(tmp / "req.bin")
    if name == "score-deep-json":
        (tmp / "req.json").write_text("[" * 100_000 + "]" * 100_000)
        return ["endpoints", "score", "x", "--file", str(tmp / "req.json"), "--sandbox"], "nested more than 64"
    if name == "score-file-is-a-folder":
        return ["endpoints", "score", "x", "--file", str(tmp), "--sandbox"], str(tmp)
    raise AssertionError(name)


CASES = [
    "deep-yaml",
    "deep-json",
    "dev-zero",
    "fifo",
    "spec-folder",
    "spec-empty",
    "spec-not-utf8",
    "spec-duplicate-key",
    "out-is-a-file",
    "out-under-a-file",
    "out-read-only",
    "score-binary-file",
    "score-deep-json",
    "score-file-is-a-folder",
]


@pytest.mark.parametrize("name", CASES)
def test_an_ordinary_mistake_is_explained(tmp_path, name):
    args, must = _case(tmp_path, name)
    result = run_cli(args, tmp_path / "home", timeout=60)
    assert result.returncode in (1, 2), result
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert must in result.stderr, result.stderr
    if args[0] != "validate":  # validate prints the problems themselves; the others say what to do next
        assert "Next:" in result.stderr, result.stderr


@pytest.mark.parametrize("content", ["[]", "{not json", None])
def test_a_corrupt_resume_file_is_moved_aside_with_a_warning(tmp_path, rdeploy_home, content):
    from rdeploy_tui.pipeline.state import ResumeStore, target_key

    store = ResumeStore(tmp_path / "deployments")
    target = target_key("s", "g", "w", "e", "blue")
    path = store.path(target)
    path.parent.mkdir(parents=True)
    if content is None:
        path.mkdir()  # the resume file is a folder
    else:
        path.write_text(content)
    assert store.load(target) is None
    kept = list(path.parent.glob(path.name + ".corrupt-*"))
    assert len(kept) == 1 and not path.exists()
    assert store.notices and str(path) in store.notices[0] and str(kept[0]) in store.notices[0]
    from rdeploy_tui.pipeline.state import initial

    store.save(initial("deploy", target))  # the next deploy writes its own file
    assert json.loads(path.read_text())["target"] == target


@pytest.mark.sandbox
def test_a_deploy_whose_log_folder_is_a_file_is_refused_naming_it_and_no_log_path(tmp_path):
    from rdeploy_tui.sandbox import arm
    from rdeploy_tui.spec.deploy_spec import default_spec, save_spec

    spec = default_spec()
    spec.workspace.subscription_id, spec.workspace.resource_group = arm.DEFAULT_SUBSCRIPTION, arm.DEFAULT_RESOURCE_GROUP
    spec.workspace.name = arm.NO_ACR_WORKSPACE
    path = tmp_path / "rdeploy.yaml"
    save_spec(spec, path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "logs").write_text("a file where the log folder would be")
    result = run_cli(["deploy", "--spec", str(path), "--sandbox", "--yes"], home)
    assert result.returncode == 1
    # said once, before anything was sent to Azure (the sandbox never started), naming the file in the way
    assert result.stderr.count(f"{home / 'logs'} is a file") == 1 and "Next: Move" in result.stderr
    assert not (home / "sandbox").exists()
    assert "Log:" not in result.stdout
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
