"""Layering, checked in fresh interpreters: core code never imports Textual, and starting the CLI
imports neither Textual nor azure.ai.ml (the first screen must paint before azure.ai.ml loads)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import rdeploy_tui


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(rdeploy_tui.__path__, prefix="rdeploy_tui."):
        if info.name.startswith("rdeploy_tui.ui") or info.name == "rdeploy_tui.__main__":
            continue
        names.append(info.name)
    return sorted(names)


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("module", core_modules())
def test_core_never_imports_textual(module):
    assert "textual" not in loaded_after_import(module)


def test_cli_start_is_light():
    loaded = loaded_after_import("rdeploy_tui.cli")
    assert "azure.ai.ml" not in loaded
    assert "textual" not in loaded
