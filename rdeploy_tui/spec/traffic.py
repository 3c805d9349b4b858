"""Traffic splits: the one rule for what Azure accepts (traffic_problem: the CLI, the wizard and the Azure layer
all ask it, before anything reaches Azure), and the split a deploy leaves behind, computed before it runs so the
wizard can say what will happen (a sole deployment set to 10 % is routed 100 %).

What Azure accepts, decided once: whole percentages from 0 to 100 that add up to 100, or all 0.
- "Traffic values need to sum to 100": OnlineEndpointProperties.traffic in the REST spec
  (azure-rest-api-specs, machinelearningservices, mfe.json; the same text in every SDK generated from it, e.g.
  https://learn.microsoft.com/javascript/api/@azure/arm-machinelearning/onlineendpointproperties).
- All 0 is also a state Azure keeps and accepts: a new deployment created without `--all-traffic` takes 0 % of an
  endpoint that had none (https://learn.microsoft.com/azure/machine-learning/how-to-deploy-online-endpoints), and an
  endpoint update that names no traffic leaves every deployment at 0 % (microsoft/genaiops-promptflow-template#182).
  So an all-zero split is allowed: it takes the endpoint out of service without deleting what bills.
Where Azure's own check differs from this (it is not documented beyond the sentence above), Azure's answer wins
and is shown as it is."""

from __future__ import annotations

from collections.abc import Mapping


def traffic_problem(traffic: Mapping[str, int]) -> str | None:
    """Why Azure would refuse this split, or None (see the module docstring for the rule and its sources)."""
    if any(not isinstance(v, int) or not 0 <= v <= 100 for v in traffic.values()):
        return "each share must be a whole number from 0 to 100"
    total = sum(traffic.values())
    if total not in (0, 100):
        return f"the shares add up to {total} %, not 100 % (or all 0 %)"
    return None


def traffic_after(current: dict[str, int], deployment: str, percent: int) -> dict[str, int]:
    """The split after giving `deployment` `percent` of an endpoint whose split is `current`."""
    others = {k: v for k, v in (current or {}).items() if k != deployment and v > 0}
    if percent >= 100 or not others:
        return {deployment: 100}
    rest = max(others.items(), key=lambda kv: kv[1])[0]
    return {deployment: percent, rest: 100 - percent}


def share_note(current: dict[str, int], deployment: str, percent: int) -> str | None:
    """Why `deployment` will not get the `percent` asked for, or None when it will."""
    after = traffic_after(current, deployment, percent)
    if after[deployment] == percent:
        return None
    return f"no other deployment takes traffic: {deployment} will get {after[deployment]} %, not {percent} %"
