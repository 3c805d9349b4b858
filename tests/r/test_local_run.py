"""The local runner against a real Rscript + plumber, with real broken inputs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rdeploy_tui.cli import main
from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.deploy_folder.sample_model import sample_crate_path
from rdeploy_tui.local.checks import LocalReport, run_local_checks
from rdeploy_tui.local.http_client import request
from rdeploy_tui.local.plumber import LocalRunError, find_rscript, free_port, start_plumber
from rdeploy_tui.local.sample_crate import build_sample_crate
from rdeploy_tui.spec.deploy_spec import DeploySpec, ProbeSpec, save_spec

pytestmark = pytest.mark.r

# A scoring script in the style of Microsoft's how-to: it loads crate.bin from the model folder and
# serves /live, /ready and /score. {score} is the body of the score handler.
CUSTOM_SCRIPT = """
{before}
model <- unserialize(readRDS(file.path(Sys.getenv("AZUREML_MODEL_DIR"), "crate.bin")))

#* @get /live
function() "alive"

#* @get /ready
function() "ready"

{serializer}
#* @post /score
function(forecast_horizon) {{
  {score}
}}
"""


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    """The sample model, rebuilt once from its R source."""
    out = tmp_path_factory.mktemp("sample-model")
    build_sample_crate(out)
    return out


def project(tmp_path: Path, *, script: str | None = None, sample_request=None, probes: ProbeSpec | None = None) -> Path:
    spec = DeploySpec()
    if script is not None:
        (tmp_path / "my_plumber.R").write_text(script)
        spec.scoring.script = "my_plumber.R"
    if sample_request is not None:
        spec.scoring.sample_request = sample_request
    if probes is not None:
        spec.deployment.probes = probes
    path = tmp_path / "rdeploy.yaml"
    save_spec(spec, path)
    return path


def custom(score: str, *, before: str = "", serializer: str = "") -> str:
    return CUSTOM_SCRIPT.format(before=before, serializer=serializer, score=score)


def check_run(spec_path: Path, model_dir: Path | None, **kw) -> LocalReport:
    from rdeploy_tui.spec.deploy_spec import load_spec

    spec, problems = load_spec(spec_path)
    assert spec is not None and not problems
    return run_local_checks(spec, spec_path.parent, model_dir, runner="rscript", latency_samples=2, **kw)


def statuses(report: LocalReport) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def failed(report: LocalReport):
    fails = [c for c in report.checks if c.status == "fail"]
    assert len(fails) == 1, report.checks
    return fails[0]


# --- passing ---------------------------------------------------------------------------------------


def test_cli_passes_on_generated_folder_with_sample_model(tmp_path):
    """The real console script, the default (rebuilt) sample model, the human-readable report."""
    spec_path = project(tmp_path)
    exe = Path(sys.executable).with_name("rdeploy-tui")
    done = subprocess.run(
        [str(exe), "local", "--spec", str(spec_path), "--runner", "rscript"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Traceback" not in out + done.stderr
    for line in (
        "ok    start-up: ready after",
        "ok    score: POST /score",
        "ok    JSON: real JSON",
        "ok    precision: all 8 numbers match",
        "ok    latency: new connection p50",
    ):
        assert line in out
    assert "local run passed" in out


def test_json_report_and_model_dir(tmp_path, sample_dir, capsys):
    spec_path = project(tmp_path)
    model = tmp_path / "registered" / "models"
    model.mkdir(parents=True)
    (model / "crate.bin").write_bytes((sample_dir / "crate.bin").read_bytes())
    rc = main(
        [
            "local",
            "--spec",
            str(spec_path),
            "--model-dir",
            str(tmp_path / "registered"),
            "--runner",
            "rscript",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["ok"] is True
    assert report["url"].startswith("http://127.0.0.1:")
    assert report["score_status"] == 200
    assert report["score_body"][0]["year"] == 1971
    assert report["score_body"][0]["forecast"] == pytest.approx(782.277575757576, rel=1e-12)
    assert 0 < report["startup_seconds"] < report["probe_limit_seconds"]
    assert [lat["connection"] for lat in report["latency"]] == ["new", "keep-alive"]
    assert all(lat["n"] == 10 and lat["non_200"] == 0 for lat in report["latency"])
    assert all(lat["connection_close"] == 10 for lat in report["latency"])  # the score handler's Connection: close


def test_rebuilt_sample_crate_scores_like_the_shipped_one(tmp_path, sample_dir):
    spec_path = project(tmp_path)
    shipped = check_run(spec_path, sample_crate_path().parent)
    rebuilt = check_run(spec_path, sample_dir)
    assert shipped.ok and rebuilt.ok
    assert shipped.score_body == rebuilt.score_body
    assert statuses(shipped)["precision"] == "ok"


# --- load-time failures: R's own error text -------------------------------------------------------


def test_a_folder_without_a_model_is_refused_before_the_api_starts(tmp_path, capsys):
    spec_path = project(tmp_path)
    (tmp_path / "empty-model").mkdir()
    rc = main(["local", "--spec", str(spec_path), "--model-dir", str(tmp_path / "empty-model"), "--runner", "rscript"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "holds no model file: no crate.bin, no .rds file, no pins board" in out
    assert 'next: put the model in it: save a crate with saveRDS(serialize(crate, NULL), "crate.bin")' in out
    assert "local run FAILED: model" in out and "start-up" not in out


def test_a_crate_cut_short_is_refused_in_rs_words(tmp_path, sample_dir):
    model = tmp_path / "model"
    model.mkdir()
    (model / "crate.bin").write_bytes((sample_dir / "crate.bin").read_bytes()[:200])  # a crate cut short
    report = check_run(project(tmp_path), model)
    check = failed(report)
    assert check.name == "model"
    said = "crate.bin is not an R object saved with saveRDS (R says: error reading from connection)"
    assert check.message == f"{model}: {said}"
    assert check.next_step == (
        'save a crate with saveRDS(serialize(crate, NULL), "crate.bin") (plain saveRDS(crate, "crate.bin") works too)'
    )


def test_a_model_file_the_api_cannot_load_stops_it_with_rs_error(tmp_path, sample_dir):
    """A scoring script of the user's own still meets R's own error at start-up (the reader only warns for it)."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "crate.bin").write_bytes((sample_dir / "crate.bin").read_bytes()[:200])
    report = check_run(project(tmp_path, script=custom("model(forecast_horizon)")), model)
    assert [c.status for c in report.checks if c.name == "model"] == ["warn"]
    check = failed(report)
    assert check.name == "start-up"
    assert "error reading from connection" in check.message
    assert 'saveRDS(serialize(crate, NULL), "crate.bin")' in check.next_step
    assert "Execution halted" in report.server_output


def test_syntax_error_in_custom_script(tmp_path, sample_dir):
    script = custom("model(forecast_horizon)") + "\nbroken <- function( {\n"
    check = failed(check_run(project(tmp_path, script=script), sample_dir))
    assert check.name == "start-up"
    assert "plumber.R:" in check.message and "unexpected" in check.message
    assert "syntax error" in check.next_step


def test_port_taken(tmp_path, sample_dir):
    folder = tmp_path / "folder"
    write_folder(render(DeploySpec(), base_dir=tmp_path), folder)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalRunError) as info:
            start_plumber(folder / "src", sample_dir, start_script=folder / "docker-context/start_plumber.R", port=port)
    assert info.value.code == "port_in_use"
    assert f"port {port} on 127.0.0.1 is already in use" in info.value.what


def test_r_says_address_in_use_when_it_loses_the_race(tmp_path, sample_dir):
    """Two servers asked for the same free port: the second one's R failure is explained, not a timeout."""
    folder = tmp_path / "folder"
    write_folder(render(DeploySpec(), base_dir=tmp_path), folder)
    start = folder / "docker-context/start_plumber.R"
    with start_plumber(folder / "src", sample_dir, start_script=start) as first:
        first.wait_ready()
        # PLUMBER_PORT overrides the port start_plumber checked, so R itself meets the taken port.
        with (
            start_plumber(
                folder / "src", sample_dir, start_script=start, extra_env={"PLUMBER_PORT": str(first.port)}
            ) as second,
            pytest.raises(LocalRunError) as info,
        ):
            second.wait_ready(timeout=20)
    assert info.value.code == "port_in_use"
    assert "already in use" in info.value.what


def test_an_api_that_says_it_runs_but_never_answers_fails_soon_after_its_banner(tmp_path, sample_dir):
    """Serving where the probe does not look (here another port; in a container, its loopback): once plumber's banner
    is out only the bind is left, so the wait ends `after_banner` seconds later, not at the start-up timeout."""
    folder = tmp_path / "folder"
    write_folder(render(DeploySpec(), base_dir=tmp_path), folder)
    start = folder / "docker-context/start_plumber.R"
    elsewhere = {"PLUMBER_PORT": str(free_port())}
    with start_plumber(folder / "src", sample_dir, start_script=start, extra_env=elsewhere) as server:
        with pytest.raises(LocalRunError) as info:
            server.wait_ready(timeout=600, after_banner=1)
        assert "Running plumber API at" in server.output()
    assert info.value.code == "not_ready"
    assert "not ready 1 s after it said it was running (GET /ready: no answer)" in info.value.what


# --- scoring failures --------------------------------------------------------------------------------


def test_double_encoded_json(tmp_path, sample_dir):
    script = custom("jsonlite::toJSON(model(forecast_horizon))")  # Microsoft's how-to does this
    report = check_run(project(tmp_path, script=script), sample_dir)
    check = failed(report)
    assert check.name == "JSON"
    assert check.message.startswith('the answer is JSON inside a string: ["[{\\"year\\":1971')
    assert "not jsonlite::toJSON" in check.next_step


def test_handler_error_500(tmp_path, sample_dir):
    script = custom('stop("model exploded at horizon ", forecast_horizon)')
    report = check_run(project(tmp_path, script=script), sample_dir)
    check = failed(report)
    assert check.name == "score"
    assert "answered 500: 500 - Internal server error" in check.message
    assert "server output:" in check.message and "model exploded at horizon 2" in check.message
    assert report.score_status == 500


def test_model_error_400_from_generated_script(tmp_path, sample_dir):
    report = check_run(project(tmp_path, sample_request={"forecast_horizon": [0]}), sample_dir)
    check = failed(report)
    assert check.name == "score"
    assert "answered 400: forecast_horizon must be one whole number from 1 to 100" in check.message
    assert "sample_request" in check.next_step


def test_answer_not_json(tmp_path, sample_dir):
    script = custom("paste(model(forecast_horizon)$forecast, collapse = ',')", serializer="#* @serializer text")
    check = failed(check_run(project(tmp_path, script=script), sample_dir))
    assert check.name == "JSON"
    assert check.message.startswith("the answer is not JSON (Content-Type text/plain")


def test_rounded_numbers_warn(tmp_path, sample_dir):
    script = custom("model(forecast_horizon)")  # plumber's default json serializer: 4 decimal places
    report = check_run(project(tmp_path, script=script), sample_dir)
    assert report.ok
    check = next(c for c in report.checks if c.name == "precision")
    assert check.status == "warn"
    assert (
        "6 of 8 numbers were rounded to 4 decimal places "
        "(the crate returned 782.277575757576, the API answered 782.2776)" in check.message
    )
    assert "digits = NA" in check.next_step


# --- start-up against the probe budget ---------------------------------------------------------------


def test_startup_slower_than_probe_limit(tmp_path, sample_dir):
    script = custom("model(forecast_horizon)", before="Sys.sleep(30)")
    probes = ProbeSpec(initial_delay=0, period=1, timeout=1, failure_threshold=2)
    report = check_run(project(tmp_path, script=script, probes=probes), sample_dir)
    check = failed(report)
    assert check.name == "start-up"
    assert "was not ready within 2 s" in check.message
    assert "initial_delay 0 s + period 1 s x failure_threshold 2 = 2 s" in check.message


def test_startup_later_than_initial_delay_warns(tmp_path, sample_dir):
    script = custom("model(forecast_horizon)", before="Sys.sleep(1.5)")
    probes = ProbeSpec(initial_delay=1, period=1, timeout=1, failure_threshold=20)
    report = check_run(project(tmp_path, script=script, probes=probes), sample_dir)
    assert report.ok
    check = next(c for c in report.checks if c.name == "start-up")
    assert check.status == "warn" and "later than the probes' initial_delay of 1 s" in check.message
    assert report.startup_seconds > 1.5


# --- the process itself ------------------------------------------------------------------------------


def test_process_output_env_and_stop(tmp_path, sample_dir):
    """A chatty start-up (1 MB on stdout) cannot block R; output is kept; stop is idempotent."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "plumber.R").write_text(
        'cat(strrep("x", 1e6), "\\n")\nmessage("model dir: ", Sys.getenv("AZUREML_MODEL_DIR"))\n'
        '#* @get /ready\nfunction() Sys.getenv(c("AML_APP_ROOT", "AZUREML_ENTRY_SCRIPT", "PLUMBER_HOST"))\n'
    )
    folder = tmp_path / "folder"
    write_folder(render(DeploySpec(), base_dir=tmp_path), folder)
    proc = start_plumber(app, sample_dir, start_script=folder / "docker-context/start_plumber.R")
    try:
        assert proc.url.startswith("http://127.0.0.1:")
        assert proc.wait_ready(timeout=30) > 0
        assert json.loads(request(proc.url, "GET", "/ready").body) == [str(app), "plumber.R", "127.0.0.1"]
        assert f"model dir: {sample_dir}" in proc.output()
        assert proc.output().count("x") >= 1_000_000
    finally:
        proc.stop()
        proc.stop()
    assert proc.returncode is not None


def test_sample_model_build(tmp_path):
    path = build_sample_crate(tmp_path / "out")
    assert path.name == "crate.bin" and path.stat().st_size > 100
    rscript = find_rscript()
    done = subprocess.run(
        [rscript, "-e", f'f <- unserialize(readRDS("{path}")); cat(class(f), names(formals(f)))'],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.stdout == "function forecast_horizon"


def test_a_requested_package_missing_here_is_a_failed_check_not_a_pass(tmp_path, sample_dir):
    spec_path = project(tmp_path)
    text = spec_path.read_text().replace("r_packages: []", "r_packages:\n  - surelynotinstalledhere")
    spec_path.write_text(text)
    report = check_run(spec_path, sample_dir)
    packages = next(c for c in report.checks if c.name == "packages")
    assert packages.status == "fail" and "surelynotinstalledhere" in packages.message
    assert not report.ok
    assert statuses(report)["score"] == "ok"  # the rest of the run still tells what it can
