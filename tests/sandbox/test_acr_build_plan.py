"""The sandbox's docker-build simulation: Dockerfile reading and what a build prints and produces (no server)."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from rdeploy_tui.sandbox import build, dockerfile
from rdeploy_tui.sandbox.cran import Cran

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "acrsandbox.azurecr.io"


def our_dockerfile(packages: str = '"carrier", "forecast"') -> str:
    """The Dockerfile rdeploy-tui generates, from the lead's template."""
    text = (ROOT / "docker-context-template" / "Dockerfile").read_text()
    return text.replace("{{R_PACKAGES}}", packages).replace("{{BASE_IMAGE}}", "rstudio/plumber:latest").replace("{{PORT}}", "8000")


MICROSOFT_HOWTO = """FROM rstudio/plumber:latest
RUN R -e "install.packages(c('forecast','carrier'))"
COPY start_plumber.R /tmp/start_plumber.R
ENTRYPOINT []
CMD ["Rscript", "/tmp/start_plumber.R"]
"""


def plan(text: str, *, files: dict[str, bytes] | None = None, cran: Cran = Cran(), **kwargs) -> build.BuildPlan:
    context = {"Dockerfile": text.encode(), "start_plumber.R": b"pr <- plumber::plumb('x')\n"} if files is None else files
    return build.plan_build(
        run_id="ca1", files=context, dockerfile_path=kwargs.pop("dockerfile_path", "Dockerfile"),
        image_names=kwargs.pop("image_names", ["r-model:1"]), push=True, login_server=LOGIN, cran=cran, **kwargs,
    )


def log_text(result: build.BuildPlan) -> str:
    return "\n".join(line for chunk in result.chunks for line in chunk.lines)


# ----- reading Dockerfiles ---------------------------------------------------------------------------
def test_parse_joins_continuations_and_drops_comments():
    instructions = dockerfile.parse("# c\nFROM a:1\n\nRUN echo 1 \\\n  # inner comment\n  && echo 2\ncmd [\"x\"]\n")
    assert [(i.line, i.keyword) for i in instructions] == [(2, "FROM"), (4, "RUN"), (7, "CMD")]
    assert instructions[1].args == "echo 1 && echo 2"


@pytest.mark.parametrize(
    "run, packages, checked",
    [
        (our_dockerfile().split("RUN ", 1)[1].split("\n\nCOPY")[0], ("carrier", "forecast"), True),
        ("""R -e "install.packages(c('forecast','carrier'))\"""", ("forecast", "carrier"), False),
        ("""Rscript -e 'install.packages("xgboost", repos = "https://cloud.r-project.org")'""", ("xgboost",), False),
        ("""["Rscript", "-e", "install.packages(pkgs = c('a', 'b')); if (!requireNamespace('a')) stop('no a')"]""", ("a", "b"), True),
        ("install2.r --error carrier forecast", ("carrier", "forecast"), True),
        ("apt-get update && apt-get install -y libxml2", None, None),
    ],
)
def test_r_packages_are_read_from_run_lines(run, packages, checked):
    joined = " ".join(part.strip().rstrip("\\") for part in run.splitlines())
    install = dockerfile.r_install(joined)
    if packages is None:
        assert install is None
    else:
        assert install is not None and install.packages == packages and install.checked is checked


# ----- builds ----------------------------------------------------------------------------------------
def test_our_dockerfile_builds_and_describes_the_image():
    result = plan(our_dockerfile())
    text = log_text(result)
    assert result.succeeded, text
    assert "Step 1/6 : FROM rstudio/plumber:latest" in text and "Step 6/6 : CMD" in text
    assert "* DONE (carrier)" in text and "* DONE (forecast)" in text
    assert f"Successfully tagged {LOGIN}/r-model:1" in text and "Pushing image" in text
    assert [(ref.repository, ref.tag) for ref in result.images] == [("r-model", "1")]
    assert result.image["start_script"] == "start_plumber.R"
    assert result.image["entrypoint_reset"] is True
    assert result.image["r_packages"] == ["carrier", "forecast"]
    assert result.image["cmd"] == ["Rscript", "/tmp/start_plumber.R"]
    assert result.push_at is not None and build.DIGEST in "\n".join(result.chunks[result.push_at].lines)


def test_the_microsoft_howto_dockerfile_builds():
    result = plan(MICROSOFT_HOWTO)
    assert result.succeeded and result.image["r_packages"] == ["carrier", "forecast"]
    assert "> install.packages(c('forecast','carrier'))" in log_text(result)  # R -e echoes the code


def test_a_package_cran_does_not_have_fails_our_build_with_rs_warning_and_our_message():
    result = plan(our_dockerfile('"carrier", "notapkg"'))
    text = log_text(result)
    assert not result.succeeded
    assert "package ‘notapkg’ is not available for this version of R" in text
    assert "rdeploy: failed to install R packages: notapkg" in text
    assert "returned a non-zero code: 1" in text and "failed to run step ID: build: exit status 1" in text
    assert not result.images


def test_an_unchecked_failed_install_still_builds_and_the_image_says_what_is_missing():
    result = plan(MICROSOFT_HOWTO.replace("'forecast'", "'notapkg'"))
    assert result.succeeded
    assert "package ‘notapkg’ is not available" in log_text(result)
    assert result.image["r_packages_missing"] == ["notapkg"]


def test_cran_knobs_make_names_installable_or_not():
    assert plan(our_dockerfile('"carrier", "mycorp.models"'), cran=Cran(extra=frozenset({"mycorp.models"}))).succeeded
    assert not plan(our_dockerfile('"carrier", "forecast"'), cran=Cran(unavailable=frozenset({"forecast"}))).succeeded


def test_missing_entrypoint_reset_builds_with_a_warning_and_a_crashing_image_record():
    result = plan(our_dockerfile().replace("ENTRYPOINT []", ""))
    assert result.succeeded
    assert "ENTRYPOINT []" in log_text(result)
    assert result.image["entrypoint_reset"] is False
    assert result.image["entrypoint"] == build.PLUMBER_BASE_ENTRYPOINT


@pytest.mark.parametrize(
    "text, reason",
    [
        ("RUN echo hi\nCMD [\"x\"]\n", "No build stage in current context"),
        ("", "cannot be empty"),
        ("FROM rstudio/plumber\nINSTAL x\n", "dockerfile parse error line 2: unknown instruction: INSTAL"),
        ("FROM rstudio/plumber\nCOPY plumber.R /app/\n", "COPY failed: file not found in build context or excluded by .dockerignore: stat plumber.R: file does not exist"),
    ],
)
def test_bad_dockerfiles_fail_with_dockers_reason(text, reason):
    result = plan(text)
    assert not result.succeeded
    assert reason in log_text(result)


def test_a_missing_dockerfile_and_bad_image_names_fail():
    assert "lstat /workspace/Dockerfile: no such file or directory" in log_text(plan("", files={"x": b""}))
    assert "repository name must be lowercase" in log_text(plan(MICROSOFT_HOWTO, image_names=["R-Model:1"]))


def test_the_build_fail_knob_fails_at_the_package_install():
    text = log_text(result := plan(our_dockerfile(), fail_build=True))
    assert not result.succeeded
    assert "ERROR: compilation failed for package ‘carrier’" in text
    assert "rdeploy: failed to install R packages: carrier" in text


def test_read_context_normalises_paths_and_rejects_garbage():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in {"./Dockerfile": b"FROM x", "src/a.R": b"1"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert build.read_context(buffer.getvalue()) == {"Dockerfile": b"FROM x", "src/a.R": b"1"}
    with pytest.raises(build.ContextError):
        build.read_context(b"\x1f\x8bnot really gzip")


def test_the_docker_context_rdeploy_renders_for_the_default_spec_builds():
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import default_spec

    rendered = render(default_spec(), registry=LOGIN)
    result = plan("", files=rendered.docker_context(), image_names=[rendered.image_name])
    assert result.succeeded, log_text(result)
    assert result.image["entrypoint_reset"] is True and result.image["start_script"] == "start_plumber.R"
    assert "carrier" in result.image["r_packages"]
