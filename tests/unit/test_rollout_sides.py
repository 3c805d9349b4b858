"""Where a rollout starts: one rule (pipeline/rollout.py rollout_sides) that the CLI's rollout and the wizard's `u` both
ask. A fresh rollout starts from the one deployment serving all the traffic; a rollout left unfinished on this
endpoint goes on where it stopped, whatever the split it left."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.rollout import DEPLOY_NEW, FINISH, ROLLBACK, rollout_sides
from rdeploy_tui.pipeline.state import ResumeState, RolloutFacts


def endpoint(traffic: dict[str, int], *names: str) -> SimpleNamespace:
    names = names or tuple(traffic)
    return SimpleNamespace(name="ep", traffic=traffic, deployments=tuple(SimpleNamespace(name=n) for n in names))


def left(status: str, **facts) -> ResumeState:
    return ResumeState(kind="rollout", target={}, status=status, rollout=RolloutFacts(old="blue", new="green", **facts))


def test_a_fresh_rollout_starts_from_the_deployment_serving_all_the_traffic():
    sides = rollout_sides(endpoint({"blue": 100}), None)
    assert (sides.old, sides.new, sides.resume_to) == ("blue", "green", None)
    assert rollout_sides(endpoint({"main": 100}), None).new == "main-new"  # not a colour: NAME-new
    assert rollout_sides(endpoint({"blue": 100}), None, "canary").new == "canary"  # the spec's name
    assert rollout_sides(endpoint({"blue": 100}), None, "blue").new == "green"  # the spec names the serving one


@pytest.mark.parametrize(
    "traffic, code, said",
    [
        ({"blue": 90, "green": 10}, "TrafficSplit", "splits its traffic already (blue=90%, green=10%)"),
        ({"blue": 0, "green": 0}, "NoLiveDeployment", "nothing to roll out from"),
    ],
)
def test_a_split_or_idle_endpoint_is_refused_with_a_command_that_reaches_the_same_azure(traffic, code, said):
    with pytest.raises(RdeployError) as refused:
        rollout_sides(endpoint(traffic), None, command=lambda *w: " ".join(("rdeploy-tui", *w, "--sandbox")))
    assert refused.value.code == code and said in refused.value.what
    assert "--sandbox`" in (refused.value.next_step or "")


def test_naming_the_serving_deployment_for_the_new_version_is_refused():
    with pytest.raises(RdeployError) as refused:
        rollout_sides(endpoint({"main": 100}), None, "main")
    assert refused.value.code == "Usage"
    with pytest.raises(RdeployError):
        rollout_sides(endpoint({"blue": 100}), None, "blue", explicit=True)  # --new blue


@pytest.mark.parametrize(
    "previous, resume_to",
    [
        (left("cancelled"), DEPLOY_NEW),  # stopped half-way
        (left("running"), DEPLOY_NEW),  # killed
        (left("failed", rollback_reason="errors"), ROLLBACK),
        (left("cancelled", passed=100), FINISH),
    ],
    ids=["stopped", "killed", "rolling-back", "shifted"],
)
def test_an_unfinished_rollout_resumes_whatever_split_it_left(previous, resume_to):
    sides = rollout_sides(endpoint({"blue": 50, "green": 50}), previous)
    assert (sides.old, sides.new, sides.resume_to) == ("blue", "green", resume_to)
    assert sides.note


@pytest.mark.parametrize("previous", [left("succeeded", retired=True), left("rolled-back", rolled_back=True)])
def test_a_finished_rollout_is_not_resumed(previous):
    with pytest.raises(RdeployError) as refused:
        rollout_sides(endpoint({"blue": 50, "green": 50}), previous)
    assert refused.value.code == "TrafficSplit"
