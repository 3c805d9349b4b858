"""init / validate / --help / --version through the real console entry, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rdeploy_tui import __version__


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdeploy_tui", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_version_and_help(tmp_path):
    result = cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"rdeploy-tui {__version__}"
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0 and "init" in result.stdout and "validate" in result.stdout


def test_bad_usage_exits_2(tmp_path):
    for args in (["init"], ["no-such-command"], ["validate", "--bogus"]):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        no_traceback(result)


def test_init_writes_spec_and_folder_then_validates(tmp_path):
    result = cli("init", "--out", "deploy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rdeploy.yaml").is_file()
    names = sorted(str(p.relative_to(tmp_path / "deploy")) for p in (tmp_path / "deploy").rglob("*") if p.is_file())
    assert names == [
        "deployment.yml",
        "docker-context/Dockerfile",
        "docker-context/install_packages.R",
        "docker-context/start_plumber.R",
        "endpoint.yml",
        "sample-request.json",
        "src/plumber.R",
        "src/rdeploy_model.R",
    ]
    assert cli("validate", "--spec", "rdeploy.yaml", cwd=tmp_path).returncode == 0
    # Same spec, same bytes: a second init is a no-op that succeeds.
    before = {p: p.read_bytes() for p in (tmp_path / "deploy").rglob("*") if p.is_file()}
    assert cli("init", "--out", "deploy", cwd=tmp_path).returncode == 0
    assert before == {p: p.read_bytes() for p in (tmp_path / "deploy").rglob("*") if p.is_file()}


BAD_SPEC = """\
endpoint: {name: "x; rm -rf /", auth_mode: token}
image: {r_packages: [forecast, forecast, "a"]}
deployment: {instance_count: 0, traffic: 150, instance_type: Standard_DS1_v2}
"""


def test_bad_spec_every_message_exit_1_nothing_written(tmp_path):
    (tmp_path / "rdeploy.yaml").write_text(BAD_SPEC)
    result = cli("validate", "--spec", "rdeploy.yaml", cwd=tmp_path)
    assert result.returncode == 1
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 7
    for fragment in [
        "endpoint.name: endpoint name 'x; rm -rf /' is not allowed",
        "endpoint.auth_mode: auth mode 'token' is not allowed",
        "image.r_packages[1]: R package 'forecast' is listed twice",
        "image.r_packages[2]: R package name 'a' is not valid",
        "deployment.instance_count: instance count 0 is out of range: use 1 to 50",
        "deployment.traffic: traffic 150 is out of range: use 0 to 100",
        "warning: deployment.instance_type",
    ]:
        assert any(fragment in line for line in lines), fragment

    result = cli("init", "--out", "deploy", cwd=tmp_path)
    assert result.returncode == 1
    no_traceback(result)
    assert not (tmp_path / "deploy").exists()


def test_broken_yaml_and_missing_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("endpoint: {name: [\n")
    result = cli("validate", "--spec", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1 and "not valid YAML" in result.stderr
    no_traceback(result)
    result = cli("validate", "--spec", "missing.yaml", cwd=tmp_path)
    assert result.returncode == 1 and "file not found" in result.stderr


def test_init_refuses_to_clobber_edited_files(tmp_path):
    assert cli("init", "--out", "deploy", cwd=tmp_path).returncode == 0
    plumber = tmp_path / "deploy" / "src" / "plumber.R"
    plumber.write_text("# my edits\n")
    result = cli("init", "--out", "deploy", cwd=tmp_path)
    assert result.returncode == 1 and "differs from what would be generated" in result.stderr
    assert plumber.read_text() == "# my edits\n"
    assert cli("init", "--out", "deploy", "--force", cwd=tmp_path).returncode == 0
    assert plumber.read_text() != "# my edits\n"


def test_warnings_alone_pass(tmp_path):
    (tmp_path / "rdeploy.yaml").write_text(
        "workspace: {subscription_id: 11111111-2222-3333-4444-555555555555, resource_group: rg-a, name: ws-a}\n"
        "deployment: {instance_type: Standard_DS2_v2}\n"
    )
    result = cli("validate", "--spec", "rdeploy.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "1 warning" in result.stdout and "warning:" in result.stderr


@pytest.mark.parametrize("registry", ["myacr.azurecr.io", "Bad Registry"])
def test_init_registry(tmp_path, registry):
    result = cli("init", "--out", "d", "--registry", registry, cwd=tmp_path)
    if registry == "myacr.azurecr.io":
        assert result.returncode == 0 and "image: myacr.azurecr.io/r-forecast:" in result.stdout
    else:
        assert result.returncode == 1 and "not a host name" in result.stderr
        assert not (tmp_path / "rdeploy.yaml").exists() and not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    "argv",
    [["--sandbox", "endpoints", "list"], ["endpoints", "list", "--sandbox"], ["--sandbox", "deploy", "--yes"]],
)
def test_connection_options_before_or_after_the_command(argv):
    from rdeploy_tui.cli import build_parser

    args = build_parser().parse_args(argv)
    assert args.sandbox is True and args.cloud is None and args.arm_endpoint is None


def test_connection_options_default_off():
    from rdeploy_tui.cli import build_parser

    assert build_parser().parse_args(["endpoints", "list"]).sandbox is False


@pytest.mark.parametrize("argv", [["endpoints", "--help"], ["--cloud", "AzureCloud", "endpoints", "--help"]])
def test_a_command_imports_only_its_own_module(argv, tmp_path):
    """A day-2 command has 0.8 s (issue 17): it must not import every command (the spec rules, YAML, the deploy
    folder ...) to build parsers it will not use. The root --help still lists them all."""
    probe = (
        "import sys\nfrom rdeploy_tui.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('rdeploy_tui.commands.', 'yaml'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    loaded = result.stdout.strip().splitlines()[-1]
    assert "endpoints_cmd" in loaded
    for other in ("init_cmd", "deploy_cmd", "rollout_cmd", "validate_cmd", "'yaml'"):
        assert other not in loaded, loaded
    full = cli("--help", cwd=tmp_path).stdout
    assert all(
        name in full for name in ("init", "validate", "local", "sandbox", "deploy", "rollout", "endpoints", "models")
    )
