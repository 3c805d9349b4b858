"""The sandbox's docker-build simulation: Dockerfile reading and what a build prints and produces (no server)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from rdeploy_tui.sandbox import build, container, dockerfile
from rdeploy_tui.sandbox.cran import Cran

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "acrsandbox.azurecr.io"


def our_context(packages: tuple[str, ...] = ("forecast",), base: str = "rstudio/plumber:v1.3.0") -> dict[str, bytes]:
    """The docker context rdeploy-tui generates (Dockerfile, install_packages.R, start_plumber.R)."""
    from rdeploy_tui.deploy_folder.render import render
    from rdeploy_tui.spec.deploy_spec import DeploySpec

    spec = DeploySpec()
    spec.image.r_packages = list(packages)
    spec.image.base = base
    return render(spec).docker_context()


def our_plan(
    packages: tuple[str, ...] = ("forecast",), base: str = "rstudio/plumber:v1.3.0", edit=None, **kwargs
) -> build.BuildPlan:
    files = our_context(packages, base)
    if edit is not None:
        files["Dockerfile"] = edit(files["Dockerfile"].decode()).encode()
    return plan("", files=files, **kwargs)


MICROSOFT_HOWTO = """FROM rstudio/plumber:latest
RUN R -e "install.packages(c('forecast','carrier'))"
COPY start_plumber.R /tmp/start_plumber.R
ENTRYPOINT []
CMD ["Rscript", "/tmp/start_plumber.R"]
"""


def plan(text: str, *, files: dict[str, bytes] | None = None, cran: Cran | None = None, **kwargs) -> build.BuildPlan:
    context = (
        {"Dockerfile": text.encode(), "start_plumber.R": b"pr <- plumber::plumb('x')\n"} if files is None else files
    )
    return build.plan_build(
        run_id="ca1",
        files=context,
        dockerfile_path=kwargs.pop("dockerfile_path", "Dockerfile"),
        image_names=kwargs.pop("image_names", ["r-model:1"]),
        push=True,
        login_server=LOGIN,
        cran=cran or Cran(),
        **kwargs,
    )


def log_text(result: build.BuildPlan) -> str:
    return "\n".join(line for chunk in result.chunks for line in chunk.lines)


# ----- reading Dockerfiles ---------------------------------------------------------------------------
def test_parse_joins_continuations_and_drops_comments():
    instructions = dockerfile.parse('# c\nFROM a:1\n\nRUN echo 1 \\\n  # inner comment\n  && echo 2\ncmd ["x"]\n')
    assert [(i.line, i.keyword) for i in instructions] == [(2, "FROM"), (4, "RUN"), (7, "CMD")]
    assert instructions[1].args == "echo 1 && echo 2"


@pytest.mark.parametrize(
    "run, packages, checked",
    [
        ("""R -e "install.packages(c('forecast','carrier'))\"""", ("forecast", "carrier"), False),
        ("""Rscript -e 'install.packages("xgboost", repos = "https://cloud.r-project.org")'""", ("xgboost",), False),
        (
            """["Rscript", "-e", "install.packages(pkgs = c('a', 'b')); if (!requireNamespace('a')) stop('no a')"]""",
            ("a", "b"),
            True,
        ),
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


def test_our_install_script_is_read_as_pak_with_a_load_check():
    script = our_context(("forecast",))["install_packages.R"].decode()
    assert dockerfile.rscript_file("Rscript /tmp/install_packages.R") == "/tmp/install_packages.R"
    install = dockerfile.r_install("Rscript /tmp/install_packages.R", script)
    assert install.tool == "pak" and install.checked and install.load_checked
    assert install.packages == ("pak", "plumber", "carrier", "forecast")
    assert install.load_failure_text == "rdeploy: R packages that do not load: "


# ----- builds ----------------------------------------------------------------------------------------
def test_our_dockerfile_builds_and_describes_the_image():
    result = our_plan()
    text = log_text(result)
    assert result.succeeded, text
    assert (
        "Step 1/7 : FROM ${BASE}" in text
        and "v1.3.0: Pulling from rstudio/plumber" in text
        and "Step 7/7 : CMD" in text
    )
    assert "✔ Installed carrier" in text and "✔ Installed forecast" in text and "Installed plumber" not in text
    assert f"Successfully tagged {LOGIN}/r-model:1" in text and "Pushing image" in text
    assert [(ref.repository, ref.tag) for ref in result.images] == [("r-model", "1")]
    assert result.image["start_script"] == "start_plumber.R"
    assert result.image["container"]["entrypoint"] is None  # ENTRYPOINT [] cleared rstudio/plumber's
    assert result.image["r_packages"] == ["carrier", "forecast", "plumber"]
    assert result.image["plumber"] is True and result.image["r_version"] == "4.6.1"
    assert container.ContainerConfig.from_metadata(result.image["container"]).argv() == [
        "Rscript",
        "/tmp/start_plumber.R",
    ]
    assert result.push_at is not None and build.DIGEST in "\n".join(result.chunks[result.push_at].lines)


def test_the_microsoft_howto_dockerfile_builds():
    result = plan(MICROSOFT_HOWTO)
    assert result.succeeded and result.image["r_packages"] == ["carrier", "forecast"]
    assert "> install.packages(c('forecast','carrier'))" in log_text(result)  # R -e echoes the code


def test_a_package_cran_does_not_have_fails_our_build_with_paks_message():
    result = our_plan(("notapkg",))
    text = log_text(result)
    assert not result.succeeded
    assert "* notapkg: Can't find package called notapkg." in text
    assert "returned a non-zero code: 1" in text and "failed to run step ID: build: exit status 1" in text
    assert not result.images


def test_an_unchecked_failed_install_still_builds_and_the_image_says_what_is_missing():
    result = plan(MICROSOFT_HOWTO.replace("'forecast'", "'notapkg'"))
    assert result.succeeded
    assert "package ‘notapkg’ is not available" in log_text(result)
    assert result.image["r_packages_missing"] == ["notapkg"]


def test_cran_knobs_make_names_installable_or_not():
    assert our_plan(("mycorp.models",), cran=Cran(extra=frozenset({"mycorp.models"}))).succeeded
    assert not our_plan(("forecast",), cran=Cran(unavailable=frozenset({"forecast"}))).succeeded


def test_without_entrypoint_reset_the_image_runs_plumbers_entrypoint_with_cmd_as_its_arguments():
    result = our_plan(edit=lambda text: text.replace("ENTRYPOINT []", ""))
    assert result.succeeded
    assert "ENTRYPOINT []" in log_text(result)  # the sandbox's note says what the container will run
    argv = container.ContainerConfig.from_metadata(result.image["container"]).argv()
    assert argv == [*build.PLUMBER_BASE_ENTRYPOINT, "Rscript", "/tmp/start_plumber.R"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ('RUN echo hi\nCMD ["x"]\n', "No build stage in current context"),
        ("", "cannot be empty"),
        ("FROM rstudio/plumber\nINSTAL x\n", "dockerfile parse error line 2: unknown instruction: INSTAL"),
        (
            "FROM rstudio/plumber\nCOPY plumber.R /app/\n",
            "COPY failed: file not found in build context or excluded by .dockerignore: stat plumber.R: file does not "
            "exist",
        ),
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
    text = log_text(result := our_plan(fail_build=True))
    assert not result.succeeded
    assert "Failed to build source package carrier" in text
    text = log_text(
        result := plan(
            MICROSOFT_HOWTO.replace('"install', "\"pkgs <- c('forecast'); install").replace(
                "'))", "')); if (!all(pkgs %in% rownames(installed.packages()))) quit(status = 1)"
            ),
            fail_build=True,
        )
    )
    assert not result.succeeded and "ERROR: compilation failed for package ‘forecast’" in text


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
    assert result.image["container"]["entrypoint"] is None and result.image["start_script"] == "start_plumber.R"
    assert "carrier" in result.image["r_packages"]


# ----- base images (spec/base_images.py), Docker Hub's limit, system libraries --------------------------
@pytest.mark.parametrize(
    "base, reason",
    [
        ("rocker/r-ver:9.9.9", "manifest for rocker/r-ver:9.9.9 not found: manifest unknown: manifest unknown"),
        (
            "rstudio/plumbr:v1.3.0",
            "pull access denied for rstudio/plumbr, repository does not exist or may require 'docker login'",
        ),
    ],
)
def test_an_unknown_base_image_fails_the_pull_with_dockers_words(base, reason):
    result = our_plan(base=base)
    text = log_text(result)
    assert not result.succeeded and reason in text and "Step 1/7 : FROM ${BASE}" in text
    assert "failed to run step ID: build: exit status 1" in text


def test_the_docker_hub_limit_fails_pulls_from_docker_hub_but_not_from_the_workspace_copy():
    limited = our_plan(dockerhub_limited=lambda: True)
    assert not limited.succeeded and "toomanyrequests: You have reached your pull rate limit" in log_text(limited)
    copy = f"{LOGIN}/base/rstudio/plumber:v1.3.0"
    from rdeploy_tui.spec import base_images

    holds = build.base_record(base_images.lookup("rstudio/plumber:v1.3.0"))
    from_copy = our_plan(
        dockerhub_limited=lambda: True,
        build_args={"BASE": copy},
        registry_image=lambda ref: holds if ref == copy else None,
    )
    assert from_copy.succeeded, log_text(from_copy)
    assert f"Status: Downloaded newer image for {copy}" in log_text(from_copy)
    assert from_copy.image["plumber"] is True and from_copy.image["container"]["entrypoint"] is None
    missing = our_plan(build_args={"BASE": copy})
    assert f'manifest for {copy} not found: manifest unknown: manifest tagged by "v1.3.0" is not found' in log_text(
        missing
    )


def test_a_base_without_plumber_gets_it_from_our_build_but_not_from_the_howto():
    ours = our_plan(base="rocker/r-ver:4.4.1")
    assert ours.succeeded and "✔ Installed plumber" in log_text(ours) and ours.image["plumber"] is True
    assert ours.image["r_version"] == "4.4.1"
    howto = plan(MICROSOFT_HOWTO.replace("rstudio/plumber:latest", "rocker/r-ver:4.4.1"))
    assert howto.succeeded and howto.image["plumber"] is False  # builds; the deployment then cannot start


def test_pak_installs_system_libraries_so_sf_loads():
    result = our_plan(("sf",), base="rocker/r-ver:4.4.1")
    text = log_text(result)
    assert result.succeeded, text
    assert "apt-get -y install libgdal-dev libgeos-dev libproj-dev libudunits2-dev" in text
    assert result.image["r_packages_unloadable"] == {}


SF_HOWTO = """FROM rocker/r-ver:4.4.1
{apt}RUN R -e "install.packages(c('plumber', 'sf')){check}"
COPY start_plumber.R /tmp/start_plumber.R
CMD ["Rscript", "/tmp/start_plumber.R"]
"""


def test_a_binary_package_without_its_system_library_installs_but_does_not_load():
    checked = plan(SF_HOWTO.format(apt="", check="; if (!requireNamespace('sf')) quit(status = 1)"))
    text = log_text(checked)
    assert not checked.succeeded
    assert "sf: unable to load shared object '/usr/local/lib/R/site-library/sf/libs/sf.so':" in text
    assert "libgdal.so.34: cannot open shared object file" in text
    unchecked = plan(SF_HOWTO.format(apt="", check=""))
    assert unchecked.succeeded and "libgdal.so.34" in unchecked.image["r_packages_unloadable"]["sf"]
    apt = (
        "RUN apt-get update && apt-get install -y --no-install-recommends "
        "libgdal-dev libgeos-dev libproj-dev libudunits2-dev\n"
    )
    with_libraries = plan(SF_HOWTO.format(apt=apt, check="; if (!requireNamespace('sf')) quit(status = 1)"))
    assert with_libraries.succeeded and with_libraries.image["r_packages_unloadable"] == {}


def test_a_source_repository_fails_the_install_without_headers():
    result = plan(SF_HOWTO.format(apt="", check="").replace("rocker/r-ver:4.4.1", "r-base:latest"))
    assert "ERROR: configuration failed for package ‘sf’" in log_text(result)
    assert result.image["r_packages_missing"] == ["sf"]


def test_run_variables_in_image_names_are_expanded_as_acr_tasks_does():
    from rdeploy_tui.sandbox.build import expand_run_variables, parse_image_name

    name = expand_run_variables(
        "hello-world:{{.Run.ID}}", run_id="ca1", login_server="reg.azurecr.io", when="20260101-000000z", platform={}
    )
    assert name == "hello-world:ca1" and parse_image_name(name, "reg.azurecr.io").tag == "ca1"
    dated = expand_run_variables(
        "{{.Run.Registry}}/app:{{.Run.Date}}-{{.Run.OS}}",
        run_id="ca2",
        login_server="reg.azurecr.io",
        when="20260101-000000z",
        platform={"os": "Linux"},
    )
    assert dated == "reg.azurecr.io/app:20260101-000000z-linux"
