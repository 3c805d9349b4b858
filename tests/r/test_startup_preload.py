"""start_plumber.R loads the model's packages before the API answers /ready, with a real Rscript and plumber
(issue 13.6)."""

from __future__ import annotations

import pytest

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import sample_model_dir
from rdeploy_tui.local.http_client import request
from rdeploy_tui.local.plumber import start_plumber
from rdeploy_tui.spec.deploy_spec import DeploySpec

pytestmark = pytest.mark.r

# A scoring script that tells which namespaces are loaded (and loads nothing itself).
SCRIPT = """
#* @get /ready
function() "ready"

#* @get /loaded
#* @serializer json
function() sort(loadedNamespaces())
"""


def test_the_models_packages_are_loaded_before_ready_and_a_missing_one_is_named(tmp_path):
    (tmp_path / "mine.R").write_text(SCRIPT)
    spec = DeploySpec()
    spec.scoring.script = "mine.R"
    spec.image.r_packages = ["codetools", "surelynotinstalledhere"]  # codetools: installed, loaded by nothing else
    write_folder(render(spec, base_dir=tmp_path), tmp_path / "out")
    folder = tmp_path / "out"
    with start_plumber(
        folder / "src", sample_model_dir(), start_script=folder / "docker-context" / "start_plumber.R"
    ) as proc:
        proc.wait_ready()
        loaded = request(proc.url, "GET", "/loaded")
        assert loaded.status == 200 and "codetools" in loaded.text
        assert "rdeploy: R package surelynotinstalledhere does not load: there is no package called" in proc.output()
