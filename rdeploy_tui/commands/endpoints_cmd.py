"""`rdeploy-tui endpoints list | show | logs | score | traffic | delete`: day-2 work on online endpoints."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rdeploy_tui.cli import add_connection_options
from rdeploy_tui.commands.azure_args import add_workspace_options, confirm, connect, open_workspace
from rdeploy_tui.errors import RdeployError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("endpoints", help="list, inspect, score, re-route or delete online endpoints")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help)
        add_workspace_options(p)
        add_connection_options(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

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
    parser.set_defaults(run=run, _parser=parser)


def _out(args: argparse.Namespace, data, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "action", None):
        args._parser.print_help()
        return 2
    payload = None
    if args.action == "score":  # read the body before connecting: a bad file is a usage error
        payload = _payload(args)
    split = _split(args.split) if args.action == "traffic" else None
    if args.action == "delete" and not args.yes and not sys.stdin.isatty():
        confirm("", args)  # unattended without --yes: the usage error (exit 2), before any Azure call
    from dataclasses import asdict

    from rdeploy_tui import azure

    with connect(args) as session:
        ws = open_workspace(session, args)
        endpoints = azure.Endpoints(ws)
        if args.action == "list":
            found = endpoints.list()
            text = "\n".join(f"{e.name:32} {e.state:10} {e.auth_mode:10} {e.scoring_uri or '-'}" for e in found) or f"No endpoints in workspace {ws.name}."
            _out(args, [asdict(e) for e in found], text)
        elif args.action == "show":
            e = endpoints.show(args.name)
            lines = [f"{e.name}: {e.state}, auth {e.auth_mode}, {e.location or ''}", f"scoring URI: {e.scoring_uri or '-'}",
                     "traffic: " + (", ".join(f"{k}={v}%" for k, v in sorted(e.traffic.items())) or "none")]
            lines += [f"  deployment {d.name}: {d.state}, {d.instance_count} x {d.instance_type}, image {d.image or '-'}" for d in e.deployments]
            _out(args, asdict(e), "\n".join(lines))
        elif args.action == "logs":
            deployment = args.deployment or endpoints.default_deployment(args.name)
            lines = endpoints.logs(args.name, deployment, args.container, args.lines)
            _out(args, {"deployment": deployment, "container": args.container, "lines": lines}, "\n".join(lines) or "(the log is empty)")
        elif args.action == "score":
            from rdeploy_tui.scoring.result import double_encoding_message

            result = azure.score(ws, args.name, payload, deployment=args.deployment)
            who = result.served_by or result.deployment
            if args.json:
                _out(args, {"status": result.status, "deployment": who, "latency_ms": round(result.latency_ms, 1), "body": result.body}, "")
            else:
                print(result.text)
                print(f"(HTTP {result.status} from {who or args.name} in {result.latency_ms:.0f} ms)", file=sys.stderr)
            warning = double_encoding_message(result)
            if warning:
                print(f"Warning: {warning}", file=sys.stderr)
        elif args.action == "traffic":
            e = endpoints.set_traffic(args.name, split)
            _out(args, e.traffic, "traffic: " + ", ".join(f"{k}={v}%" for k, v in sorted(e.traffic.items())))
        elif args.action == "delete":
            endpoints.require(args.name)  # before asking: a mistyped name must not end in "Deleted"
            if not confirm(f"Delete endpoint {args.name} and all its deployments?", args):
                print("Nothing was deleted.")
                return 1
            endpoints.delete(args.name, on_progress=lambda m: None)
            _out(args, {"deleted": args.name}, f"Deleted endpoint {args.name}; its deployments no longer bill.")
    return 0


def _payload(args: argparse.Namespace):
    try:
        text = args.data if args.data is not None else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise RdeployError(f"Cannot read {args.file}: {exc.strerror}.", "Give a readable JSON file.", code="Usage") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RdeployError(f"The request body is not valid JSON ({exc.msg} at character {exc.pos}).", "Fix the JSON and try again.", code="Usage") from None


def _split(items: list[str]) -> dict[str, int]:
    split = {}
    for item in items:
        match = re.fullmatch(r"([A-Za-z][-A-Za-z0-9]*)=(\d{1,3})", item)
        if not match:
            raise RdeployError(f"{item!r} is not DEPLOYMENT=PERCENT.", "For example: blue=90 green=10.", code="Usage")
        split[match.group(1)] = int(match.group(2))
    return split
