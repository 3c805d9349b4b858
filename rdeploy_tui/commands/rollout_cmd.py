"""`rdeploy-tui rollout --spec FILE`: a new version beside the serving one, shifted in stages, rolled back on
trouble, resumed where it stopped (docs/rollout.md)."""

from __future__ import annotations

import argparse
import re
import threading
from pathlib import Path

from rdeploy_tui.commands.azure_args import confirm, connect, refuse_placeholder_workspace
from rdeploy_tui.commands.spec_args import add_spec_option, load_valid_spec, print_problems
from rdeploy_tui.connection_options import add_connection_options
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.events import Event, PlanFinished, StageMeasured, StepFailed


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "rollout",
        help="deploy a new version beside the serving one at 0 %%, shift traffic in stages, roll back automatically",
        description="Deploys the spec's model/packages/size as a second deployment of the endpoint with no traffic, "
        "scores it by name, optionally mirrors live traffic to it, then shifts traffic in stages (the spec's "
        "rollout.steps, default 10 50 100). At each stage both deployments answer the same requests; crossing a "
        "threshold of the spec's rollout section (error rate, p50/p95 latency against the old one, differing answers) "
        "moves all traffic back. Run it again to resume: a rollback begun is finished, a shift that reached 100 %% is "
        "never judged again.",
    )
    add_spec_option(parser)
    parser.add_argument(
        "--new",
        metavar="NAME",
        help="name of the new deployment (default: deployment.name, or the other of blue/green)",
    )
    parser.add_argument(
        "--steps",
        metavar="PCT,PCT,...",
        help="the new deployment's share at each stage, ending at 100 (default from the spec: 10,50,100)",
    )
    parser.add_argument(
        "--hold", type=int, metavar="SECONDS", help="how long each stage is watched (default from the spec: 60)"
    )
    parser.add_argument(
        "--mirror",
        type=int,
        metavar="PCT",
        help="first mirror this share of live traffic to the new deployment (at most 50)",
    )
    parser.add_argument("--mirror-seconds", type=int, metavar="SECONDS", help="how long to mirror")
    parser.add_argument(
        "--requests", metavar="FILE", help="a JSON list of request bodies to compare on (default: the sample request)"
    )
    parser.add_argument(
        "--keep-old",
        action="store_true",
        help="at 100 %%, keep the old deployment at 0 %% (it still bills) instead of deleting it",
    )
    parser.add_argument(
        "--delete-failed",
        action="store_true",
        help="on rollback, delete the new deployment instead of keeping it for its logs",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the image even if the registry has its tag")
    parser.add_argument(
        "--take-lock",
        action="store_true",
        help="take the endpoint's rollout lock (its rdeploy-rollout-lock tag) from another rollout you know is gone",
    )
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation (needed without a terminal)"
    )
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    add_connection_options(parser)
    parser.set_defaults(run=run)


def _steps(text: str) -> list[int]:
    if not re.fullmatch(r"\s*\d{1,3}(\s*,\s*\d{1,3})*\s*", text):
        raise RdeployError(
            f"--steps {text!r} is not a list of percentages.", "For example: --steps 10,50,100.", code="Usage"
        )
    return [int(x) for x in text.split(",")]


class RolloutLines:
    """The plain sink of a rollout: its stages' measures and outcome, the rest as a deploy prints it."""

    def __init__(self) -> None:
        from rdeploy_tui.commands.deploy_cmd import PlainLines

        self.deploy_lines = PlainLines()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StageMeasured):
            print(f"    {event.line()}" + (f"\n !! {event.verdict}" if event.verdict else ""), flush=True)
        elif isinstance(event, StepFailed) and event.code == "RollbackNeeded" and event.what != "rolled back by hand":
            return  # the threshold crossed: its StageMeasured line just said it
        elif isinstance(event, PlanFinished):
            print(event.summary, flush=True)  # it says how the rollout ended
        else:
            self.deploy_lines(event)


def run(args: argparse.Namespace) -> int:
    from rdeploy_tui.commands.deploy_cmd import json_line  # the deploy's JSON lines: one format for both commands
    from rdeploy_tui.locations import log_dir
    from rdeploy_tui.pipeline.engine import check_state_folder
    from rdeploy_tui.pipeline.rollout import RolloutOptions, rollout_store, run_rollout
    from rdeploy_tui.pipeline.rollout_inputs import check_rollout_inputs

    spec_path = Path(args.spec)
    spec, problems = load_valid_spec(spec_path)
    print_problems(problems, args.spec)
    if spec is None:
        return 1
    refuse_placeholder_workspace(args, spec.workspace)
    r = spec.rollout
    if args.steps is not None:
        r.steps = _steps(args.steps)
    for name, value in (
        ("hold_seconds", args.hold),
        ("mirror_percent", args.mirror),
        ("mirror_seconds", args.mirror_seconds),
        ("requests_file", args.requests),
    ):
        if value is not None:
            setattr(r, name, value)
    if args.mirror and args.mirror_seconds is None and not r.mirror_seconds:
        r.mirror_seconds = r.hold_seconds
    # Every input (thresholds, the requests file) before the question and before any Azure call: a bad one is a
    # usage error (exit 2) with nothing created; once a new deployment exists it would cost a rollback.
    if args.requests is not None and not Path(args.requests).is_absolute():
        r.requests_file = str(Path.cwd() / args.requests)  # an option is relative to where it is typed
    bodies = check_rollout_inputs(spec, spec_path.parent)
    check_state_folder([rollout_store().folder, log_dir()])
    if not confirm(
        f"Roll out a new deployment on endpoint {spec.endpoint.name} "
        f"(stages {', '.join(map(str, r.steps))} %; this creates resources that bill)?",
        args,
    ):
        print("Nothing was done.")
        return 1
    options = RolloutOptions(
        new_deployment=args.new,
        keep_old=args.keep_old,
        delete_failed=args.delete_failed,
        force_build=args.rebuild,
        requests=bodies,
        take_lock=args.take_lock,
    )
    from rdeploy_tui.launch import Playground

    session = connect(args, playground=Playground.for_spec(spec))
    try:
        outcome = run_rollout(
            spec,
            session=session,
            sink=json_line if args.json else RolloutLines(),
            options=options,
            base_dir=spec_path.parent,
            cancel=threading.Event(),
        )
    finally:
        session.close()
    if outcome.log_file is not None and not args.json:
        print(f"Log: {outcome.log_file}")
    if outcome.error is not None and outcome.status == "failed" and outcome.error.code == "Usage":
        return 2
    return {"succeeded": 0, "cancelled": 130}.get(outcome.status, 1)
