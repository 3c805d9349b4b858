"""Updating an endpoint whose traffic is split, in a real terminal at 80x24 with the bytes tmux sends: `u` is refused at
once saying to shift the traffic with `t`; after `t`, `u` walks the update flow to a live rollout, `b` rolls it back,
and Esc lands on the endpoints list, read again, with all the traffic on the old deployment. Nothing is quit on the
way: the journey ends where the user meant to go."""

from __future__ import annotations

import pytest
from test_tmux_compute_instance import card_terminal, compute_instance_shell  # noqa: F401 (fixtures)
from tmux_terminal import deployed

pytestmark = [pytest.mark.tmux, pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]

ENDPOINT = "r-endpoint-split"


def test_update_from_a_split_endpoint_is_refused_first_then_rolls_out_and_returns_to_the_list(
    compute_instance_shell,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    sandbox, open_terminal = compute_instance_shell
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))  # the deploys' state, where the wizard keeps its own
    deployed(sandbox, tmp_path / "home", ENDPOINT, {"blue": 50, "green": 50})
    pane = open_terminal()
    pane.wait_for("Online endpoints in workspace", ENDPOINT, timeout=120)

    pane.keys("u")  # refused at once, before any step, saying what to do
    pane.wait_for("splits its traffic", "Press t to give one of them", timeout=60)
    assert "Model and version" not in pane.text() and "1 Model" not in pane.text()

    pane.keys("t")  # blue 100, green 0: each field's text is selected when it gets the focus, so typing replaces it
    pane.wait_for(f"Traffic of {ENDPOINT}", "Whole percentages", timeout=120)
    pane.type("100")
    pane.wait_for("the shares add up to 150 %, not 100 %", timeout=120)
    pane.keys("Tab")
    pane.type("0")
    pane.wait_for("green (%)", "Save", timeout=120)
    pane.keys("Enter")
    pane.wait_for("blue 100%", "green 0% $idle", timeout=120)

    pane.keys("u")  # now the update flow: model, packages, script, size, review
    pane.wait_for("1 Model", "latest (now version", timeout=120)
    pane.keys("F2")
    pane.wait_for("always included", timeout=120)
    pane.keys("F2")
    pane.wait_for("Preview of src/plumber.R", timeout=120)
    pane.keys("F2")
    screen = pane.wait_for("New deployment's name", "deployment green exists (0 %)", "version replaces it", timeout=120)
    assert "updated in place" not in screen
    pane.keys("F2")
    pane.wait_for("Rollout beside blue", "Roll out", timeout=120)
    pane.keys("F2")  # Roll out
    pane.wait_for("6 Rollout", "stage-10:", timeout=300)
    pane.keys("b")  # roll back by hand, once confirmed
    pane.wait_for("Roll back now?", "Keep rolling out", timeout=60)
    pane.keys("y")
    pane.wait_for("rolled-back. Esc: back to the endpoints", "it bills until you delete it", timeout=120)
    # A lone Escape can be lost while the app is busy (test_tmux_compute_instance.py): pressed again only if it was.
    pane.press_until("Escape", "Online endpoints in workspace", still="Esc: back to the endpoints", timeout=120)
    screen = pane.wait_for("Online endpoints in workspace", ENDPOINT, "blue 100%", timeout=120)
    assert "Traceback" not in screen
    with sandbox.state.view() as data:
        endpoint = next(e for e in data.get("endpoints", {}).values() if e["name"] == ENDPOINT)
    assert endpoint.get("traffic", {}).get("blue") == 100, endpoint.get("traffic")
