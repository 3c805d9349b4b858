"""The cost guard's part of `rdeploy-tui endpoints`: what each endpoint bills now (list), and `endpoints sweep`."""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypedDict

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection
    from rdeploy_tui.azure.online import EndpointInfo, Endpoints


class Cost(TypedDict):
    bills: str  # what the endpoint bills now, as a person reads it
    hourly_price: float | None  # at list price; None: not known for every deployment
    currency: str | None


class CostRow(Cost):
    expiry: str  # the time its expiry tag leaves ("-": none)
    expires_at: str | None


def bills_now(session: AzureConnection, endpoints: Endpoints, info: EndpointInfo) -> Cost:
    """{"bills": text, "hourly_price": float | None, "currency": ...}: every deployment's instances at list price."""
    from rdeploy_tui.azure.prices import bill
    from rdeploy_tui.billing import billing_deployments

    try:
        full = endpoints.find(info.name) or info
    except RdeployError:
        return {"bills": "price unknown (deployments unreadable)", "hourly_price": None, "currency": None}
    cost = bill(session, info.location, billing_deployments(full))
    if cost.deployments == 0:
        return {"bills": cost.text(), "hourly_price": 0.0, "currency": None}
    if cost.currency is None:
        return {"bills": cost.text(), "hourly_price": None, "currency": None}
    hourly = None if cost.unknown else round(cost.per_hour, 4)
    return {"bills": cost.text(), "hourly_price": hourly, "currency": cost.currency}


def list_rows(session: AzureConnection, endpoints: Endpoints, found: list[EndpointInfo]) -> list[CostRow]:
    """One row per endpoint: what it bills now per hour, and the time its expiry tag leaves."""
    from rdeploy_tui.pipeline.expiry import TAG, time_left

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="rdeploy-costs") as pool:
        bills = list(pool.map(lambda e: bills_now(session, endpoints, e), found))
    return [
        CostRow(**b, expiry=time_left(e.tags), expires_at=e.tags.get(TAG)) for e, b in zip(found, bills, strict=True)
    ]


def sweep_command(args: argparse.Namespace) -> int:
    """`endpoints sweep [--yes]`: delete the expired endpoints. Unattended (no terminal) only with --yes."""
    from rdeploy_tui import azure
    from rdeploy_tui.commands.azure_args import confirm, connect, open_workspace
    from rdeploy_tui.pipeline.expiry import is_expired, sweep, time_left

    if not args.yes and not sys.stdin.isatty():
        raise RdeployError(
            "`endpoints sweep` deletes endpoints and needs a confirmation, but there is no terminal to ask on.",
            "Run it with --yes (as a cron job would).",
            code="Usage",
        )
    with connect(args) as session:
        ws = open_workspace(session, args)
        endpoints = azure.Endpoints(ws)
        expired = [e for e in endpoints.list() if is_expired(e.tags)]
        if not expired:
            print(
                json.dumps({"deleted": [], "failed": []})
                if args.json
                else f"No expired endpoints in workspace {ws.name}."
            )
            return 0
        if not args.json:
            for e in expired:
                print(f"  {e.name}: {time_left(e.tags)}")
        if not confirm(f"Delete these {len(expired)} expired endpoint(s) and their deployments?", args):
            print("Nothing was deleted.")
            return 1
        deleted, failed = sweep(
            endpoints, on_deleting=lambda name: None if args.json else print(f"deleting {name} ...", flush=True)
        )
    if args.json:
        print(json.dumps({"deleted": deleted, "failed": [{"name": n, "error": w} for n, w in failed]}))
    else:
        if deleted:
            from rdeploy_tui.billing import deleted_sentence

            print(deleted_sentence(deleted))
        for name, what in failed:
            print(f"Could not delete {name}: {what}", file=sys.stderr)
    return 1 if failed else 0
