"""`rdeploy-tui endpoints metrics` and `endpoints autoscale`: an endpoint's health from Azure Monitor, and its
deployment's autoscale setting (the parser lines live in endpoints_cmd.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    from rdeploy_tui.azure.autoscale import AutoscaleInfo
    from rdeploy_tui.azure.monitor import Health, Series
    from rdeploy_tui.spec.deploy_spec import AutoscaleSpec

# Only the parser lines run for the other `endpoints` actions: what the two actions need is imported in them
# (benchmarks/bench_day2_cli.py times `endpoints list/show/...` as fresh processes).

WINDOW_CHOICES = ("1h", "6h", "24h", "7d")  # azure.monitor.WINDOWS, without importing the Azure layer to list them


def add_metrics_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--deployment", "-d", help="default: the deployment with the most traffic")
    p.add_argument("--since", choices=WINDOW_CHOICES, default="1h", help="the window to show (default 1h)")


def add_autoscale_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--deployment", "-d", help="default: the deployment with the most traffic")
    p.add_argument("--min", type=int, help="fewest instances (default 1)")
    p.add_argument("--max", type=int, help="most instances (turns autoscale on)")
    p.add_argument("--default", type=int, help="instances when the metrics cannot be read (default: --min)")
    p.add_argument("--cpu-out", type=float, metavar="PCT", help="scale out above this average CPU %%")
    p.add_argument("--cpu-in", type=float, metavar="PCT", help="scale in below this average CPU %%")
    p.add_argument("--latency-out", type=float, metavar="MS", help="scale out above this endpoint latency (ms)")
    p.add_argument("--latency-in", type=float, metavar="MS", help="scale in below this endpoint latency (ms)")
    p.add_argument("--minutes", type=int, help="the time window the averages are taken over (default 5 out, 10 in)")
    p.add_argument("--cooldown", type=int, metavar="MINUTES", help="wait after each scale action (default 5)")
    p.add_argument("--step", type=int, help="instances added or removed at a time (default 1)")
    p.add_argument("--off", action="store_true", help="turn autoscale off (the setting and its rules are kept)")


def run(args: argparse.Namespace) -> int:
    return metrics_command(args) if args.action == "metrics" else autoscale_command(args)


# ----- endpoints metrics ------------------------------------------------------------------------------------------
def metrics_command(args: argparse.Namespace) -> int:
    from rdeploy_tui import azure
    from rdeploy_tui.azure.monitor import read_health
    from rdeploy_tui.commands.azure_args import connect, open_workspace

    with connect(args) as session:
        ws = open_workspace(session, args, light=True)
        deployment = args.deployment or azure.RestEndpoints(ws).default_deployment(args.name)
        health = read_health(ws, args.name, deployment, args.since)
    if args.json:
        print(json.dumps(health_json(health), indent=2, default=str))
    else:
        print(health_text(health))
    return 0


def _grain_words(interval: str) -> str:
    return {"PT1M": "1-minute", "PT5M": "5-minute", "PT15M": "15-minute", "PT1H": "1-hour"}.get(interval, interval)


def health_text(health: Health) -> str:
    from rdeploy_tui.health_text import health_rows, spark

    who = f" through deployment {health.deployment}" if health.deployment else ""
    lines = [
        f"Health of endpoint {health.endpoint}{who}, last {health.window} in {_grain_words(health.interval)} grains "
        "(Azure Monitor):"
    ]
    rows = health_rows(health)
    width = max(len(r.label) for r in rows)
    lines.append(f"  {'METRIC'.ljust(width)}  {'LAST ' + health.window:<24}  {'NOW':>8}  {'AVG':>8}  {'MAX':>8}")
    for r in rows:
        graph = spark(r.series.points, 24, r.top)
        lines.append(f"  {r.label.ljust(width)}  {graph:<24}  {r.now:>8}  {r.average:>8}  {r.maximum:>8}")
    lines.append("  (AVG of an error line: its share of all requests in the window)")
    if not health.has_traffic:
        lines.append("  No requests in this window (Azure Monitor publishes a minute or more late).")
    if health.autoscale is not None:
        lines += ["", *health.autoscale.lines()]
        if health.events:
            lines.append(f"scale events in the last {health.window}:")
            lines += [f"  {e.text()}" for e in health.events]
        else:
            lines.append(f"no scale events in the last {health.window}")
    elif health.deployment:
        lines += ["", f"autoscale: off (no setting): `rdeploy-tui endpoints autoscale {health.endpoint} --max N`"]
    return "\n".join(lines)


def health_json(health: Health) -> dict[str, Any]:
    from dataclasses import asdict

    def points(series: Series | None) -> list[float | None]:
        return list(series.points) if series is not None else []

    return {
        "endpoint": health.endpoint,
        "deployment": health.deployment,
        "window": health.window,
        "interval": health.interval,
        "start": health.start.isoformat(),
        "end": health.end.isoformat(),
        "times": [t.isoformat() for t in health.times],
        "requests_per_minute": points(health.requests),
        "requests_per_minute_by_class": {k: points(v) for k, v in health.by_class.items()},
        "error_rate": {c: health.error_rate(c) for c in ("4xx", "5xx")},
        "latency_ms": {k: points(v) for k, v in health.latency.items()},
        "cpu_percent": {k: points(v) for k, v in health.cpu.items()},
        "memory_percent": {k: points(v) for k, v in health.memory.items()},
        "instances": points(health.instances),
        "autoscale": None
        if health.autoscale is None
        else {
            "name": health.autoscale.name,
            "enabled": health.autoscale.enabled,
            "profiles": [asdict(p) for p in health.autoscale.profiles],
        },
        "scale_events": [{**asdict(e), "at": e.at.isoformat()} for e in health.events],
    }


# ----- endpoints autoscale ------------------------------------------------------------------------------------------
def _requested(args: argparse.Namespace) -> AutoscaleSpec | None:
    """The AutoscaleSpec the flags ask for (None: only show), checked before anything reaches Azure."""
    from dataclasses import replace

    from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, DeploymentSpec
    from rdeploy_tui.spec.rules import autoscale_problems

    rule_flags = (args.cpu_out, args.cpu_in, args.latency_out, args.latency_in)
    shaping = (args.min, args.default, args.minutes, args.cooldown, args.step, *rule_flags)
    if args.off:
        if args.max is not None or any(v is not None for v in shaping):
            raise RdeployError("--off takes no other autoscale flags.", "Give --off alone.", code="Usage")
        return None
    if args.max is None:
        if any(v is not None for v in shaping):
            raise RdeployError(
                "Autoscale needs --max (the most instances).", "For example: --min 1 --max 5.", code="Usage"
            )
        return None
    if (args.cpu_out is not None and args.latency_out is not None) or (
        args.cpu_in is not None and args.latency_in is not None
    ):
        raise RdeployError(
            "Scale on CPU or on latency, not both.",
            "Give --cpu-out/--cpu-in or --latency-out/--latency-in.",
            code="Usage",
        )
    auto = AutoscaleSpec()
    low = args.min if args.min is not None else 1
    auto = replace(auto, min=low, max=args.max, default=args.default if args.default is not None else low)
    out, into = auto.scale_out, auto.scale_in
    if args.latency_out is not None or args.latency_in is not None:
        if args.latency_out is None or args.latency_in is None:
            raise RdeployError(
                "Latency rules come in pairs: give --latency-out and --latency-in.",
                "Scale out and in on the same metric, e.g. --latency-out 200 --latency-in 50.",
                code="Usage",
            )
        out, into = (
            replace(out, metric="latency", threshold=args.latency_out),
            replace(into, metric="latency", threshold=args.latency_in),
        )
    if args.cpu_out is not None:
        out = replace(out, metric="cpu", threshold=args.cpu_out)
    if args.cpu_in is not None:
        into = replace(into, metric="cpu", threshold=args.cpu_in)
    for flag, field in ((args.minutes, "minutes"), (args.cooldown, "cooldown_minutes"), (args.step, "change")):
        if flag is not None:
            out, into = replace(out, **{field: flag}), replace(into, **{field: flag})
    auto = replace(auto, scale_out=out, scale_in=into)
    deployment = DeploymentSpec(instance_type="", instance_count=auto.min, autoscale=auto)
    errors = [p for p in autoscale_problems(deployment) if p.level == "error"]
    if errors:
        flags = {
            "min": "--min",
            "max": "--max",
            "default": "--default",
            "minutes": "--minutes",
            "cooldown_minutes": "--cooldown",
            "change": "--step",
        }
        lines = []
        for p in errors:
            part = p.field.rsplit(".", 1)[-1]
            side = "out" if ".scale_out." in p.field else "in" if ".scale_in." in p.field else ""
            flag = flags.get(part) or (f"--{out.metric if side == 'out' else into.metric}-{side}" if side else p.field)
            lines.append(f"{flag}: {p.message}")
        raise RdeployError("\n".join(lines), "Change the flags and run again; nothing was sent to Azure.", code="Usage")
    return auto


def autoscale_command(args: argparse.Namespace) -> int:
    from dataclasses import asdict
    from datetime import datetime, timedelta, timezone

    from rdeploy_tui import azure
    from rdeploy_tui.azure import autoscale
    from rdeploy_tui.commands.azure_args import connect, open_workspace
    from rdeploy_tui.spec.deploy_spec import DeploymentSpec
    from rdeploy_tui.spec.rules import autoscale_problems

    wanted = _requested(args)
    with connect(args) as session:
        ws = open_workspace(session, args, light=True)
        endpoints = azure.RestEndpoints(ws)
        deployment = args.deployment or endpoints.default_deployment(args.name)
        if args.off:
            info = autoscale.disable_autoscale(ws, args.name, deployment)
            if info is None:
                _say(
                    args,
                    {"deployment": deployment, "autoscale": None},
                    f"{args.name}/{deployment} has no autoscale setting: nothing to turn off.",
                )
                return 0
            _say(args, _info_json(info, deployment), "\n".join(info.lines()))
            return 0
        if wanted is None:
            info = autoscale.read_autoscale(ws, args.name, deployment)
            if info is None:
                _say(
                    args,
                    {"deployment": deployment, "autoscale": None},
                    f"{args.name}/{deployment}: autoscale off (no setting). "
                    f"`rdeploy-tui endpoints autoscale {args.name} --min 1 --max 3` turns it on.",
                )
                return 0
            events = autoscale.scale_events(ws, info, datetime.now(timezone.utc) - timedelta(days=1))
            text = "\n".join([*info.lines(), "scale events in the last 24 h:", *(f"  {e.text()}" for e in events)])
            _say(
                args,
                {
                    **_info_json(info, deployment),
                    "scale_events": [{**asdict(e), "at": e.at.isoformat()} for e in events],
                },
                text,
            )
            return 0
        found = endpoints.find_deployment(args.name, deployment)
        if found is not None and found.instance_type:  # the family's free vCPUs against autoscale's max
            from rdeploy_tui.azure.quota import autoscale_quota_warning

            quota = autoscale_quota_warning(ws, found.instance_type, wanted.max, found.instance_count or 1)
            if quota:
                print(f"Warning: {quota}", file=sys.stderr)
        if found is not None:  # what depends on the VM size (a plumber instance uses one of its cores)
            checked = DeploymentSpec(
                instance_type=found.instance_type or "", instance_count=found.instance_count or 1, autoscale=wanted
            )
            for p in autoscale_problems(checked):
                if p.level == "warning":
                    print(f"Warning: {p.message}", file=sys.stderr)
        info = autoscale.apply_autoscale(ws, args.name, deployment, wanted)
    _say(args, _info_json(info, deployment), "\n".join(info.lines()))
    return 0


def _info_json(info: AutoscaleInfo, deployment: str) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "deployment": deployment,
        "autoscale": {
            "id": info.id,
            "name": info.name,
            "enabled": info.enabled,
            "profiles": [asdict(p) for p in info.profiles],
        },
    }


def _say(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)
