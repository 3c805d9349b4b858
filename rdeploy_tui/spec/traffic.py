"""The traffic split a deploy leaves behind, computed before it runs, so the wizard can say what will
happen (issue 14: a sole deployment set to 10 % was routed 100 % while the step said "Route 10%").

Azure needs an endpoint's shares to add up to 100 (or all be 0):
https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints
so the share the new deployment does not take goes to the deployment that had the most; with none
taking traffic, the new deployment takes it all."""

from __future__ import annotations


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
