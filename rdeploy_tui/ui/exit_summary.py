"""What the terminal keeps once the wizard closes (issue 14): the app's screens vanish on exit, so after
a deploy the user is left with the endpoint, its scoring URI, what serves it, how to score it from the
shell, and that it bills until deleted, with the commands to do both. Without a deploy in this run, the endpoints
the wizard saw billing are said with how to delete them: quitting never hides a bill."""

from __future__ import annotations

import json
import shlex
from typing import Any

from rdeploy_tui.pipeline.expiry import expires_text

# Longer sample requests go in a file: a command line the user can copy must stay readable.
MAX_INLINE_REQUEST = 120


def cli_flags(spec: Any, connection: Any) -> str:
    """The flags that make `rdeploy-tui endpoints ...` find this workspace over this connection."""
    ws = spec.workspace
    flags = connection.target_flags()  # the one rule for reaching the same Azure (ConnectionOptions)
    if ws.subscription_id:
        flags += ["--subscription", ws.subscription_id]
    flags += ["-g", ws.resource_group, "-w", ws.name]
    return shlex.join(flags)


def exit_summary(
    spec: Any,
    connection: Any,
    outcome: Any | None,
    interrupted: bool = False,
    traffic: str | None = None,
    billing: dict[str, str | None] | None = None,
) -> str | None:
    """Lines to print after the app closed; None when this run deployed nothing and saw nothing billing. `traffic`:
    the split the deploy's traffic step reported ("traffic: blue=100%"), when it ran. `billing`: the endpoints the
    wizard last saw billing in the spec's workspace, each with what it bills per hour when known."""
    others = {k: v for k, v in (billing or {}).items() if outcome is None or k != outcome.endpoint}
    if interrupted:
        return (
            f"rdeploy-tui: the deploy of {spec.endpoint.name}/{spec.deployment.name} was interrupted. "
            "Run rdeploy-tui again to resume it: finished steps are not repeated."
        ) + _billing_lines(spec, connection, others)
    if outcome is None:
        return _billing_lines(spec, connection, others).lstrip("\n") or None
    if outcome.status != "succeeded":
        return f"rdeploy-tui: deploy {outcome.status}. {outcome.summary}\nRun rdeploy-tui again to resume it." + (
            _billing_lines(spec, connection, others)
        )
    flags = cli_flags(spec, connection)
    request = json.dumps(spec.scoring.sample_request, separators=(",", ":"))
    data = f"--data {shlex.quote(request)}" if len(request) <= MAX_INLINE_REQUEST else "--file sample-request.json"
    dep = spec.deployment
    lines = [
        f"rdeploy-tui: endpoint {outcome.endpoint} is live in workspace {spec.workspace.name}.",
        f"  Scoring URI: {outcome.scoring_uri or '(see rdeploy-tui endpoints show)'}",
        f"  Deployment:  {outcome.deployment} ({dep.instance_count} x {dep.instance_type}), "
        + (f"endpoint {traffic}" if traffic else f"{dep.traffic}% of the endpoint's traffic"),
        f"  Score it:    rdeploy-tui endpoints score {outcome.endpoint} {data} {flags}",
        "  It bills per instance-hour until you delete it:",
        f"               rdeploy-tui endpoints delete {outcome.endpoint} {flags}",
    ]
    at = expires_text(getattr(outcome, "tags", None))
    if at is not None:  # deployment.expires_after: the tag `endpoints sweep` acts on
        lines += [
            f"  Expires:     {at}; after that this deletes it (e.g. from cron):",
            f"               rdeploy-tui endpoints sweep --yes {flags}",
        ]
    return "\n".join(lines) + _billing_lines(spec, connection, others, also=True)


def _billing_lines(spec: Any, connection: Any, billing: dict[str, str | None], *, also: bool = False) -> str:
    """ "\n" and the endpoints that still bill, each with its hourly price, and how to delete one; "" for none."""
    if not billing:
        return ""
    flags = cli_flags(spec, connection)
    width = max(len(name) for name in billing)
    count = f"{len(billing)} endpoint{'s' if len(billing) > 1 else ''}"
    head = f"{'Also' if also else 'rdeploy-tui:'} {count} in workspace {spec.workspace.name} "
    head += "bill per instance-hour until deleted:" if len(billing) > 1 else "bills per instance-hour until deleted:"
    lines = [head] + [f"  {name.ljust(width)}  {cost or 'price unknown'}" for name, cost in billing.items()]
    lines.append(f"  Delete one:  rdeploy-tui endpoints delete NAME {flags}")
    return "\n" + "\n".join(lines)
