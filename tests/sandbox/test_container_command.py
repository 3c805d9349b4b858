"""What a container runs, by Docker's rules for ENTRYPOINT and CMD (docs.docker.com/reference/dockerfile/
#understand-how-cmd-and-entrypoint-interact), judged the two ways the sandbox derives it: from the build's steps
(build.plan_build) and from a Dockerfile alone (container.config_from_dockerfile). Both must give Docker's table."""

from __future__ import annotations

import pytest

from rdeploy_tui.sandbox import build, container
from rdeploy_tui.sandbox.cran import Cran

PLUMB = container.PLUMBER_ENTRYPOINT

CASES = [
    # the base image's own ENTRYPOINT and CMD when the Dockerfile sets neither
    ("FROM rstudio/plumber:v1.3.0\n", [*PLUMB, "~/plumber.R"]),
    ("FROM rocker/r-ver:4.4.1\n", ["R"]),
    ("FROM r-base:4.4.1\n", ["R"]),
    # CMD in exec form becomes ENTRYPOINT's arguments (the how-to's seed without `ENTRYPOINT []`)
    (
        'FROM rstudio/plumber:v1.3.0\nCMD ["Rscript", "/tmp/start_plumber.R"]\n',
        [*PLUMB, "Rscript", "/tmp/start_plumber.R"],
    ),
    # `ENTRYPOINT []` clears the base's: CMD runs on its own
    (
        'FROM rstudio/plumber:v1.3.0\nENTRYPOINT []\nCMD ["Rscript", "/tmp/start_plumber.R"]\n',
        ["Rscript", "/tmp/start_plumber.R"],
    ),
    # ... and, as any ENTRYPOINT, resets the CMD it inherited: nothing to run
    ("FROM rstudio/plumber:v1.3.0\nENTRYPOINT []\n", []),
    # CMD in shell form: through /bin/sh -c, appended to an exec ENTRYPOINT
    ('FROM rocker/r-ver:4.4.1\nENTRYPOINT ["Rscript"]\nCMD /tmp/a.R\n', ["Rscript", "/bin/sh", "-c", "/tmp/a.R"]),
    ("FROM rocker/r-ver:4.4.1\nCMD Rscript /tmp/a.R\n", ["/bin/sh", "-c", "Rscript /tmp/a.R"]),
    # ENTRYPOINT in shell form: /bin/sh -c, CMD ignored
    ('FROM rocker/r-ver:4.4.1\nENTRYPOINT Rscript /tmp/a.R\nCMD ["x"]\n', ["/bin/sh", "-c", "Rscript /tmp/a.R"]),
    # setting ENTRYPOINT resets the base's CMD (rocker's `R`)
    ('FROM rocker/r-ver:4.4.1\nENTRYPOINT ["Rscript", "/tmp/a.R"]\n', ["Rscript", "/tmp/a.R"]),
    # only the last CMD counts; a CMD after the ENTRYPOINT is kept
    ('FROM rocker/r-ver:4.4.1\nCMD ["a"]\nENTRYPOINT ["Rscript"]\nCMD ["b.R"]\n', ["Rscript", "b.R"]),
    # the final stage's, not an earlier stage's
    ('FROM rocker/r-ver:4.4.1 AS one\nENTRYPOINT ["x"]\nFROM r-base:4.4.1\n', ["R"]),
]


@pytest.mark.parametrize("text, argv", CASES)
def test_the_container_runs_what_docker_would(text, argv):
    from_dockerfile = container.config_from_dockerfile({"Dockerfile": text.encode()})
    assert from_dockerfile is not None and from_dockerfile.argv() == argv
    plan = build.plan_build(
        run_id="ca1",
        files={"Dockerfile": text.encode()},
        dockerfile_path="Dockerfile",
        image_names=["r:1"],
        push=True,
        login_server="x.azurecr.io",
        cran=Cran(),
    )
    assert plan.succeeded, plan.error
    assert container.ContainerConfig.from_metadata(plan.image["container"]).argv() == argv


def test_a_base_from_the_workspace_registry_passes_on_its_entrypoint_and_cmd():
    parent = container.ContainerConfig(cmd=["Rscript", "/tmp/start_plumber.R"])
    holds = {"holds": {"plumber": "1.3.0"}, "container": parent.to_metadata()}
    plan = build.plan_build(
        run_id="ca1",
        files={"Dockerfile": b"FROM x.azurecr.io/r-base-image:1\n"},
        dockerfile_path="Dockerfile",
        image_names=["r:2"],
        push=True,
        login_server="x.azurecr.io",
        cran=Cran(),
        registry_image=lambda reference: holds if reference == "x.azurecr.io/r-base-image:1" else None,
    )
    assert plan.succeeded, plan.error
    assert container.ContainerConfig.from_metadata(plan.image["container"]).argv() == [
        "Rscript",
        "/tmp/start_plumber.R",
    ]


def test_the_command_words_naming_image_files_point_at_the_laid_out_image(tmp_path):
    config = container.ContainerConfig(
        entrypoint=list(PLUMB), cmd=["Rscript", "/tmp/start_plumber.R"], paths={"/tmp/start_plumber.R": "start.R"}
    )
    prepared = container.prepare(config, {"start.R": b"cat(1)"}, tmp_path / "rootfs", which=lambda name: f"/bin/{name}")
    assert prepared.problem is None
    assert prepared.argv[0] == "/bin/R" and prepared.argv[-2] == "Rscript"
    assert prepared.argv[-1] == str(tmp_path / "rootfs" / "tmp" / "start_plumber.R")
    assert (tmp_path / "rootfs" / "tmp" / "start_plumber.R").read_bytes() == b"cat(1)"
    missing = container.prepare(
        container.ContainerConfig(cmd=["tini", "--"]), {}, tmp_path / "r2", which=lambda n: None
    )
    assert missing.problem == 'exec: "tini": executable file not found in $PATH'
    nothing = container.prepare(container.ContainerConfig(), {}, tmp_path / "r3")
    assert nothing.problem == "Error response from daemon: No command specified"
