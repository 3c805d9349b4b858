"""The generated plumber API serves every kind of model with a real Rscript and plumber: scores at full precision,
answers every body it cannot use with a 400 naming what is wrong (never a 500, which Azure turns into a 424 counted
against the deployment), and a vetiver model also answers vetiver's /ping and /metadata."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from r_models import build

from rdeploy_tui.deploy_folder.render import render, write_folder
from rdeploy_tui.local.model_reader import apply_reading, read_model
from rdeploy_tui.local.plumber import start_plumber
from rdeploy_tui.spec.deploy_spec import DeploySpec

pytestmark = pytest.mark.r

KINDS = ["crate-serialize", "crate-saverds", "lm", "glm", "ranger", "vetiver-lm", "vetiver-ranger"]


class Api:
    def __init__(self, url: str, spec: DeploySpec) -> None:
        self.url, self.spec = url, spec

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": content_type} if body is not None else {})
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def score(self, body: bytes | str | object, content_type: str = "application/json"):
        raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        return self.call("POST", "/score", raw, content_type)


def spec_for(model_dir: Path, **routes: str) -> DeploySpec:
    """The spec `init --model-dir` writes: the kind, file, sample and packages read with R."""
    spec = DeploySpec()
    reading = read_model(model_dir)
    assert reading.ok, reading.error
    apply_reading(spec, reading)
    spec.image.r_packages = list(reading.packages)
    for name, path in routes.items():
        setattr(spec.scoring.routes, name, path)
    return spec


def kinds(*names: str):
    """Run a test against the API serving each of these kinds (one server per kind, shared by the module)."""
    return pytest.mark.parametrize("api", names, indirect=True)


@pytest.fixture(scope="module")
def api(request, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp(kind)
    model_dir = build(kind, tmp / "model")
    # vetiver users probe /ping: the spec routes readiness there
    spec = spec_for(model_dir, **({"ready": "/ping"} if kind.startswith("vetiver") else {}))
    write_folder(render(spec, base_dir=tmp), tmp / "folder")
    folder = tmp / "folder"
    with start_plumber(folder / "src", model_dir, start_script=folder / "docker-context/start_plumber.R") as server:
        server.wait_ready(spec.scoring.routes.ready, timeout=60)
        yield kind, Api(server.url, spec)


# cars' dist ~ speed, fitted by R: intercept and slope at full precision
INTERCEPT, SLOPE = -17.579094890510948, 3.9324087591240877


@kinds(*KINDS)
def test_each_kind_scores_at_full_precision(api):
    kind, client = api
    request = (
        {"speed": [4]} if kind.startswith("crate") else [{"wt": 3, "cyl": "6"}] if kind == "glm" else [{"speed": 4}]
    )
    status, answer = client.score(request)
    assert status == 200, answer
    # jsonlite's digits = NA writes 15 significant digits (plumber's default would round to 4 decimal places)
    exact = pytest.approx(INTERCEPT + SLOPE * 4, rel=1e-14)
    if kind.startswith("crate"):
        assert answer == [{"speed": 4, "dist": exact}]
    elif kind in ("lm", "vetiver-lm"):
        assert answer == [{".pred": exact}]
    elif kind == "glm":  # predict.glm's default: the linear predictor (log-odds), as R answers it
        assert answer == [{".pred": pytest.approx(0.379381658828562, rel=1e-14)}]
    else:  # a ranger forest (seed 1): a number per row
        assert len(answer) == 1 and isinstance(answer[0][".pred"], float) and 0 < answer[0][".pred"] < 30


@kinds("lm", "glm", "vetiver-lm", "vetiver-ranger")  # a crate and a ranger forest record no values for a sample
def test_the_sample_request_init_writes_scores(api):
    _, client = api
    status, answer = client.score(client.spec.scoring.sample_request)
    assert status == 200, answer


@kinds("lm", "ranger", "vetiver-lm", "vetiver-ranger")
def test_rows_and_columns_are_both_a_data_frame(api):
    _, client = api
    rows = client.score([{"speed": 4}, {"speed": 10}])
    columns = client.score({"speed": [4, 10]})
    assert rows[0] == columns[0] == 200
    assert rows[1] == columns[1] and len(rows[1]) == 2


# For every kind, each of these bodies is the caller's fault and gets a 400 saying what is wrong (issue 23 item 10).
NOT_JSON = [
    ("malformed", b'{"speed": [4', "the request body is not valid JSON"),
    ("not UTF-8", b'{"speed": "\xff\xfe"}', "the request body is not valid JSON: it is not UTF-8 text"),
    ("nested 5,000 deep", b"[" * 5000 + b"]" * 5000, "the request body is JSON nested 5000 levels deep; at most 64"),
    ("nested objects", b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested 5000 levels deep"),
    ("a NUL byte", b'{"speed": [4]}\x00', "it contains a NUL byte"),
    ("plain text", b"speed=4", "the request body is not valid JSON"),
]


@kinds(*KINDS)
@pytest.mark.parametrize(("case", "body", "said"), NOT_JSON, ids=[c[0] for c in NOT_JSON])
def test_a_body_that_is_not_json_is_a_400_that_says_so(api, case, body, said):
    _, client = api
    status, answer = client.score(body)
    assert status == 400, (case, answer)
    assert said in answer["error"], (case, answer)


def shape_cases(kind: str) -> list[tuple[str, object, str]]:
    if kind.startswith("crate"):
        return [
            ("an array", [1, 2], 'must be a JSON object of named arguments, such as {"speed": [1]}'),
            ("a string", '"speed"', "must be a JSON object of named arguments"),
            ("null", "null", "must be a JSON object of named arguments"),
            ("an unknown argument", {"horizon": [2]}, "unused argument (horizon = 2)"),
            ("the wrong type", {"speed": ["fast"]}, "speed must be numbers"),  # the crate's own stop()
        ]
    rows = "must be an array of rows"
    first = "wt" if kind == "glm" else "speed"
    return [
        ("an array of numbers", [1, 2], rows),
        ("a number", "4", rows),
        ("null", "null", rows),
        ("an empty array", [], "the request body is empty"),
        ("a missing column", [{"distance": 3}], f"missing column{'s' if kind == 'glm' else ''} {first}"),
        ("a nested value", {first: {"a": 1}}, f"column {first} must hold plain values"),
        ("columns of two lengths", {"speed": [1, 2], "wt": [1]}, "every column must have the same number of values"),
    ] + (
        [("text for numbers", [{"speed": "fast"}], 'column speed must hold numbers (row 1: "fast")')]
        if kind in ("lm", "vetiver-lm", "vetiver-ranger")
        else []
    )


@kinds(*KINDS)
def test_a_body_of_the_wrong_shape_is_a_400_naming_what_is_wrong(api):
    kind, client = api
    for case, body, said in shape_cases(kind):
        status, answer = client.score(body)
        assert status == 400, (case, answer)
        assert said in answer["error"], (case, answer)


@kinds("glm")
def test_a_fitted_models_columns_are_checked_against_what_it_was_fitted_on(api):
    _, client = api
    status, answer = client.score([{"wt": 3, "cyl": "5"}])
    assert (status, answer) == (400, {"error": 'column cyl must be one of 4, 6, 8 (row 1: "5")'})
    status, answer = client.score([{"wt": 3, "cyl": 8, "mpg": 20}])  # a number for a level; extra columns ignored
    assert status == 200 and len(answer) == 1
    status, answer = client.score([{"wt": True, "cyl": "4"}])
    assert (status, answer) == (400, {"error": "column wt must hold numbers, not true/false (row 1: true)"})


@kinds("lm", "crate-serialize")
def test_only_a_vetiver_model_has_vetivers_routes(api):
    _, client = api
    assert client.call("GET", "/ping")[0] == 404
    assert client.call("GET", "/metadata")[0] == 404


@kinds("vetiver-lm", "vetiver-ranger")
def test_a_vetiver_model_answers_vetivers_own_routes(api):
    _, client = api
    status, ping = client.call("GET", "/ping")  # the readiness route too (spec: ready /ping)
    assert status == 200 and ping["status"] == "online" and ping["time"]
    status, metadata = client.call("GET", "/metadata")
    assert status == 200
    assert metadata["version"] in ("20261127T101500Z-1a2b3", "20261127T101500Z-aaaaa")
    assert metadata["url"] is None and metadata["user"] == {}
    # vetiver's clients read "message" from an error
    status, answer = client.score([{"distance": 3}])
    assert status == 400 and answer["message"] == answer["error"]


@kinds("lm")
def test_brackets_inside_strings_are_not_nesting(api):
    """The depth is counted outside JSON strings, escaped quotes included: text full of brackets is fine."""
    _, client = api
    note = "[" * 5000 + '\\"{' * 100
    status, answer = client.score(f'[{{"speed": 4, "note": "{note}"}}]')
    assert status == 200, answer
    # an escaped backslash, then the string's end: the brackets after it nest
    status, answer = client.score('[{"speed": 4, "note": "\\\\", "x": ' + "[" * 100 + "]" * 100 + "}]")
    assert status == 400 and answer["error"].startswith("the request body is JSON nested 102 levels deep"), answer
