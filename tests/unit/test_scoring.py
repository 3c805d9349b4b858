"""The scoring package against small loopback HTTP servers (edge cases Azure produces) and as pure functions."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.scoring.client import ScoringClient, score_or_raise
from rdeploy_tui.scoring.explain import explain_status
from rdeploy_tui.scoring.load_test import (
    MAX_LOAD_CONCURRENCY,
    MAX_LOAD_REQUESTS,
    check_load_test,
    percentile,
    run_load_test,
)
from rdeploy_tui.scoring.openapi import openapi_url, sample_from_openapi
from rdeploy_tui.scoring.records import records_table
from rdeploy_tui.scoring.request import RequestTextError, parse_request_text
from rdeploy_tui.scoring.result import ScoreResult, double_encoding_message
from rdeploy_tui.scoring.snippets import curl_snippet, python_snippet
from rdeploy_tui.scoring.target import MASK, ScoringTarget

SECRET = "s3cret-key-0123456789"
RECORDS = [{"year": 1971, "forecast": 782.27}, {"year": 1972, "forecast": 779.56, "note": "x"}]


class Handler(BaseHTTPRequestHandler):
    """Answers by path, the way Azure's front end and plumber answer."""

    seen: ClassVar[list[dict]] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/api/openapi.json":
            doc = {
                "openapi": "3.0.3",
                "paths": {
                    "/api/score": {
                        "post": {
                            "parameters": [
                                {
                                    "name": "h",
                                    "in": "query",
                                    "required": True,
                                    "schema": {"type": "array", "items": {"type": "integer"}},
                                }
                            ]
                        }
                    }
                },
            }
            self._send(200, json.dumps(doc).encode())
        else:
            self._send(404, b'{"error":"404 - Resource Not Found"}')

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        Handler.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.headers.get("Authorization") != f"Bearer {SECRET}":
            return self._send(401, b'{"message":"Unauthorized"}')
        deployment = self.headers.get("azureml-model-deployment") or "blue"
        served = {"azureml-model-deployment": deployment}
        if self.path == "/api/score":
            return self._send(200, json.dumps(RECORDS).encode(), served)
        if self.path == "/model-error":
            return self._send(
                424,
                b'{"error":"forecast_horizon must be one whole number"}',
                {**served, "ms-azureml-model-error-statuscode": "400", "ms-azureml-model-error-reason": "model_error"},
            )
        if self.path == "/model-crash":
            return self._send(
                424,
                b'{"error":"500 - Internal server error"}',
                {**served, "ms-azureml-model-error-statuscode": "500", "ms-azureml-model-error-reason": "model_error"},
            )
        if self.path == "/wrapped":  # plumber's answer when the script returns jsonlite::toJSON(df)
            return self._send(200, json.dumps([json.dumps(RECORDS)]).encode(), served)
        if self.path == "/string":  # a bare JSON string that holds JSON
            return self._send(200, json.dumps(json.dumps({"a": 1})).encode(), served)
        if self.path == "/text":
            return self._send(200, b"plain words", served)
        if self.path == "/slow":
            time.sleep(0.5)
            return self._send(200, b"[1]", served)
        if self.path == "/flaky":
            status = 200 if len(Handler.seen) % 2 else 503
            return self._send(status, b'{"message":"no healthy upstream"}' if status == 503 else b"[1]", served)
        self._send(404, b'{"message":"No valid deployments to route to."}')


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that timed out closed its end: expected here
        pass


@pytest.fixture(scope="module")
def server():
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client():
    with ScoringClient() as c:
        yield c


def target(server: str, path: str, **kw) -> ScoringTarget:
    return ScoringTarget(server + path, SECRET, **kw)


def test_success_sends_bearer_json_and_deployment_header(server, client):
    Handler.seen.clear()
    result = client.score(target(server, "/api/score", deployment="green"), '{"h": [2]}')
    assert result.ok and result.status == 200
    assert result.latency_ms > 0
    assert result.value == RECORDS
    assert result.served_by == "green"
    sent = Handler.seen[-1]
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["azureml-model-deployment"] == "green"
    assert json.loads(sent["body"]) == {"h": [2]}
    assert result.explain() is None
    assert result.double_encoded is None
    table = records_table(result.value)
    assert table.columns == ("year", "forecast", "note")
    assert table.rows == (("1971", "782.27", ""), ("1972", "779.56", "x"))
    assert "HTTP 200 from green in" in result.summary()


def test_no_deployment_header_without_a_deployment(server, client):
    Handler.seen.clear()
    client.score(target(server, "/api/score"), "{}")
    assert "azureml-model-deployment" not in {k.lower() for k in Handler.seen[-1]["headers"]}


def test_424_is_explained_with_the_model_error_headers(server, client):
    result = client.score(target(server, "/model-error"), "{}")
    assert result.status == 424
    why = result.explain()
    assert why.code == "ModelError"
    assert "HTTP 400" in why.what and "model_error" in why.what
    assert "forecast_horizon must be one whole number" in why.what
    assert "fields and types" in why.next_step
    crash = client.score(target(server, "/model-crash"), "{}").explain()
    assert "HTTP 500" in crash.what and "inference-server log" in crash.next_step


def test_wrong_key_is_401_explained(server, client):
    result = client.score(ScoringTarget(server + "/api/score", "wrong"), "{}")
    assert result.status == 401
    assert result.explain().code == "Unauthorized"
    assert "keys again" in result.explain().next_step


@pytest.mark.parametrize("path", ["/wrapped", "/string"])
def test_json_inside_a_string_is_detected_with_the_fix(server, client, path):
    result = client.score(target(server, path), "{}")
    assert result.ok
    assert result.double_encoded is not None
    message = double_encoding_message(result)
    assert "JSON inside a string" in message and "jsonlite::toJSON" in message and "data.frame" in message
    if path == "/wrapped":
        assert result.double_encoded == RECORDS
        assert records_table(result.double_encoded).total == 2


def test_plain_json_is_not_flagged_and_text_is_kept(server, client):
    assert double_encoding_message(client.score(target(server, "/api/score"), "{}")) is None
    text = client.score(target(server, "/text"), "{}")
    assert text.ok and not text.is_json and text.value is None
    assert text.pretty() == "plain words"
    assert records_table(text.value) is None


def test_no_answer_is_a_result_not_an_exception(client):
    from rdeploy_tui.local.plumber import free_port

    result = client.score(ScoringTarget(f"http://127.0.0.1:{free_port()}/score", SECRET), "{}")
    assert result.status is None and not result.ok
    assert "cannot connect" in result.error
    assert result.explain().code == "NoAnswer"
    bad = client.score(ScoringTarget("not a url", SECRET), "{}")
    assert bad.status is None and bad.error


def test_timeout_is_reported(server, client):
    result = client.score(target(server, "/slow", timeout=0.1), "{}")
    assert result.status is None and "no answer within 0.1 s" in result.error


def test_secret_never_in_repr_or_result(server, client):
    t = target(server, "/api/score")
    assert SECRET not in repr(t)
    result = client.score(t, "{}")
    assert SECRET not in repr(result)


def test_openapi_sample_fetched_beside_the_score_route(server, client):
    doc = client.fetch_openapi(target(server, "/api/score"), "/score")
    assert sample_from_openapi(doc, "/api/score") == {"h": [1]}
    assert client.fetch_openapi(target(server, "/nothing/score")) is None


def test_openapi_url():
    assert (
        openapi_url("https://ep.westeurope.inference.ml.azure.com/score")
        == "https://ep.westeurope.inference.ml.azure.com/openapi.json"
    )
    assert openapi_url("http://127.0.0.1:8000/v1/predict", "/v1/predict") == "http://127.0.0.1:8000/openapi.json"
    assert openapi_url("https://h/endpoints/e/score?x=1") == "https://h/endpoints/e/openapi.json"


def test_sample_from_openapi_types_defaults_and_absence():
    doc = {
        "paths": {
            "/score": {
                "post": {
                    "parameters": [
                        {"name": "n", "in": "query", "schema": {"type": "integer"}},
                        {"name": "x", "in": "query", "schema": {"type": "array", "items": {"type": "number"}}},
                        {"name": "name", "in": "query", "schema": {"type": "string", "default": "nile"}},
                        {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
                        {"name": "req", "in": "query", "schema": {"type": "string"}},
                    ]
                }
            }
        }
    }
    assert sample_from_openapi(doc) == {"n": 1, "x": [1.5], "name": "nile", "flag": True}
    no_params = {"paths": {"/score": {"post": {"parameters": []}}}}
    assert sample_from_openapi(no_params) is None
    assert sample_from_openapi({"paths": {"/other": {"post": {}}}}) is None
    assert sample_from_openapi("garbage") is None
    body = {
        "paths": {
            "/score": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"k": {"type": "integer", "example": 7}}}
                            }
                        }
                    }
                }
            }
        }
    }
    assert sample_from_openapi(body) == {"k": 7}


def test_parse_request_text_points_at_the_problem():
    assert parse_request_text('{"a": [1]}') == {"a": [1]}
    with pytest.raises(RequestTextError) as err:
        parse_request_text('{\n  "a": [1,]\n}')
    assert err.value.line == 2 and "line 2" in err.value.what
    with pytest.raises(RequestTextError):
        parse_request_text("   ")


@pytest.mark.parametrize(
    "status,code",
    [
        (404, "NotFound"),
        (408, "Timeout"),
        (429, "TooManyRequests"),
        (502, "BadGateway"),
        (503, "Unavailable"),
        (500, "HTTP500"),
    ],
)
def test_explain_status_covers_azure_statuses(status, code):
    why = explain_status(status, {}, b'{"message": "said the front end"}')
    assert why.code == code
    assert "said the front end" in why.what
    assert why.next_step


def test_records_table_only_for_lists_of_objects():
    assert records_table([1, 2]) is None
    assert records_table([]) is None
    assert records_table({"a": 1}) is None
    big = records_table([{"i": i, "v": None, "l": [i]} for i in range(10)], max_rows=3)
    assert big.total == 10 and len(big.rows) == 3
    assert big.rows[1] == ("1", "", "[1]")


def test_snippets_mask_the_key_unless_revealed(server):
    t = target(server, "/api/score", deployment="blue")
    body = '{\n  "h": [2]\n}'
    curl = curl_snippet(t, body)
    assert SECRET not in curl and MASK in curl
    assert "azureml-model-deployment: blue" in curl and "'{\"h\":[2]}'" in curl
    assert SECRET in curl_snippet(t, body, reveal=True)
    py = python_snippet(t, body)
    assert SECRET not in py and MASK in py
    revealed = python_snippet(t, body, reveal=True)
    assert SECRET in revealed
    compile(revealed, "<snippet>", "exec")  # it is valid Python


def test_curl_snippet_runs_and_scores(server):
    """The revealed curl command really sends the same request."""
    import shutil
    import subprocess

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    Handler.seen.clear()
    cmd = curl_snippet(target(server, "/api/score", deployment="blue"), '{"h": [3]}', reveal=True)
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=20)
    assert json.loads(out.stdout) == RECORDS
    assert json.loads(Handler.seen[-1]["body"]) == {"h": [3]}


def test_python_snippet_runs_and_scores(server):
    import subprocess
    import sys

    code = python_snippet(target(server, "/api/score"), '{"h": [3]}', reveal=True)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("200 ")


def test_load_test_counts_latencies_and_errors(server, client):
    Handler.seen.clear()
    seen_progress = []
    result = run_load_test(
        client, target(server, "/flaky"), "{}", 20, 4, progress=lambda done, n: seen_progress.append((done, n))
    )
    assert result.sent == 20 and len(result.latencies_ms) == 20
    assert result.ok == 10 and result.errors == 10 and result.statuses[503] == 10
    assert result.p(50) is not None and result.p(50) <= result.p(95) <= result.p(99)
    assert result.throughput > 0
    assert result.stopped is None
    assert seen_progress[-1] == (20, 20)
    assert "HTTP 503: 10" in result.error_lines()
    assert "p50" in result.summary() and "10 errors" in result.summary()


def test_load_test_is_bounded_in_time_and_cancellable(server, client):
    result = run_load_test(client, target(server, "/slow"), "{}", 100, 2, time_limit=0.3)
    assert result.stopped == "time limit"
    assert result.sent < 100
    cancelled = run_load_test(client, target(server, "/api/score"), "{}", 100, 2, cancelled=lambda: True)
    assert cancelled.stopped == "cancelled" and cancelled.sent == 0


def test_load_test_refuses_out_of_bounds():
    assert check_load_test(0, 1)
    assert check_load_test(MAX_LOAD_REQUESTS + 1, 1)
    assert check_load_test(10, MAX_LOAD_CONCURRENCY + 1)
    assert check_load_test(2, 3)
    assert check_load_test(10, 2) is None
    with ScoringClient() as c, pytest.raises(RdeployError):
        run_load_test(c, ScoringTarget("http://127.0.0.1:9/score"), "{}", 0, 1)


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == 50 and percentile(samples, 95) == 95
    assert percentile(samples, 99) == 99 and percentile([7.0], 99) == 7.0


def test_score_or_raise_tries_a_busy_endpoint_again(server):
    Handler.seen[:] = [{"path": "(so that /flaky answers 503 first)"}]
    result = score_or_raise(target(server, "/flaky"), {"h": [1]}, endpoint="ep", delay=0)
    assert result.status == 200 and result.body == [1]
    assert len(Handler.seen) == 3  # a 503, then the 200
    assert json.loads(Handler.seen[-1]["body"]) == {"h": [1]}


def test_score_or_raise_explains_a_424_with_the_log_command(server):
    with pytest.raises(RdeployError) as caught:
        score_or_raise(target(server, "/model-error", deployment="blue"), "{}", endpoint="ep", delay=0)
    error = caught.value
    assert error.code == "ModelError"
    assert (
        "Scoring endpoint ep (deployment blue) failed" in error.what
        and "424" in error.what
        and "HTTP 400" in error.what
    )
    assert "fields and types" in error.next_step and "rdeploy-tui endpoints logs ep -d blue" in error.next_step
    assert "forecast_horizon must be one whole number" in error.details


def test_score_or_raise_gives_up_after_the_attempts(server):
    from rdeploy_tui.local.plumber import free_port

    with pytest.raises(RdeployError) as caught:
        score_or_raise(
            ScoringTarget(f"http://127.0.0.1:{free_port()}/score", SECRET), "{}", endpoint="ep", attempts=2, delay=0
        )
    assert caught.value.code == "NoAnswer" and "after 2 tries" in caught.value.what
    with pytest.raises(RdeployError) as refused:
        score_or_raise(ScoringTarget(server + "/api/score", "wrong"), "{}", endpoint="ep", delay=0)
    assert refused.value.code == "Unauthorized" and "tries" not in refused.value.what  # a 401 is not tried again


def test_retry_wait_follows_retry_after_up_to_30_s():
    assert ScoreResult(503, 1.0, {"retry-after": "2"}).retry_wait(0.5) == 2.0
    assert ScoreResult(429, 1.0, {"retry-after": "600"}).retry_wait(0.5) == 30.0
    assert ScoreResult(503, 1.0, {"retry-after": "soon"}).retry_wait(0.5) == 0.5
    assert ScoreResult(None, 1.0, error="refused").retry_wait(0.5) == 0.5
    assert ScoreResult(503, 1.0).transient and ScoreResult(None, 1.0).transient
    assert not ScoreResult(424, 1.0).transient and not ScoreResult(200, 1.0).transient


@pytest.mark.parametrize(
    ("text", "said", "line", "column"),
    [
        pytest.param('{"x":\n [' + "1" * 5000 + "]}", "holds a number of 5,000 digits", 2, 3, id="5000-digits"),
        pytest.param("[" * 5000 + "]" * 5000, "is nested more than 64 levels deep", 1, 65, id="deep"),
        pytest.param('{"x": }', "is not valid JSON: Expecting value", 1, 7, id="invalid"),
    ],
)
def test_a_request_the_editor_cannot_send_says_where(text, said, line, column):
    with pytest.raises(RequestTextError) as caught:
        parse_request_text(text)
    assert said in caught.value.what and (caught.value.line, caught.value.column) == (line, column)


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"y": ' + b"9" * 5000 + b"}"], ids=["deep", "digits"])
def test_an_answer_too_deep_or_too_long_to_read_is_shown_as_text(body):
    from rdeploy_tui.scoring.judge import double_encoded, parse_body

    result = ScoreResult(200, 1.0, {}, body)
    assert result.value is None and result.text.startswith(body[:5].decode())
    assert parse_body(body) == (False, None)
    assert double_encoded([body.decode()]) is None
    assert explain_status(500, {}, body) is not None
