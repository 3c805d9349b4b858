"""`rdeploy-tui endpoints list | show | logs | score | traffic | delete`: day-2 work on online endpoints."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING

from rdeploy_tui.commands.azure_args import confirm, connect, open_workspace, workspace_actions
from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import EndpointInfo
    from rdeploy_tui.azure.workspace import Workspace
    from rdeploy_tui.commands.endpoint_costs import CostRow


def register(sub: argparse._SubParsersAction) -> None:
    action = workspace_actions(sub, "endpoints", "list, inspect, score, re-route or delete online endpoints", run)

    action("list", "endpoints of the workspace")
    p = action("show", "one endpoint: state, scoring URI, traffic, deployments")
    p.add_argument("name")
    p = action("logs", "the last lines of a deployment's container log")
    p.add_argument("name")
    p.add_argument("--deployment", "-d", help="default: the deployment with the most traffic")
    p.add_argument("--container", choices=("inference-server", "storage-initializer"), default="inference-server")
    p.add_argument("--lines", type=int, default=100)
    p = action("score", "send a request to the endpoint")
    p.add_argument("name")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", help="the request body as JSON text")
    data.add_argument("--file", help="a file with the JSON request body")
    p.add_argument("--deployment", "-d", help="score this deployment directly (ignores the traffic split)")
    p = action("traffic", "set the traffic split, e.g. blue=90 green=10")
    p.add_argument("name")
    p.add_argument("split", nargs="+", metavar="DEPLOYMENT=PERCENT")
    p = action("delete", "delete an endpoint and its deployments (stops their bill)")
    p.add_argument("name")
    p.add_argument("--yes", "-y", action="store_true")
    p = action(
        "sweep", "delete every endpoint whose expiry (deploy --expires-after) has passed; for a cron job with --yes"
    )
    p.add_argument("--yes", "-y", action="store_true")
    from rdeploy_tui.commands import endpoints_monitor

    endpoints_monitor.add_metrics_arguments(
        action("metrics", "health from Azure Monitor: requests, errors, latency, CPU and memory per instance")
    )
    endpoints_monitor.add_autoscale_arguments(
        action("autoscale", "show or set a deployment's autoscale (Azure Monitor); --off turns it off")
    )


def _out(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "action", None):
        args._parser.print_help()
        return 2
    payload = None
    if args.action == "score":  # read the body before connecting: a bad file is a usage error
        payload = _payload(args)
    split = _split(args.split) if args.action == "traffic" else None  # a split Azure would refuse: before connecting
    if args.action == "delete" and not args.yes and not sys.stdin.isatty():
        confirm("", args)  # unattended without --yes: the usage error (exit 2), before any Azure call
    if args.action == "sweep":
        from rdeploy_tui.commands.endpoint_costs import sweep_command

        return sweep_command(args)
    if args.action in ("metrics", "autoscale"):
        from rdeploy_tui.commands import endpoints_monitor

        return endpoints_monitor.run(args)
    from dataclasses import asdict

    from rdeploy_tui import azure

    with connect(args) as session:
        ws = open_workspace(session, args, light=True)  # reads, keys and delete need no azure.ai.ml (~1.5 s import)
        endpoints = azure.RestEndpoints(ws)
        if args.action == "list":
            # The list call does not return deployments: read each endpoint's (as the endpoints screen does).
            from rdeploy_tui.commands.endpoint_costs import list_rows

            found = [endpoints.find(e.name) or e for e in endpoints.list()]
            rows = list_rows(session, endpoints, found)  # what each bills now per hour, and its time left
            _out(args, [{**asdict(e), **r} for e, r in zip(found, rows, strict=True)], _list_text(found, ws, rows))
        elif args.action == "show":
            e = endpoints.show(args.name)
            lines = [
                f"{e.name}: {e.state}, auth {e.auth_mode}, {e.location or ''}",
                f"scoring URI: {e.scoring_uri or '-'}",
                "traffic: " + (", ".join(f"{k}={v}%" for k, v in sorted(e.traffic.items())) or "none"),
            ]
            lines += [
                f"  deployment {d.name}: {d.state}, {d.instance_count} x {d.instance_type}, image {d.image or '-'}"
                for d in e.deployments
            ]
            _out(args, asdict(e), "\n".join(lines))
        elif args.action == "logs":
            if args.deployment:
                endpoints.require_deployment(args.name, args.deployment)
            deployment = args.deployment or endpoints.default_deployment(args.name)
            lines = endpoints.logs(args.name, deployment, args.container, args.lines)
            _out(
                args,
                {"deployment": deployment, "container": args.container, "lines": lines},
                "\n".join(lines) or "(the log is empty)",
            )
        elif args.action == "score":
            from rdeploy_tui.scoring.result import double_encoding_message

            result = azure.score(ws, args.name, payload, deployment=args.deployment)
            who = result.served_by or result.deployment
            if args.json:
                _out(
                    args,
                    {
                        "status": result.status,
                        "deployment": who,
                        "latency_ms": round(result.latency_ms, 1),
                        "body": result.body,
                    },
                    "",
                )
            else:
                print(result.text)
                print(f"(HTTP {result.status} from {who or args.name} in {result.latency_ms:.0f} ms)", file=sys.stderr)
            warning = double_encoding_message(result)
            if warning:
                print(f"Warning: {warning}", file=sys.stderr)
        elif args.action == "traffic":
            assert split is not None  # read before connecting, above
            e = endpoints.set_traffic(args.name, split)
            _out(args, e.traffic, "traffic: " + ", ".join(f"{k}={v}%" for k, v in sorted(e.traffic.items())))
        elif args.action == "delete":
            endpoints.require(args.name)  # before asking: a mistyped name must not end in "Deleted"
            if not confirm(f"Delete endpoint {args.name} and all its deployments?", args):
                print("Not confirmed: nothing deleted.")
                return 0  # the user's answer, not a failure
            endpoints.delete(args.name, on_progress=lambda m: None)
            _out(args, {"deleted": args.name}, f"Deleted endpoint {args.name}; its deployments no longer bill.")
    return 0


def _list_text(found: list[EndpointInfo], ws: Workspace, costs: list[CostRow]) -> str:
    """The endpoints of `ws` under a line naming the workspace read and a column header; $ marks those
    with deployments, which bill per instance-hour until deleted; `costs` (endpoint_costs.list_rows) says
    what each bills now and the time its expiry tag leaves."""
    where = f"workspace {ws.name} (resource group {ws.resource_group}, subscription {ws.subscription_id})"
    if not found:
        return f"No online endpoints in {where}."
    from rdeploy_tui.billing import still_bills

    rows = [("", "ENDPOINT", "STATE", "AUTH", "TRAFFIC", "BILLS NOW", "EXPIRY", "SCORING URI")]
    for e, cost in zip(found, costs, strict=True):
        traffic = " ".join(f"{k}={v}%" for k, v in sorted(e.traffic.items()) if v) or "none"
        rows.append(
            (
                "$" if still_bills(e) else "",
                e.name,
                e.state,
                e.auth_mode,
                traffic,
                cost["bills"],
                cost["expiry"],
                e.scoring_uri or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"Online endpoints in {where}:"]
    lines += [" ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + " " + r[-1] for r in rows]
    billing = sum(1 for e in found if still_bills(e))
    if billing:
        lines.append(f"$: has deployments, which bill per instance-hour until deleted ({billing} of {len(found)}).")
    lines.append("Prices are list prices before discounts and taxes.")
    return "\n".join(line.rstrip() for line in lines)


def _payload(args: argparse.Namespace) -> object:
    """The request body of `score`, read and checked before connecting: a bad file is a usage error (exit 2).
    --file goes through bounded_read (a FIFO, /dev/zero or a 1.8 GB file is refused at once, as is JSON nested
    too deeply or a number too long to read)."""
    from rdeploy_tui import bounded_read

    if args.data is not None:
        try:
            return bounded_read.parse_json(args.data)
        except bounded_read.ContentError as exc:
            raise RdeployError(
                f"The request body in the --data value {exc.message}.", "Fix the JSON and try again.", code="Usage"
            ) from None
    try:
        return bounded_read.read_json(args.file, bounded_read.REQUEST_BODY)
    except FileNotFoundError:
        raise RdeployError(f"Cannot read {args.file}: no such file.", "Give a JSON file.", code="Usage") from None
    except bounded_read.FileRefused as exc:
        raise RdeployError(f"The request body {exc.what}.", exc.next_step, code="Usage") from None


def _split(items: list[str]) -> dict[str, int]:
    """DEPLOYMENT=PERCENT words as a split that Azure accepts (spec/traffic.py), else a usage error."""
    from rdeploy_tui.spec.traffic import traffic_problem

    split: dict[str, int] = {}
    for item in items:
        match = re.fullmatch(r"([A-Za-z][-A-Za-z0-9]*)=(\d{1,3})", item)
        if not match:
            raise RdeployError(f"{item!r} is not DEPLOYMENT=PERCENT.", "For example: blue=90 green=10.", code="Usage")
        if match.group(1) in split:
            raise RdeployError(f"{match.group(1)} is given twice.", "Give each deployment once.", code="Usage")
        split[match.group(1)] = int(match.group(2))
    problem = traffic_problem(split)
    if problem:
        raise RdeployError(f"Traffic not set: {problem}.", "For example: blue=90 green=10.", code="Usage")
    return split
