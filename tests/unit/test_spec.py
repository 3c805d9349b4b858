from __future__ import annotations

import textwrap

from rdeploy_tui.spec.deploy_spec import DeploySpec, load_spec, save_spec

CONTRACT = """\
workspace: {subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg-ml, name: ws-ml}
model: {name: forecast-model, version: latest}        # or a version number
image: {repository: r-forecast, tag: auto, base: rstudio/plumber:latest, r_packages: [forecast, tibble, dplyr]}
scoring: {script: null, port: 8000, routes: {live: /live, ready: /ready, score: /score}, sample_request: {forecast_horizon: [2]}}
endpoint: {name: r-endpoint-forecast, auth_mode: aml_token}    # or key
deployment: {name: blue, instance_type: Standard_DS3_v2, instance_count: 1, traffic: 100}
"""  # noqa: E501 - the README's lines, as written there


def test_contract_file_loads(tmp_path):
    path = tmp_path / "rdeploy.yaml"
    path.write_text(CONTRACT)
    spec, problems = load_spec(path)
    assert problems == []
    assert spec.image.r_packages == ["forecast", "tibble", "dplyr"]
    assert spec.scoring.script is None
    assert spec.scoring.sample_request == {"forecast_horizon": [2]}
    assert spec.deployment.probes.failure_threshold == 30  # defaults fill what the file leaves out


def test_round_trip(tmp_path):
    spec = DeploySpec()
    spec.model.version = "7"
    spec.image.r_packages = ["forecast"]
    path = tmp_path / "s.yaml"
    save_spec(spec, path)
    loaded, problems = load_spec(path)
    assert problems == [] and loaded == spec


def test_numbers_in_text_fields_mean_their_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("model: {name: m, version: 3}\nimage: {tag: 1.5}\n")
    spec, problems = load_spec(path)
    assert problems == [] and spec.model.version == "3" and spec.image.tag == "1.5"


def test_structural_problems_are_all_reported(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            workspace: [1, 2]
            model: {name: m, versoin: 3}
            image: {r_packages: forecast}
            scoring: {port: "8000", sample_request: "{not json"}
            deployment: {instance_count: true, probes: {period: 1.5}}
            extra: 1
            """
        )
    )
    spec, problems = load_spec(path)
    assert spec is not None
    got = {p.field: p.message for p in problems}
    assert got["workspace"] == "must be a mapping, got a list"
    assert "unknown key in model" in got["model.versoin"] and "version" in got["model.versoin"]
    assert got["image.r_packages"] == "must be a list of names, got text"
    assert got["scoring.port"] == "must be a whole number, got text"
    assert "not valid JSON" in got["scoring.sample_request"]
    assert got["deployment.instance_count"] == "must be a whole number, got a boolean (true)"
    assert got["deployment.probes.period"] == "must be a whole number, got a float (1.5)"
    assert "unknown key in spec" in got["extra"]


def test_unreadable_files(tmp_path):
    spec, problems = load_spec(tmp_path / "missing.yaml")
    assert spec is None and "file not found" in problems[0].message
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {name: [\n")
    spec, problems = load_spec(bad)
    assert spec is None and "not valid YAML (line" in problems[0].message
    top = tmp_path / "list.yaml"
    top.write_text("- a\n")
    spec, problems = load_spec(top)
    assert problems[0].message == "must be a mapping of sections, got a list"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    spec, problems = load_spec(binary)
    assert spec is None and "is not UTF-8 text" in problems[0].message


def test_an_empty_file_is_refused_not_read_as_all_defaults(tmp_path):
    # an empty spec once validated as ok and would have deployed defaults nobody wrote down (issue 15)
    for text in ("", "# only a comment\n"):
        path = tmp_path / "s.yaml"
        path.write_text(text)
        spec, problems = load_spec(path)
        assert spec is None and "is empty" in problems[0].message and "rdeploy-tui init" in problems[0].message
