"""Journeys off the straight path, walked as users walk them: plain `rdeploy-tui` in a compute instance's terminal
(tmux, 80x24, signed in by the managed identity), driven only by the bytes tmux sends for each key and judged by what
the screen shows. Each ends where the user meant to go, without quitting:

- reopened on an endpoint deployed earlier: score it, shift its traffic with `t`, delete it once confirmed, and the
  endpoints list shows it gone;
- back from the review to change the packages: the review says the folder it wrote is now out of date and lists the
  new package; written again, the folder's install list and image tag follow;
- a package whose build fails: the cause on screen, the package removed at its step, the deploy resumed and scored.

One sandbox serves the module (each test has its own folder and state); time each journey with --durations.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tmux_terminal import Pane, deployed, require_tmux, terminals

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]

# A package the sandbox's repository has (so the pipeline's name check passes) whose build the build-fail fault breaks.
FAILING_PACKAGE = "zoo"


@pytest.fixture(scope="module")
def journeys(tmp_path_factory):
    """One sandbox, and `open_terminal(folder)`: a compute instance terminal whose wizard runs in `folder` with its
    own state (folder/home)."""
    require_tmux()
    from rdeploy_tui.commands.sandbox_cmd import compute_instance_exports
    from rdeploy_tui.sandbox import Sandbox

    folder = tmp_path_factory.mktemp("journeys")
    with (
        Sandbox(folder / "sandbox-state", time_scale=0.003) as sandbox,
        terminals(folder, compute_instance_exports(sandbox), []) as open_terminal,
    ):
        yield sandbox, open_terminal


def _step(pane: Pane, key: str, title: str, leaving: str) -> str:
    """Move to the step titled `title` with F2 or Escape; a lone Escape read while the app is busy can be lost
    (test_tmux_compute_instance.py), so it is pressed again only while the step it leaves is still shown."""
    return pane.press_until(key, f"  {title}", still=f"  {leaving}", timeout=120)


def _to_packages(pane: Pane) -> None:
    pane.wait_for("Signed in as", "managed identity", timeout=90)
    _step(pane, "F2", "Workspace and registry", "Sign-in and subscription")
    pane.wait_for("Preselected: found from compute instance", "azurecr.io", timeout=120)
    _step(pane, "F2", "Model and version", "Workspace and registry")
    pane.wait_for("latest (now version 1)", timeout=120)
    _step(pane, "F2", "R packages", "Model and version")
    pane.wait_for("uses no packages beyond base R", timeout=120)  # the model, read: its packages are known


def _packages_to_review(pane: Pane) -> str:
    _step(pane, "F2", "Scoring script", "R packages")
    _step(pane, "F2", "Endpoint and deployment", "Scoring script")
    return _step(pane, "F2", "Review", "Endpoint and deployment")


def _review_to_packages(pane: Pane) -> None:
    _step(pane, "Escape", "Endpoint and deployment", "Review")
    _step(pane, "Escape", "Scoring script", "Endpoint and deployment")
    _step(pane, "Escape", "R packages", "Scoring script")


def _add_package(pane: Pane, name: str) -> None:
    """Typed into the add field, which has the focus when the step opens, and added with Enter."""
    pane.type(name)
    pane.keys("Enter")
    pane.wait_for(f"▊ {name} ", timeout=60)


def _image_tag(folder: Path) -> str:
    found = re.search(r"image: \S+/(r-forecast:\w+)", (folder / "deployment.yml").read_text())
    assert found, (folder / "deployment.yml").read_text()
    return found.group(1)


def test_reopened_on_a_deployed_endpoint_it_scores_shifts_traffic_deletes_and_lists_it_gone(
    journeys, tmp_path, monkeypatch
):
    sandbox, open_terminal = journeys
    endpoint = "r-endpoint-reopen"
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))  # the earlier session's state, where the wizard keeps it
    deployed(sandbox, tmp_path / "home", endpoint, {"blue": 100, "green": 0})  # left by an earlier session
    pane = open_terminal(tmp_path)
    screen = pane.wait_for("Online endpoints in workspace", endpoint, "s Score", timeout=120)
    rows = [line for line in screen.splitlines() if re.search(r"\br-endpoint-[\w-]+\b.*%", line)]
    pane.keys(*["Down"] * next(i for i, row in enumerate(rows) if endpoint in row))  # the user's row, as seen

    pane.keys("s")
    pane.wait_for(f"Score {endpoint}", timeout=60)
    pane.keys("C-s")
    pane.wait_for("HTTP 200 from blue", timeout=120)
    pane.press_until("Escape", "s Score", still="esc Endpoints")

    pane.keys("t")  # each share's text is selected when it gets the focus: typing replaces it
    pane.wait_for(f"Traffic of {endpoint}", "Whole percentages", timeout=60)
    pane.type("90")
    pane.keys("Tab")
    pane.type("10")
    pane.wait_for("green (%)", "Save", timeout=60)
    pane.keys("Enter")
    pane.wait_for("blue 90%", "green 10%", timeout=120)
    with sandbox.state.view() as data:
        live = next(e for e in data.get("endpoints", {}).values() if e["name"] == endpoint)
    assert live.get("traffic") == {"blue": 90, "green": 10}, live.get("traffic")

    pane.keys("x")
    pane.wait_for("Type the endpoint's name to confirm", timeout=60)
    pane.type(endpoint)
    pane.keys("Enter")
    pane.wait_for(f"Endpoint {endpoint}", "deleted:", "no longer", timeout=120)  # said in a toast, wrapped in its box
    # and gone from the list (once the toast naming it has gone too)
    screen = pane.wait_for("Online endpoints in workspace", gone=(f" {endpoint} ",), timeout=120)
    assert "Traceback" not in screen
    with sandbox.state.view() as data:
        assert not [e for e in data.get("endpoints", {}).values() if e["name"] == endpoint]


def test_going_back_from_the_review_to_change_packages_shows_the_change_in_the_review_and_on_disk(journeys, tmp_path):
    _sandbox, open_terminal = journeys
    folder = tmp_path / "r-deploy-azureml"  # the review's "Write the folder to" default, relative to where it runs
    pane = open_terminal(tmp_path)
    _to_packages(pane)
    screen = _packages_to_review(pane)
    assert "with R packages: plumber, carrier " in screen, screen
    pane.keys("Tab", "Tab", "Tab")  # the file list has the focus: past the viewer and the folder field, to the button
    pane.keys("Enter")  # Write folder
    screen = pane.wait_for("Wrote 9 files to", timeout=60)
    before = _image_tag(folder)
    assert before in screen and len([p for p in folder.rglob("*") if p.is_file()]) == 9
    assert FAILING_PACKAGE not in (folder / "docker-context" / "install_packages.R").read_text()

    _review_to_packages(pane)
    _add_package(pane, FAILING_PACKAGE)
    screen = _packages_to_review(pane)
    screen = pane.wait_for(
        f"with R packages: plumber, carrier, {FAILING_PACKAGE}",
        "holds the files as written before",
        "Write folder again",
        timeout=60,
    )
    assert before in screen  # what the folder holds, said until it is written again
    assert (
        _image_tag(folder) == before
        and FAILING_PACKAGE not in (folder / "docker-context" / "install_packages.R").read_text()
    )

    pane.keys("Enter")  # the Write folder button kept the focus it had when the review was left
    screen = pane.wait_for("Wrote 9 files to", gone=("Write folder again",), timeout=60)
    after = _image_tag(folder)
    assert after != before and after in screen  # a new image tag for new packages
    assert f'"{FAILING_PACKAGE}"' in (folder / "docker-context" / "install_packages.R").read_text()
    assert f"- {FAILING_PACKAGE}" in (folder / "rdeploy.yaml").read_text()


def test_a_package_that_fails_to_build_is_shown_removed_and_the_deploy_resumed_to_a_scored_request(journeys, tmp_path):
    sandbox, open_terminal = journeys
    sandbox.faults.arm("build-fail", package=FAILING_PACKAGE)  # every build installing it fails compiling it
    try:
        pane = open_terminal(tmp_path)
        _to_packages(pane)
        _add_package(pane, FAILING_PACKAGE)
        _packages_to_review(pane)
        pane.wait_for(f"with R packages: plumber, carrier, {FAILING_PACKAGE}", timeout=60)
        pane.keys("F2")  # Deploy
        screen = pane.wait_for("Deploy failed", f"Failed to build source package {FAILING_PACKAGE}", timeout=300)
        assert "Traceback" not in screen

        _step(pane, "Escape", "Review", "Build and deploy")  # back to change settings
        _review_to_packages(pane)
        # ctrl+d from the add field, as its Remove button says: the package added last is the highlighted one
        pane.keys("C-d")
        pane.wait_for(f"Removed {FAILING_PACKAGE}", gone=(f"▊ {FAILING_PACKAGE} ",), timeout=60)
        screen = _packages_to_review(pane)
        pane.wait_for("with R packages: plumber, carrier ", timeout=60)

        pane.keys("F2")  # Deploy again: it resumes
        screen = pane.wait_for(
            "Deployed. F2 scores the sample request.", "✓ Score the sample request", "Build log", timeout=300
        )
        assert "Failed to build" not in screen  # the logs shown are this run's, not the failed one's
        pane.keys("F2")
        screen = pane.wait_for("HTTP 200 from blue", timeout=120)
        assert "Traceback" not in screen
        assert [r for r in sandbox.request_log if "scheduleRun" in r["path"]][-1]["status"] == 200
    finally:
        sandbox.faults.clear("build-fail")
