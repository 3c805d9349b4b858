"""`rdeploy-tui deploy --spec FILE [--yes] [--json]`: run the deploy plan, printing progress and logs line by line."""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from pathlib import Path

from rdeploy_tui.commands.azure_args import confirm, connect, refuse_placeholder_workspace
from rdeploy_tui.commands.spec_args import add_spec_option, load_valid_spec, print_problems
from rdeploy_tui.connection_options import add_connection_options
from rdeploy_tui.pipeline.events import (
    Event,
    LogLines,
    PlanFinished,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    to_json,
)
from rdeploy_tui.spec import rules


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "deploy", help="build the image, create the endpoint and deployment, score the sample request"
    )
    add_spec_option(parser)
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation (needed without a terminal)"
    )
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument(
        "--rebuild", action="store_true", help="build the image even if the registry already has its tag"
    )
    parser.add_argument("--no-score", action="store_true", help="skip the smoke test of the sample request")
    parser.add_argument(
        "--image",
        metavar="REF",
        help="deploy this existing image (e.g. myacr.azurecr.io/r-forecast:1) instead of building one",
    )
    parser.add_argument(
        "--base-from-docker-hub",
        action="store_true",
        help="build FROM the base image on Docker Hub instead of a copy imported into the workspace registry",
    )
    parser.add_argument(
        "--expires-after",
        metavar="DURATION",
        help="tag the endpoint to expire after e.g. 8h or 2d (`endpoints sweep` deletes expired ones)",
    )
    add_connection_options(parser)
    parser.set_defaults(run=run)


def _plain(event: Event) -> None:
    if isinstance(event, StepStarted):
        print(f"==> {event.title}")
    elif isinstance(event, StepProgress):
        print(f"    {event.message}")
    elif isinstance(event, LogLines):
        for line in event.lines:
            print(f"    {event.source} | {line}")
    elif isinstance(event, StepFinished):
        print(f" {'ok' if event.status == 'done' else '--'} {event.step}: {event.message}")
    elif isinstance(event, StepFailed):
        if event.code == "Cancelled":
            print(f" -- {event.step}: {event.what}")
            return
        print(f" !! {event.step} failed: {event.what}")
        if event.details:
            for line in event.details.splitlines()[-40:]:
                print(f"    | {line}")
        if event.failing_line:  # the log line that names the cause (pipeline/failing_line.py), last to be seen
            print(f"    Failing line: {event.failing_line}")
        if event.next_step:
            print(f"    Next: {event.next_step}")
    elif isinstance(event, PlanFinished):
        # The summary may already say "Deploy failed: ..." (never "Deploy failed. Deploy failed:").
        print(event.summary if event.summary.startswith("Deploy ") else f"Deploy {event.status}. {event.summary}")
    sys.stdout.flush()


# A progress message that only counts the seconds of a wait ("deployment blue: Updating (12 s)").
_ELAPSED = re.compile(r"\s*\(\d+ s\)$")


class PlainLines:
    """The plain sink of a run: each event as _plain prints it, except that a progress line is printed when what it
    says changes, not at every poll: a wait that only counts seconds is said again at most every HEARTBEAT_S seconds
    (a 36 s deploy printed 31 "Updating (N s)" lines; Azure's own 7-minute deployments would print hundreds)."""

    HEARTBEAT_S = 60.0

    def __init__(self) -> None:
        self._said: dict[str, tuple[str, float]] = {}  # step -> (its last progress without the count, when printed)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepProgress):
            what = _ELAPSED.sub("", event.message)
            said = self._said.get(event.step)
            if said is not None and said[0] == what and event.at - said[1] < self.HEARTBEAT_S:
                return
            self._said[event.step] = (what, event.at)
        elif isinstance(event, (StepStarted, StepFinished, StepFailed)):
            self._said.pop(event.step, None)
        _plain(event)


def json_line(event: Event) -> None:
    print(json.dumps(to_json(event), default=str), flush=True)


def run(args: argparse.Namespace) -> int:
    from rdeploy_tui.locations import log_dir
    from rdeploy_tui.pipeline.engine import check_state_folder
    from rdeploy_tui.pipeline.plan import make_plan
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.pipeline.state import ResumeStore

    spec_path = Path(args.spec)
    spec, problems = load_valid_spec(spec_path)
    print_problems(problems, args.spec)
    if spec is None:
        return 1
    if args.image and (err := rules.check_base_image(args.image)):
        print(f"--image: {err.replace('base image', 'image')}", file=sys.stderr)
        return 2
    if args.expires_after is not None:
        from rdeploy_tui.errors import RdeployError
        from rdeploy_tui.spec.rules import check_expires_after

        if problem := check_expires_after(args.expires_after):
            raise RdeployError(f"--expires-after: {problem}.", "For example: --expires-after 8h.", code="Usage")
        spec.deployment.expires_after = args.expires_after
    refuse_placeholder_workspace(args, spec.workspace)
    # The state folder takes the resume state and the log, checked before anything is asked or sent to Azure.
    check_state_folder([ResumeStore().folder, log_dir()])
    if not args.yes:
        if not args.json and sys.stdin.isatty():
            from rdeploy_tui.deploy_folder.render import render

            for step in make_plan(spec, image_name=render(spec, base_dir=spec_path.parent).image_name).steps:
                print(f"  - {step.title}")
        if not confirm(f"Deploy {spec.endpoint.name}/{spec.deployment.name} (this creates resources that bill)?", args):
            print("Not confirmed: nothing deployed.")
            return 0  # the user's answer, not a failure
    from rdeploy_tui.launch import Playground

    session = connect(args, playground=Playground.for_spec(spec))
    try:  # a run whose resume state or log could not be saved does not succeed (engine.py): exit 1 then
        outcome = run_deploy(
            spec,
            session=session,
            sink=json_line if args.json else PlainLines(),
            base_dir=spec_path.parent,
            cancel=threading.Event(),
            force_build=args.rebuild,
            smoke_score=not args.no_score,
            base_from_docker_hub=args.base_from_docker_hub,
            image=args.image,
        )
    finally:
        session.close()
    if outcome.log_file is not None and not args.json:
        print(f"Log: {outcome.log_file}")
    return 0 if outcome.status == "succeeded" else 1
