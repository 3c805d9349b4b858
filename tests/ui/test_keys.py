"""Keys in the app: F1 help over any screen, the command palette (F3) listing the screen's actions,
the user's keymap.yaml applied (bad entries said, not fatal), Tab leaving the JSON editors, and Esc
leaving the scoring screen in one press."""

from __future__ import annotations

import time

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Button, Input, Static, TextArea
from ui_helpers import SIZES, RecordedRun, deploy_outcome, make_app, toasts

from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui.palette import ScreenActionsProvider
from rdeploy_tui.ui.screens.deploy import DeployScreen
from rdeploy_tui.ui.screens.help import HelpScreen
from rdeploy_tui.ui.screens.scoring import ScoringScreen


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "the UI"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; top screen: {pilot.app.screen!r}")
        await pilot.pause(0.02)


def _actions(help_screen: HelpScreen) -> dict[str, list[str]]:
    return {a.binding_id or a.action: a.keys for a in help_screen.actions}


async def test_f1_shows_every_key_of_the_screen_and_esc_closes_it():
    app = make_app("packages")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        packages = app.screen
        # The package field has the focus: its own ctrl+d (delete right) wins while it does, so the
        # help lists what works now; with the list focused, Remove's ctrl+d does.
        packages.query_one("#package-list").focus()
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        keys = _actions(app.screen)
        assert keys["next"] == ["f2", "alt+n"]
        assert keys["back"] == ["escape"]
        assert keys["quit"] == ["f10", "ctrl+q"]
        assert keys["packages.remove"][0] == "ctrl+d"
        table = app.screen.query_one("#help-keys", Static).render()
        assert table is not None
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is packages, what="the help screen to close")


async def test_question_mark_opens_help_where_no_input_has_focus():
    app = make_app("packages")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        app.screen.set_focus(None)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")


async def test_palette_lists_the_screen_actions_with_keys_and_runs_one():
    app = make_app("packages")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        app.screen.query_one("#package-list").focus()
        await pilot.pause()
        provider = ScreenActionsProvider(app.screen)
        texts = [hit.text async for hit in provider.discover()]
        assert "Next (F2 / alt+n)" in texts and "Quit (F10 / ^q)" in texts
        assert any(t.startswith("Remove (") for t in texts), texts
        assert not any("Commands" in t for t in texts)  # the palette does not list itself
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"next")
        hits = app.screen.query_one(CommandList)
        await wait_for(
            pilot,
            lambda: any("Next (F2" in str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)),
            what="the Next hit",
        )
        index = next(i for i in range(hits.option_count) if "Next (F2" in str(hits.get_option_at_index(i).prompt))
        hits.highlighted = index
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "script", what="Next run from the palette")


async def test_keymap_file_rebinds_and_reports_bad_entries(rdeploy_home):
    rdeploy_home.mkdir(parents=True, exist_ok=True)
    (rdeploy_home / "keymap.yaml").write_text(
        "next: f6\nnosuch: f7\nback: ctrl+nokey\npackages.edit: ctrl+d\n", encoding="utf-8"
    )
    app = make_app("packages")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.user_keymap is not None, what="the keymap")
        assert app.user_keymap.keymap == {"next": "f6", "packages.edit": "ctrl+d"}
        assert len(app.user_keymap.problems) == 3
        await wait_for(pilot, lambda: "Keymap keymap.yaml: check these entries" in toasts(app), what="the toast")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        assert _actions(app.screen)["next"] == ["f6"]
        note = str(app.screen.query_one("#help-keymap", Static).render())
        assert "Yours: next = f6" in note and "Left out: nosuch" in note
        assert "ctrl+d: bound to both Edit and Remove on PackagesScreen" in note
        await pilot.press("escape")
        await pilot.press("f2")  # no longer Next
        await pilot.pause(0.2)
        assert getattr(app.screen, "STEP", None) == "packages"
        await pilot.press("f6")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "script", what="Next on the user's key")


async def test_tab_leaves_the_sample_request_editor_and_reaches_test_locally():
    app = make_app("script")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        editor = app.screen.query_one("#sample-request", TextArea)
        editor.focus()
        before = editor.text
        await pilot.press("tab")
        assert isinstance(app.focused, Input) and app.focused.id == "model-dir"
        await pilot.press("tab")
        assert isinstance(app.focused, Button) and app.focused.id == "test-local"
        assert editor.text == before  # no indentation typed into the JSON


async def test_esc_leaves_the_scoring_screen_in_one_press_from_the_editor():
    screen = ScoringScreen(autostart=False, resolver=lambda: ScoringTarget("http://127.0.0.1:9/score", "k"))
    deployed = DeployScreen(run=RecordedRun([], deploy_outcome()))
    app = make_app("score", screens={"score": screen, "deploy": deployed})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        assert app.focused is screen.panel.editor
        await pilot.press("tab")
        assert app.focused is not screen.panel.editor  # Tab moved on
        screen.panel.editor.focus()
        await pilot.press("escape")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "deploy", what="Back in one press")


@pytest.mark.parametrize("size", SIZES)
def test_help_screen_snapshot(snap_compare, size, monkeypatch):
    monkeypatch.setenv("RDEPLOY_HOME", "/home/user/.config/rdeploy-tui")  # the path it shows; never created

    async def open_help(pilot):
        await wait_for(pilot, lambda: pilot.app.settled, what="the first screen")
        pilot.app.screen.query_one("#package-list").focus()
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="the help screen")
        await pilot.pause()

    assert snap_compare(make_app("packages"), terminal_size=size, run_before=open_help)


async def test_esc_closes_the_management_scoring_screen_in_one_press_from_the_editor():
    from test_manage_snapshots import ENDPOINTS, FixedSource

    from rdeploy_tui.ui.screens.manage_scoring import ManageScoringScreen

    app = make_app("score", screens={"score": ScoringScreen(autostart=False)})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        below = app.screen
        scoring = ManageScoringScreen(FixedSource(), ENDPOINTS[0])
        app.push_screen(scoring)
        await wait_for(
            pilot,
            lambda: app.screen is scoring and isinstance(app.focused, TextArea) and app.focused.id == "request-editor",
            what="the editor",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is below, what="Esc to close the scoring screen")


async def test_format_json_lays_out_the_request_from_the_editor_and_is_listed_in_help():
    """Tab moves on from the request editor, so formatting has its own key (alt+j, which arrives through xterm.js).
    Pretty-prints with a 2-space indent, undoable; text that is not JSON is left alone, the problem said."""
    screen = ScoringScreen(autostart=False, resolver=lambda: ScoringTarget("http://127.0.0.1:9/score", "k"))
    app = make_app("score", screens={"score": screen})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settled, what="the first screen")
        editor = screen.panel.editor
        assert app.focused is editor
        editor.load_text('{"x": [1, 2],\n"y": {"a": "ä"}}')
        await pilot.press("alt+j")
        await wait_for(pilot, lambda: editor.text != '{"x": [1, 2],\n"y": {"a": "ä"}}', what="the formatted request")
        assert editor.text == '{\n  "x": [\n    1,\n    2\n  ],\n  "y": {\n    "a": "ä"\n  }\n}'
        assert app.focused is editor
        await pilot.press("ctrl+z")  # one undo brings the text back
        await wait_for(pilot, lambda: editor.text == '{"x": [1, 2],\n"y": {"a": "ä"}}', what="the undo")
        editor.load_text('{"x":1}')
        screen.query_one("#send").focus()  # from elsewhere on the Request tab too
        await pilot.press("alt+j")
        await wait_for(pilot, lambda: editor.text == '{\n  "x": 1\n}', what="alt+j from the Send button")
        broken = '{"x": 1,,}'
        editor.load_text(broken)
        await pilot.press("alt+j")
        await wait_for(
            pilot,
            lambda: "not valid JSON" in str(screen.panel.query_one("#request-problem", Static).render()),
            what="the problem under the editor",
        )
        assert editor.text == broken
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        assert _actions(app.screen)["scoring.format_request"] == ["alt+j"]
        assert [a.description for a in app.screen.actions if a.binding_id == "scoring.format_request"] == [
            "Format JSON"
        ]
