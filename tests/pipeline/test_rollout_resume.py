"""A rollout killed at each of its steps, then run again, as a user would: a real `rdeploy-tui rollout` process
(SIGKILL, not a Python-level interruption) against the shared sandbox reached as a custom ARM endpoint, which,
like Azure, goes on with what it was asked when the client dies. The endpoint's traffic is read after the kill and
after the re-run (docs/rollout.md says what each step resumes to). Also: `--take-lock` while the holder is stopped
(SIGSTOP) then continued, a lease tag no rdeploy-tui wrote, and inputs refused before anything is created."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rdeploy_tui.pipeline.endpoint_lease import TAG

pytestmark = [pytest.mark.sandbox, pytest.mark.r, pytest.mark.slow]

_SCRUB = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "AZUREML_CURRENT_CLOUD")
Event = dict
Check = Callable[[Event], bool]


def _console_script() -> str:
    script = Path(sys.executable).with_name("rdeploy-tui")
    return str(script) if script.exists() else (shutil.which("rdeploy-tui") or "rdeploy-tui")


class Machine:
    """One machine: its own state folder, the CLI signed in to the shared sandbox as to a custom cloud."""

    def __init__(self, sandbox, folder: Path) -> None:
        self.home = folder / "home"
        self.ca = str(sandbox.client_settings().ca_cert)
        self.url = sandbox.base_url
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith(("AZURE_", "RDEPLOY_"))}
        env.update(sandbox.service_principal.environment())
        env["RDEPLOY_HOME"] = str(self.home)
        self.env = env

    def start(self, spec_file: Path, *args: str) -> subprocess.Popen:
        command = [_console_script(), "--arm-endpoint", self.url, "--ca-bundle", self.ca, "rollout"]
        return subprocess.Popen(
            [*command, "--spec", str(spec_file), "--yes", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )

    def rollout(self, spec_file: Path, *args: str, kill_when: Check | None = None) -> tuple[int, list[Event], str]:
        """Run it to its end, or SIGKILL it at the first event `kill_when` accepts: (exit code, events, stderr)."""
        proc = self.start(spec_file, *args)
        deadline = threading.Timer(420, proc.kill)  # the test's deadline: a hang fails, it never waits forever
        deadline.start()
        events: list[Event] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                events.append(json.loads(line))
                if kill_when is not None and kill_when(events[-1]):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return -9, events, ""
            rc = proc.wait()
        finally:
            deadline.cancel()
        return rc, events, proc.stderr.read() if proc.stderr else ""


def started(step: str) -> Check:
    return lambda e: e["event"] == "StepStarted" and e["step"] == step


def measured(step: str) -> Check:
    return lambda e: e["event"] == "StageMeasured" and e["step"] == step


def _steps(events: list[Event], kind: str) -> list[str]:
    return [e["step"] for e in events if e["event"] == kind]


def _end(events: list[Event]) -> Event:
    assert events and events[-1]["event"] == "PlanFinished", events[-3:]
    return events[-1]


@pytest.fixture
def serving(session, make_spec, cleanup, tmp_path, sandbox):
    """An endpoint whose deployment blue takes all traffic, and a spec file for the next version."""
    from rdeploy_tui.azure import Endpoints, Workspace
    from rdeploy_tui.pipeline.runner import run_deploy
    from rdeploy_tui.spec.deploy_spec import save_spec

    spec = make_spec("rres")
    first = run_deploy(spec, session=session, sink=lambda e: None, smoke_score=False)
    ws = Workspace.open(session, spec.workspace.subscription_id, spec.workspace.resource_group, spec.workspace.name)
    cleanup.append((ws, spec.endpoint.name))
    assert first.status == "succeeded", first.summary
    spec.rollout.hold_seconds = 0
    spec.rollout.requests_per_stage = 4
    spec.rollout.latency_slack_ms = 5000  # a busy 2-core machine: only thresholds that matter here are judged
    path = tmp_path / "rdeploy.yaml"
    save_spec(spec, path)
    endpoints = Endpoints(ws)

    def traffic() -> dict[str, int]:
        return {k: v for k, v in endpoints.show(spec.endpoint.name).traffic.items() if v}

    return spec, path, endpoints, traffic


def test_killed_while_retiring_the_old_deployment_the_rerun_only_finishes_retiring(serving, sandbox, tmp_path):
    spec, path, endpoints, traffic = serving
    machine = Machine(sandbox, tmp_path)
    rc, events, _ = machine.rollout(path, "--steps", "50,100", kill_when=started("retire-old"))
    assert rc == -9, events[-3:]
    assert traffic() == {"green": 100}  # the shift had finished when it was killed

    rc, again, err = machine.rollout(path, "--steps", "50,100")
    assert rc == 0, (again[-3:], err)
    assert _end(again)["status"] == "succeeded"
    # never judged again, never reversed: only the retirement
    assert _steps(again, "StepStarted") == ["prepare", "retire-old"]
    assert not _steps(again, "StageMeasured") and not _steps(again, "TrafficMoved")
    assert traffic() == {"green": 100}
    assert [d.name for d in endpoints.show(spec.endpoint.name).deployments] == ["green"]


def test_killed_while_mirroring_then_run_without_mirror_goes_on_without_rolling_back(serving, sandbox, tmp_path):
    spec, path, endpoints, traffic = serving
    machine = Machine(sandbox, tmp_path)
    mirror = ("--mirror", "20", "--mirror-seconds", "600")
    rc, events, _ = machine.rollout(path, *mirror, kill_when=measured("mirror"))
    assert rc == -9, events[-3:]
    assert traffic() == {"blue": 100}
    assert endpoints.show(spec.endpoint.name).mirror_traffic.get("green") == 20  # left on by the killed run

    rc, again, err = machine.rollout(path, "--keep-old")
    assert rc == 0, (again[-3:], err)
    progress = " ".join(e["message"] for e in again if e["event"] == "StepProgress")
    assert "resuming the rollout of green beside blue (it stopped killed)" in progress
    assert "stopped mirroring to green" in progress
    assert "rollback" not in _steps(again, "StepStarted")
    assert _steps(again, "StageMeasured") == ["stage-10", "stage-50", "stage-100"]
    assert traffic() == {"green": 100}
    assert not any(endpoints.show(spec.endpoint.name).mirror_traffic.values())


def test_killed_during_a_stage_the_rerun_goes_on_from_the_stage_it_was_in(serving, sandbox, tmp_path):
    _, path, _, traffic = serving
    machine = Machine(sandbox, tmp_path)
    rc, events, _ = machine.rollout(path, "--steps", "50,100", "--hold", "600", kill_when=measured("stage-50"))
    assert rc == -9, events[-3:]
    assert traffic() == {"blue": 50, "green": 50}

    rc, again, err = machine.rollout(path, "--steps", "10,50,100", "--hold", "0")
    assert rc == 0, (again[-3:], err)
    assert _steps(again, "StageMeasured") == ["stage-50", "stage-100"]  # stage 10 is not repeated
    assert traffic() == {"green": 100}


def test_killed_while_deploying_the_new_version_the_rerun_deploys_it_and_goes_on(serving, sandbox, tmp_path):
    _, path, _, traffic = serving
    machine = Machine(sandbox, tmp_path)
    rc, events, _ = machine.rollout(path, kill_when=started("create-deployment"))
    assert rc == -9, events[-3:]
    assert traffic() == {"blue": 100}

    rc, again, err = machine.rollout(path, "--keep-old")
    assert rc == 0, (again[-3:], err)
    assert _steps(again, "StageMeasured") == ["stage-10", "stage-50", "stage-100"]
    assert traffic() == {"green": 100}


def test_killed_during_a_rollback_the_rerun_finishes_the_rollback(serving, sandbox, tmp_path):
    spec, path, endpoints, traffic = serving
    machine = Machine(sandbox, tmp_path)
    # the smoke score (one request) passes; from the second request on, green's model fails
    sandbox.faults.arm("deployment-errors", match=f"^{spec.endpoint.name}/green$", after=1)
    rc, events, _ = machine.rollout(path, kill_when=started("rollback"))
    assert rc == -9, events[-3:]
    assert traffic() in ({"blue": 90, "green": 10}, {"blue": 100})  # part-way, or the move had landed

    rc, again, err = machine.rollout(path)
    assert rc == 1, (again[-3:], err)  # a rollback is not a success
    end = _end(again)
    assert end["summary"].startswith("Rolled back at stage-10: error rate"), end["summary"]
    assert _steps(again, "StepStarted") == ["prepare", "rollback"]  # no new deployment, no judging
    assert traffic() == {"blue": 100}
    assert {d.name for d in endpoints.show(spec.endpoint.name).deployments} == {"blue", "green"}  # kept for its logs


def test_take_lock_while_the_holder_is_stopped_the_holder_stops_before_it_moves_traffic(serving, sandbox, tmp_path):
    """Machine A mirrors; it is stopped (SIGSTOP) and B takes the lock over (--take-lock) and rolls out. A, continued
    (SIGCONT), finds at its next traffic move that the lease is no longer its own, and changes nothing."""
    spec, path, endpoints, traffic = serving
    first, second = Machine(sandbox, tmp_path / "a"), Machine(sandbox, tmp_path / "b")
    holder = first.start(path, "--mirror", "20", "--mirror-seconds", "20")
    deadline = threading.Timer(420, holder.kill)
    deadline.start()
    events: list[Event] = []
    try:
        assert holder.stdout is not None
        for line in holder.stdout:
            events.append(json.loads(line))
            if measured("mirror")(events[-1]):
                holder.send_signal(signal.SIGSTOP)
                break
        stopped_at = len(events)
        assert endpoints.show(spec.endpoint.name).mirror_traffic.get("green") == 20

        rc, taken, err = second.rollout(path, "--take-lock", "--keep-old", "--steps", "100")
        assert rc == 0, (taken[-3:], err)
        progress = " ".join(e["message"] for e in taken if e["event"] == "StepProgress")
        assert "took over the rollout lock" in progress and "as asked (--take-lock)" in progress
        after_b = traffic()
        assert after_b == {"green": 100}

        holder.send_signal(signal.SIGCONT)
        for line in holder.stdout:
            events.append(json.loads(line))
        rc = holder.wait()
    finally:
        deadline.cancel()
        if holder.poll() is None:
            holder.kill()
    assert rc == 1, events[-3:]
    lost = [e for e in events[stopped_at:] if e["event"] == "StepFailed"]
    assert lost and lost[0]["code"] == "RolloutLockLost", events[stopped_at:]
    moved = [e for e in events[stopped_at:] if e["event"] in ("TrafficMoved", "MirrorSet")]
    assert moved == [], moved  # nothing changed after it was continued
    assert traffic() == after_b and not any(endpoints.show(spec.endpoint.name).mirror_traffic.values())


def test_a_lease_tag_with_a_huge_process_id_is_refused_naming_the_tag(serving, sandbox, tmp_path):
    from sandbox_specs import sandbox_ml_client

    spec, path, endpoints, traffic = serving
    client = sandbox_ml_client(sandbox.client_settings())
    endpoint = client.online_endpoints.get(spec.endpoint.name)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    forged = f"lease={'ab' * 16};host=elsewhere;pid={'9' * 30};since={now};renewed={now}"
    endpoint.tags = {**(endpoint.tags or {}), TAG: forged}
    client.online_endpoints.begin_create_or_update(endpoint).result()

    rc, events, err = Machine(sandbox, tmp_path).rollout(path)
    assert rc == 1, (events[-3:], err)
    failure = next(e for e in events if e["event"] == "StepFailed")
    assert failure["code"] == "RolloutLockTag" and TAG in failure["what"]
    assert "its pid is not a process id" in failure["what"] and "--take-lock" in failure["next_step"]
    text = json.dumps(events) + err
    assert "Azure SDK" not in text and "Traceback" not in text and "C long" not in text
    assert traffic() == {"blue": 100} and [d.name for d in endpoints.show(spec.endpoint.name).deployments] == ["blue"]
    assert endpoints.show(spec.endpoint.name).tags.get(TAG) == forged  # not ours to remove


@pytest.mark.parametrize("requests", ["/dev/zero", "missing.json", "not-json.json", "scalars.json"])
def test_a_bad_requests_file_is_refused_before_anything_is_created(serving, sandbox, tmp_path, requests):
    spec, path, endpoints, traffic = serving
    (tmp_path / "not-json.json").write_text("{'single': 'quotes'}")
    (tmp_path / "scalars.json").write_text("[1, 2]")
    machine = Machine(sandbox, tmp_path)
    sandbox.request_log.clear()
    started_at = time.monotonic()
    given = requests if requests.startswith("/") else str(tmp_path / requests)
    connection = ["--arm-endpoint", machine.url, "--ca-bundle", machine.ca]
    proc = subprocess.run(
        [_console_script(), *connection, "rollout", "--spec", str(path), "--yes", "--requests", given],
        capture_output=True,
        text=True,
        env=machine.env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "requests file" in proc.stderr and given in proc.stderr
    assert "Traceback" not in proc.stderr and time.monotonic() - started_at < 60
    assert not [r for r in sandbox.request_log if r["method"] != "GET"]  # nothing created, nothing moved
    assert traffic() == {"blue": 100} and [d.name for d in endpoints.show(spec.endpoint.name).deployments] == ["blue"]
