"""Tables of good and bad values for every rule, hostile ones included."""

from __future__ import annotations

import pytest

from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import DeploySpec

# Values an attacker (or a paste accident) might put in any field: all must be refused everywhere.
HOSTILE = [
    "",
    "a'b",
    'a"b',
    "$(rm -rf /)",
    "`id`",
    "a;b",
    "a\nb",
    "a\rb",
    "a b",
    "\x00abc",
    "x" * 10_000,
    "fоrecast",  # Cyrillic 'о' look-alike
    "ｆorecast",  # full-width 'f'
    "a$b",
    "a|b",
    "a&b",
    "a>b",
    "../../etc",
]

NAME_CHECKS = [
    rules.check_endpoint_name,
    rules.check_deployment_name,
    rules.check_r_package,
    rules.check_repository,
    rules.check_tag,
    rules.check_base_image,
    rules.check_subscription_id,
    rules.check_resource_group,
    rules.check_workspace_name,
    rules.check_model_name,
    rules.check_model_version,
    rules.check_instance_type,
    rules.check_route,
]


@pytest.mark.parametrize("check", NAME_CHECKS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_hostile_values_are_refused_everywhere(check, value):
    message = check(value)
    assert message, f"{check.__name__} accepted {value!r}"
    assert len(message) < 400  # a 10,000-character value is not echoed back whole


@pytest.mark.parametrize("value", [None, 3, 1.5, True, ["a"], {"a": 1}])
@pytest.mark.parametrize("check", NAME_CHECKS, ids=lambda f: f.__name__)
def test_non_text_values_are_refused(check, value):
    assert check(value)


@pytest.mark.parametrize("value", ["r-endpoint-forecast", "abc", "A1b", "e" * 32, "my-endpoint-2", "Blue"])
def test_good_endpoint_names(value):
    assert rules.check_endpoint_name(value) is None


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("ab", "3-32 characters"),
        ("e" * 33, "3-32 characters"),
        ("1abc", "starting with a letter"),
        ("abc-", "ending with a letter or digit"),
        ("ab_c", "letters, digits and '-'"),
        ("ab.c", "'ab.c'"),
    ],
)
def test_bad_endpoint_names_say_what_is_allowed(value, fragment):
    message = rules.check_endpoint_name(value)
    assert message and fragment in message
    assert repr(value)[:20] in message  # the offending value is named


def test_deployment_name_message_names_the_field():
    assert "deployment name" in rules.check_deployment_name("x")


@pytest.mark.parametrize("value", ["forecast", "dplyr", "data.table", "R6", "jsonlite", "Rcpp", "ab"])
def test_good_r_packages(value):
    assert rules.check_r_package(value) is None


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("a", "at least two"),
        ("1abc", "starting with a letter"),
        ("abc.", "not ending with '.'"),
        ("my_pkg", "ASCII letters, digits and '.'"),
        ("my-pkg", "'my-pkg'"),
        ("stats", "ships with R"),
        ("utils", "ships with R"),
    ],
)
def test_bad_r_packages(value, fragment):
    message = rules.check_r_package(value)
    assert message and fragment in message


def test_duplicate_packages_are_refused_case_insensitively():
    found = rules.check_r_packages(["forecast", "dplyr", "Forecast", "dplyr"])
    assert [i for i, _ in found] == [2, 3]
    assert "listed twice" in found[0][1] and "position 1" in found[0][1]


def test_package_list_must_be_a_list():
    assert rules.check_r_packages("forecast")[0][0] is None


@pytest.mark.parametrize("value", ["r-forecast", "team/r-forecast", "r_server", "a.b-c/d"])
def test_good_repositories(value):
    assert rules.check_repository(value) is None


@pytest.mark.parametrize("value", ["R-Forecast", "-abc", "abc-", "a//b", "a:b"])
def test_bad_repositories(value):
    assert "lowercase" in rules.check_repository(value)


@pytest.mark.parametrize("value", ["auto", "latest", "v1.2.3", "1a2b3c", "_x", "a" * 128])
def test_good_tags(value):
    assert rules.check_tag(value) is None


@pytest.mark.parametrize("value", [".x", "-x", "a" * 129, "a:b", "a/b"])
def test_bad_tags(value):
    assert rules.check_tag(value)


@pytest.mark.parametrize(
    "value",
    [
        "rstudio/plumber:latest",
        "rstudio/plumber",
        "rocker/r-ver:4.3.1",
        "myacr.azurecr.io/base/r:1",
        "localhost:5000/r-base",
        "rstudio/plumber@sha256:" + "a" * 64,
    ],
)
def test_good_base_images(value):
    assert rules.check_base_image(value) is None


@pytest.mark.parametrize("value", ["Rstudio/Plumber", "plumber:", "a b", ":latest", "x@sha256:zz"])
def test_bad_base_images(value):
    assert rules.check_base_image(value)


def test_instance_types_known_and_warned():
    assert rules.check_instance_type("Standard_DS3_v2") is None
    assert rules.check_instance_type("standard_ds3_v2") is None  # Azure treats SKU names case-insensitively
    assert rules.instance_type_warning("Standard_DS3_v2") is None
    warning = rules.instance_type_warning("Standard_DS2_v2")
    assert "2 vCPU, 7 GiB" in warning and "Standard_DS3_v2" in warning
    assert rules.instance_type_warning("Standard_DS1_v2")


@pytest.mark.parametrize("value, hint", [("Standard_DS9_v2", "did you mean"), ("Basic_A1", "such as Standard_DS3_v2")])
def test_unknown_instance_types_are_warnings(value, hint):
    # Azure adds sizes: a name missing from Microsoft's list is a warning, not an error
    assert rules.check_instance_type(value) is None
    message = rules.instance_type_warning(value)
    assert "not in Microsoft's list" in message and hint in message


@pytest.mark.parametrize("value", ["Standard DS3", "Standard_DS3_v2;rm", "x"])
def test_instance_type_names_that_cannot_be_sizes_are_errors(value):
    assert rules.check_instance_type(value)


def test_instance_type_table_has_vcpu_memory_and_gpus():
    t = rules.INSTANCE_TYPES["standard_f4s_v2"]
    assert (t.vcpus, t.memory_gib) == (4, 8)
    assert t.label == "Standard_F4s_v2 (4 vCPU, 8 GiB)"
    # the sizes the issue names: E-series memory sizes, GPUs, every row of Microsoft's page
    assert (
        rules.check_instance_type("Standard_E4s_v3") is None and rules.instance_type_warning("Standard_E4s_v3") is None
    )
    gpu = rules.INSTANCE_TYPES["standard_nc6s_v3"]
    assert gpu.has_gpu and gpu.label == "Standard_NC6s_v3 (6 vCPU, 112 GiB, 1 GPU)"
    assert len(rules.INSTANCE_TYPES) == 85  # every row of the page (read 2026-11-26)


@pytest.mark.parametrize(
    "check, good, bad",
    [
        (rules.check_instance_count, [1, 2, 50], [0, 51, -1, True, "1", 1.0, None]),
        (rules.check_traffic, [0, 50, 100], [-1, 101, False, "100", 99.5]),
        (rules.check_port, [1, 8000, 65535], [0, 65536, "8000", None]),
    ],
)
def test_integer_ranges(check, good, bad):
    for value in good:
        assert check(value) is None, value
    for value in bad:
        message = check(value)
        assert message and ("range" in message or "whole number" in message), value


@pytest.mark.parametrize("value", ["aml_token", "key", "aad_token"])
def test_auth_modes(value):
    assert rules.check_auth_mode(value) is None


@pytest.mark.parametrize("value", ["token", "AML_TOKEN", "", None])
def test_bad_auth_modes(value):
    assert "aml_token, key, aad_token" in rules.check_auth_mode(value)


@pytest.mark.parametrize("value", ["/score", "/v1/score", "/health-check", "/a_b.c~d"])
def test_good_routes(value):
    assert rules.check_route(value) is None


@pytest.mark.parametrize("value", ["score", "//score", "/a/../b", "/a?b=1", "/a#b", "/ä"])
def test_bad_routes(value):
    assert rules.check_route(value)


def test_routes_must_differ():
    spec = DeploySpec()
    spec.scoring.routes.score = "/ready"
    assert rules.check_routes(spec.scoring.routes) == [
        ("score", "score route '/ready' must differ from the live and ready routes")
    ]


@pytest.mark.parametrize("value", [{"forecast_horizon": [2]}, {}, {"x": 1, "y.z": "a", "w_1": [1, 2], ".hidden": None}])
def test_good_sample_requests(value):
    assert rules.check_sample_request(value) is None


@pytest.mark.parametrize(
    "value, fragment",
    [
        ([1, 2], "JSON object"),
        ("text", "JSON object"),
        ({"a": float("nan")}, "cannot be written as JSON"),
        ({"bad key": 1}, "R argument name"),
        ({"$(x)": 1}, "R argument name"),
        ({"1a": 1}, "R argument name"),
        ({"x": "a" * 1_000_001}, "under 1 MB"),
    ],
)
def test_bad_sample_requests(value, fragment):
    assert fragment in rules.check_sample_request(value)


def test_script_path(tmp_path):
    (tmp_path / "my plumber.R").write_text("#")
    assert rules.check_script_path(None) is None
    assert rules.check_script_path("my plumber.R", tmp_path) is None
    assert "does not exist" in rules.check_script_path("other.R", tmp_path)
    assert "not allowed" in rules.check_script_path("script.py", tmp_path)
    assert "not allowed" in rules.check_script_path("$(x).R", tmp_path)


@pytest.mark.parametrize(
    "check, good, bad",
    [
        (
            rules.check_subscription_id,
            ["00000000-0000-0000-0000-000000000000", "A1B2C3D4-0000-0000-0000-00000000000F"],
            ["0000", "g0000000-0000-0000-0000-000000000000"],
        ),
        (rules.check_resource_group, ["rg-ml", "RG_ml.prod(1)", "r"], ["rg.", "r" * 91, "rg ml"]),
        (rules.check_workspace_name, ["ws-ml", "ws_1", "a" * 33], ["ws", "-ws", "a" * 34, "ws.ml"]),
        (rules.check_model_name, ["forecast-model", "m.1_a"], ["-m", "m/1", "m:1"]),
        (rules.check_model_version, ["latest", "3", "1.0"], ["-1", "3:4", "v/1"]),
    ],
)
def test_workspace_and_model_fields(check, good, bad):
    for value in good:
        assert check(value) is None, value
    for value in bad:
        assert check(value), value


def test_default_spec_is_valid():
    assert rules.validate(DeploySpec()) == []


def test_validate_reports_every_problem_with_its_field():
    spec = DeploySpec()
    spec.endpoint.name = "x"
    spec.deployment.name = "$(id)"
    spec.image.r_packages = ["forecast", "a", "forecast"]
    spec.deployment.instance_type = "Standard_DS1_v2"
    spec.deployment.traffic = 101
    spec.deployment.probes.period = 0
    problems = rules.validate(spec)
    fields = [(p.field, p.level) for p in problems]
    assert fields == [
        ("image.r_packages[1]", "error"),
        ("image.r_packages[2]", "error"),
        ("endpoint.name", "error"),
        ("deployment.name", "error"),
        ("deployment.instance_type", "warning"),
        ("deployment.traffic", "error"),
        ("deployment.probes.period", "error"),
    ]
    assert len(rules.errors(problems)) == 6
