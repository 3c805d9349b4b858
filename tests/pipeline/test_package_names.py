"""Package names are checked before a build: offline against the shipped (partial) list of CRAN names, and in the
pipeline against the repository's index, here the sandbox's own CRAN catalogue read over HTTPS (issue 13.5)."""

from __future__ import annotations

import pytest

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.pipeline.events import StepFailed, StepProgress
from rdeploy_tui.pipeline.package_index import check_packages
from rdeploy_tui.pipeline.runner import run_deploy
from rdeploy_tui.spec import package_names, rules

pytestmark = [pytest.mark.sandbox]


def test_the_shipped_list_is_dated_partial_and_only_warns():
    names = package_names.shipped()
    assert "forecast" in names.names and "data.table" in names.names and len(names.names) > 1000
    assert names.source.startswith("Debian") and names.date[:2] == "20"
    spec_warnings = {p.field: p for p in rules.validate(_spec(["forcast", "notapkg123", "Forecast"]))}
    assert (
        spec_warnings["image.r_packages[0]"].level == "warning"
        and "did you mean forecast" in spec_warnings["image.r_packages[0]"].message
    )
    assert "image.r_packages[1]" not in spec_warnings  # the partial list cannot say a name does not exist
    assert "spelled 'forecast'" in spec_warnings["image.r_packages[2]"].message


def _spec(packages):
    from rdeploy_tui.spec.deploy_spec import DeploySpec

    spec = DeploySpec()
    spec.image.r_packages = packages
    return spec


def test_the_sandbox_serves_its_catalogue_as_a_repository_index(sandbox):
    check = check_packages(
        ["forecast", "notapkg123", "forcast"], f"{sandbox.base_url}/cran", verify=sandbox.client_settings().ca_bundle
    )
    assert check.read and set(check.unknown) == {"notapkg123", "forcast"}
    assert "forecast" in check.unknown["forcast"]
    offline = check_packages(["forecast"], "https://127.0.0.1:9/cran")
    assert not offline.read and offline.reason


def test_a_deploy_with_an_unknown_package_fails_before_the_build(session, sandbox, make_spec, recorder):
    spec = make_spec("typo")
    spec.image.r_packages = ["forecast", "notapkg123"]
    outcome = run_deploy(spec, session=session, sink=recorder)
    assert outcome.status == "failed"
    [failure] = [e for e in recorder.of(StepFailed) if e.step == P.PREPARE]
    assert failure.code == "UnknownRPackage" and "notapkg123" in failure.what and "/cran" in failure.what
    assert failure.next_step.startswith("Fix the names in image.r_packages")
    assert not recorder.of(StepProgress, P.BUILD)  # nothing was built


def test_a_cran_package_the_repository_lacks_is_not_called_a_typo(session, sandbox, make_spec, recorder):
    spec = make_spec("lacks")
    spec.image.r_packages = ["abind"]  # on CRAN (the shipped list), not in the sandbox's repository
    outcome = run_deploy(spec, session=session, sink=recorder)
    assert outcome.status == "failed"
    [failure] = [e for e in recorder.of(StepFailed) if e.step == P.PREPARE]
    assert failure.code == "UnknownRPackage" and "abind" in failure.what
    assert "abind is a CRAN package that this repository does not have" in failure.next_step
    assert not recorder.of(StepProgress, P.BUILD)  # nothing was built


@pytest.mark.r
def test_a_deploy_with_known_packages_says_they_were_found(session, sandbox, make_spec, recorder, cleanup):
    spec = make_spec("names")
    spec.image.r_packages = ["forecast"]
    run_deploy(spec, session=session, sink=recorder, smoke_score=False)
    from rdeploy_tui.azure import Workspace

    cleanup.append(
        (
            Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name),
            spec.endpoint.name,
        )
    )
    assert any("3 R package names found in" in e.message for e in recorder.of(StepProgress, P.PREPARE))


def test_a_complete_list_warns_about_a_name_it_lacks_and_the_partial_one_does_not():
    text = "# source: CRAN's index (3 names)\n# date: 2026-11-25\n# complete: yes\nforecast\ndata.table\nRcpp\n"
    complete = package_names.parse(text)
    assert complete.complete and complete.date == "2026-11-25"
    lacking = package_names.offline_warning("notapkg123", complete)
    assert "was not on CRAN on 2026-11-25" in lacking and "check the name" in lacking
    assert "did you mean forecast" in package_names.offline_warning("forcast", complete)
    assert package_names.offline_warning("Rcpp", complete) is None
    partial = package_names.parse(text.replace("complete: yes", "complete: no"))
    assert not partial.complete and package_names.offline_warning("notapkg123", partial) is None
    assert not package_names.shipped().complete  # this machine cannot reach CRAN: the shipped list says it is partial


def test_the_refresh_script_writes_a_partial_list_from_debian_when_cran_does_not_answer(tmp_path, monkeypatch):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "refresh_cran_names.py"
    spec = importlib.util.spec_from_file_location("refresh_cran_names", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "cran_names.txt")
    monkeypatch.setattr(module, "from_debian", lambda: (["abind", "forecast"], "Debian test (2), 2 names"))
    monkeypatch.setattr("sys.argv", ["refresh", "--cran", "https://127.0.0.1:9"])
    module.main()
    written = package_names.parse((tmp_path / "cran_names.txt").read_text())
    assert not written.complete and written.names == {"abind", "forecast"} and written.source.startswith("Debian")
