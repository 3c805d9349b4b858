"""The footer lists the screen's keys again on each bindings change, and keeps none of the keys it replaced (a scoring
screen left sending refreshes them with every answer)."""

from __future__ import annotations

import gc
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from rdeploy_tui.ui.widgets.footer import KeysFooter


class OneScreen(App):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("f2", "next", "Next"),
        Binding("f4", "toggle", "Table/JSON"),
        Binding("f9", "send", "Send"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeysFooter()


def live_keys() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


async def test_bindings_refreshed_many_times_leave_only_the_keys_shown():
    app = OneScreen()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = [k.description for k in app.query(FooterKey)]
        assert {"Next", "Table/JSON", "Send"} <= set(shown)
        before = live_keys()  # (other tests' apps may still hold theirs: only what this one adds counts)
        for _ in range(100):
            app.screen.refresh_bindings()
            await pilot.pause()
        assert [k.description for k in app.query(FooterKey)] == shown
        assert live_keys() - before <= len(shown)  # at most one set being replaced, not 100 sets
