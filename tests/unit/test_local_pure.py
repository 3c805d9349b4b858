# ruff: noqa: W291, E501
"""Pure parts of the local runner: R's error text, response judging, percentiles, paths, ports."""

from __future__ import annotations

import json
import socket

import pytest

from rdeploy_tui.local.checks import probe_limit
from rdeploy_tui.local.http_client import Latency
from rdeploy_tui.local.plumber import explain_start_failure, find_rscript, free_port, port_in_use, r_error_text
from rdeploy_tui.scoring.judge import decimals, double_encoded, numbers, parse_body, precision_finding
from rdeploy_tui.spec.deploy_spec import DeploySpec

# Verbatim outputs of Rscript start_plumber.R (R 4.2.2, plumber 1.2.1): R's trailing spaces and long lines are kept.
MISSING_CRATE = """Error in stopOnLine(lineNum, file[lineNum], e) : 
  Error on line #10: 'crate_path <- file.path(model_dir, "models", "crate.bin")' - Error in eval(expr, envir): crate.bin not found under AZUREML_MODEL_DIR (/m)
Calls: <Anonymous> ... tryCatchList -> tryCatchOne -> <Anonymous> -> stopOnLine
Execution halted
"""
CORRUPT_RDS = """Error in stopOnLine(lineNum, file[lineNum], e) : 
  Error on line #17: '}' - Error in readRDS(crate_path): unknown input format
Calls: <Anonymous> ... tryCatchList -> tryCatchOne -> <Anonymous> -> stopOnLine
Execution halted
"""
SYNTAX = """Error in parse(file, keep.source = TRUE, srcfile = src, encoding = enc) : 
  plumber.R:64:16: unexpected '{'
63: }
64: x <- function( {
                   ^
Error in parseUTF8(file) : Error sourcing plumber.R
Calls: <Anonymous> -> <Anonymous> -> initialize -> parseUTF8
Execution halted
"""
PORT_TAKEN = """Running plumber API at http://127.0.0.1:18123
Running swagger Docs at http://127.0.0.1:18123/__docs__/
createTcpServer: address already in use
Error in initialize(...) : Failed to create server
Calls: <Anonymous> ... <Anonymous> -> startServer -> <Anonymous> -> initialize
Execution halted
"""


def test_r_error_text_drops_plumbers_wrapping():
    assert r_error_text(MISSING_CRATE) == "crate.bin not found under AZUREML_MODEL_DIR (/m)"
    assert r_error_text(CORRUPT_RDS) == "Error in readRDS(crate_path): unknown input format"
    assert r_error_text(SYNTAX) == "plumber.R:64:16: unexpected '{'\n63: }\n64: x <- function( {\n                   ^"
    assert (
        r_error_text("Error: AZUREML_MODEL_DIR is not set\nExecution halted\n") == "Error: AZUREML_MODEL_DIR is not set"
    )
    assert r_error_text("Running plumber API at http://127.0.0.1:1\n") is None


@pytest.mark.parametrize(
    ("output", "code", "next_words"),
    [
        (MISSING_CRATE, "model_missing", "--model-dir"),
        (CORRUPT_RDS, "model_unreadable", "saveRDS(serialize(crate, NULL)"),
        (SYNTAX, "syntax_error", "syntax error"),
        (PORT_TAKEN, "port_in_use", "free port"),
        (
            "Error in library(forecast) : there is no package called 'forecast'\nExecution halted\n",
            "package_missing",
            "image.r_packages",
        ),
        ("Error in f() : boom\nExecution halted\n", "load_error", "scoring script"),
        ("", "load_error", "scoring script"),
    ],
)
def test_explain_start_failure(output, code, next_words):
    err = explain_start_failure(output, 1, 18123)
    assert err.code == code
    assert next_words in err.next_step
    assert err.details == output
    assert "Error on line #" not in err.what


def test_json_findings():
    assert parse_body(b'[{"a":1}]') == (True, [{"a": 1}])
    assert parse_body(b"<html>") == (False, None)
    assert parse_body(b"\xff") == (False, None)
    boxed = json.loads(r'["[{\"speed\":2,\"predicted_dist\":-9.7}]"]')  # r-facts: plumber's answer to toJSON()
    assert double_encoded(boxed) == [{"speed": 2, "predicted_dist": -9.7}]
    assert double_encoded('{"a": 1}') == {"a": 1}
    assert double_encoded(["ready"]) is None
    assert double_encoded(["[not json"]) is None
    assert double_encoded([{"a": 1}]) is None
    assert numbers([{"a": 1, "b": [2.5, True, None, "3"]}, 4]) == [1.0, 2.5, 4.0]


def test_decimals():
    assert [decimals(x) for x in (782.2776, 1e-05, 12.0, 1971, 0.1, 1.5e20)] == [4, 5, 0, 0, 1, 0]


FULL = [{"year": 1971, "forecast": 782.277575757576, "lower_95": 487.20074672003}]
ROUNDED = [{"year": 1971, "forecast": 782.2776, "lower_95": 487.2007}]


def test_precision_against_the_crates_own_result():
    assert precision_finding(FULL, FULL).status == "ok"
    f = precision_finding(FULL, ROUNDED)
    assert f.status == "warn" and f.message.startswith("2 of 3 numbers were rounded to 4 decimal places")
    assert "digits = NA" in f.next_step
    changed = precision_finding(FULL, [{"year": 1971, "forecast": 700.0, "lower_95": 487.20074672003}])
    assert changed.status == "warn" and "differ from the crate's own result" in changed.message
    # Reshaped (different count): rounding still recognised when every number is short and the crate's are not.
    assert precision_finding(FULL, {"forecast": [782.2776]}).status == "warn"
    assert precision_finding(FULL, {"n": 1}).status == "ok"
    assert precision_finding(FULL, ["ready"]).status == "ok"


def test_precision_without_a_reference_is_a_hedged_guess():
    guess = precision_finding(None, ROUNDED)
    assert guess.status == "warn" and "could not be run directly" in guess.message
    assert precision_finding(None, FULL).status == "ok"
    assert precision_finding(None, [1, 2, 3]).status == "ok"  # whole numbers are not a sign of rounding


def test_percentiles_nearest_rank():
    lat = Latency("new", samples_ms=[float(x) for x in range(1, 21)], statuses=[200] * 19 + [500])
    assert lat.percentile(50) == 10.0 and lat.percentile(95) == 19.0 and lat.percentile(100) == 20.0
    assert lat.summary()["non_200"] == 1 and lat.summary()["max_ms"] == 20.0
    assert Latency("new").percentile(50) is None


def test_probe_limit():
    spec = DeploySpec()
    assert probe_limit(spec) == 10 + 10 * 30
    spec.deployment.probes.initial_delay, spec.deployment.probes.period, spec.deployment.probes.failure_threshold = (
        0,
        1,
        2,
    )
    assert probe_limit(spec) == 2


def test_find_rscript_override(tmp_path, monkeypatch):
    monkeypatch.setenv("RDEPLOY_RSCRIPT", "")
    assert find_rscript() is None
    fake = tmp_path / "Rscript"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("RDEPLOY_RSCRIPT", str(fake))
    assert find_rscript() is None  # not executable
    fake.chmod(0o755)
    assert find_rscript() == str(fake)


def test_ports():
    port = free_port()
    assert 0 < port < 65536 and not port_in_use(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert port_in_use(port)
