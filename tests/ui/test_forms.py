"""Each form refuses invalid input: Next stays blocked and the message is shown at the field."""

from __future__ import annotations

from textual.widgets import Button, OptionList, Select, Static, TextArea
from ui_helpers import make_app, started

from rdeploy_tui.deploy_folder.render import ALWAYS_INSTALLED
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.endpoint import EndpointScreen
from rdeploy_tui.ui.screens.packages import PackagesScreen
from rdeploy_tui.ui.screens.review import ReviewScreen
from rdeploy_tui.ui.screens.script import ScriptScreen
from rdeploy_tui.ui.widgets.code_view import CodeView
from rdeploy_tui.ui.widgets.field import Field


def field_message(screen, field_id: str) -> str:
    return str(screen.query_one(f"#{field_id} .field-message", Static).render())


def next_blocked(screen) -> bool:
    return screen.query_one("#next", Button).disabled


async def set_field(pilot, screen, field_id: str, text: str) -> None:
    screen.query_one(f"#{field_id}", Field).input.value = text  # long values set directly, not typed
    await pilot.pause()


async def test_packages_refuses_bad_names_duplicates_and_carrier():
    spec = default_spec()
    spec.image.r_packages = ["forecast"]
    app = make_app("packages", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert isinstance(screen, PackagesScreen)
        assert not next_blocked(screen)
        for bad, says in [
            ("gg plot", "not valid"),
            ("stats", "ships with R itself"),
            ("Forecast", "already in the list"),
            ("carrier", "always included"),
            ("pkg$(rm -rf /)", "not valid"),
        ]:
            await set_field(pilot, screen, "package", bad)
            assert says in field_message(screen, "package"), bad
            assert next_blocked(screen), bad
            await pilot.press("enter")  # Enter does not add a refused name
            assert screen.packages == ["forecast"], bad
        await set_field(pilot, screen, "package", "")
        assert not next_blocked(screen)
        # A valid name is added with Enter; carrier stays first and cannot be removed.
        screen.query_one("#package", Field).input.focus()
        await set_field(pilot, screen, "package", "zoo")
        await pilot.press("enter")
        assert screen.packages == ["forecast", "zoo"]
        options = screen.query_one("#package-list", OptionList)
        assert options.get_option_at_index(0).disabled
        options.focus()
        options.highlighted = 0
        await pilot.press("ctrl+d")
        assert screen.packages == ["forecast", "zoo"]
        options.highlighted = len(ALWAYS_INSTALLED)  # the first of yours, after plumber and carrier
        await pilot.press("ctrl+d")
        assert screen.packages == ["zoo"]
        await pilot.press("f2")
        assert app.state.spec.image.r_packages == ["zoo"]
        assert isinstance(app.screen, ScriptScreen)


async def test_packages_edit_in_place():
    spec = default_spec()
    spec.image.r_packages = ["forcast", "zoo"]
    app = make_app("packages", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        options = screen.query_one("#package-list", OptionList)
        options.focus()
        options.highlighted = len(ALWAYS_INSTALLED)  # the first of yours, after plumber and carrier
        await pilot.press("enter")  # edit the highlighted package
        assert screen.query_one("#package", Field).text == "forcast"
        await set_field(pilot, screen, "package", "zoo")
        assert "already in the list" in field_message(screen, "package")
        await set_field(pilot, screen, "package", "forecast")
        await pilot.press("enter")
        assert screen.packages == ["forecast", "zoo"]


async def test_script_refuses_bad_json_and_missing_file():
    app = make_app("script")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert isinstance(screen, ScriptScreen)
        editor = screen.query_one(
            "#sample-request", TextArea
        )  # mounting the JSON editor is itself the tree-sitter check
        assert editor.language == "json"
        assert not next_blocked(screen)
        editor.text = '{"forecast_horizon": [2'
        await pilot.pause()
        assert "not valid JSON" in str(screen.query_one("#request-message", Static).render())
        assert next_blocked(screen)
        editor.text = "[1, 2]"
        await pilot.pause()
        assert "must be a JSON object" in str(screen.query_one("#request-message", Static).render())
        assert next_blocked(screen)
        editor.text = '{"forecast_horizon": [3]}'
        await pilot.pause()
        assert not next_blocked(screen)
        # Own script: the path must name an existing .R file.
        screen.query_one("#own").value = True
        await pilot.pause()
        await set_field(pilot, screen, "script-path", "nope.R")
        assert "does not exist" in field_message(screen, "script-path")
        assert next_blocked(screen)
        await set_field(pilot, screen, "script-path", "my_plumber.txt")
        assert "not allowed" in field_message(screen, "script-path")
        await set_field(pilot, screen, "script-path", "my_plumber.R")
        assert field_message(screen, "script-path") == ""
        assert "A user's own scoring script" in screen.query_one("#preview", CodeView).text
        await pilot.press("f2")
        assert app.state.spec.scoring.script == "my_plumber.R"
        assert app.state.spec.scoring.sample_request == {"forecast_horizon": [3]}


async def test_endpoint_refuses_bad_names_counts_and_traffic():
    app = make_app("endpoint")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert isinstance(screen, EndpointScreen)
        assert not next_blocked(screen)
        cases = [
            ("endpoint-name", "1-starts-with-digit", "starting with a letter"),
            ("endpoint-name", "ab", "3-32 characters"),
            ("endpoint-name", "x" * 40, "3-32 characters"),
            ("deployment-name", "blue_1", "not allowed"),
            ("instance-count", "0", "out of range"),
            ("instance-count", "two", "whole number"),
            ("instance-count", "51", "out of range"),
            ("traffic", "101", "out of range"),
            ("traffic", "-1", "out of range"),
        ]
        for field_id, text, says in cases:
            original = screen.query_one(f"#{field_id}", Field).text
            await set_field(pilot, screen, field_id, text)
            assert says in field_message(screen, field_id), (field_id, text)
            assert next_blocked(screen), (field_id, text)
            await pilot.press("f2")
            assert app.screen is screen  # refused: still here
            await set_field(pilot, screen, field_id, original)
            assert not next_blocked(screen)
        # Small instance types are allowed with a warning next to the picker.
        screen.query_one("#instance-type", Select).value = "Standard_DS1_v2"
        await pilot.pause()
        assert "smaller than Azure recommends" in str(screen.query_one("#instance-warning", Static).render())
        assert not next_blocked(screen)
        await set_field(pilot, screen, "endpoint-name", "my-endpoint")
        await set_field(pilot, screen, "instance-count", "3")
        await pilot.press("f2")
        spec = app.state.spec
        assert (spec.endpoint.name, spec.deployment.instance_count, spec.deployment.instance_type) == (
            "my-endpoint",
            3,
            "Standard_DS1_v2",
        )
        assert isinstance(app.screen, ReviewScreen)


async def test_endpoint_name_checked_against_existing_endpoints():
    from rdeploy_tui.azure.online import DeploymentInfo, EndpointInfo

    existing = EndpointInfo(
        "r-endpoint-forecast",
        "Succeeded",
        "key",
        "https://x/score",
        {"blue": 100},
        deployments=(DeploymentInfo("blue", "Succeeded", "Standard_DS3_v2", 1, None, None),),
    )
    app = make_app("endpoint", endpoints={existing.name: existing})
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert "exists" in field_message(screen, "endpoint-name")
        assert "updated in place" in field_message(screen, "deployment-name")
        await set_field(pilot, screen, "deployment-name", "green")
        assert field_message(screen, "deployment-name") == ""
        await set_field(pilot, screen, "endpoint-name", "another-one")
        assert field_message(screen, "endpoint-name") == ""


async def test_review_blocks_deploy_when_the_spec_has_errors(tmp_path):
    spec = default_spec()
    spec.model.name = "bad name!"  # e.g. a hand-edited last-run spec
    app = make_app("review", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert next_blocked(screen)
        assert "model name" in str(screen.query_one("#nav-status", Static).render())
        await pilot.press("f2")
        assert app.screen is screen


async def test_review_writes_the_folder(tmp_path):
    app = make_app("review")
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = app.screen
        await set_field(pilot, screen, "out-dir", str(tmp_path / "out"))
        await pilot.click("#write")
        written = sorted(
            p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()
        )
        assert written == sorted(
            [
                "docker-context/Dockerfile",
                "docker-context/install_packages.R",
                "docker-context/start_plumber.R",
                "src/plumber.R",
                "src/rdeploy_model.R",
                "endpoint.yml",
                "deployment.yml",
                "sample-request.json",
                "rdeploy.yaml",
            ]
        )
        assert "Wrote 9 files" in str(screen.query_one("#write-result", Static).render())
