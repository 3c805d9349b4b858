"""The footer of every screen. Every key must stay visible at 80x24 (issue 14: there the endpoints list
lost "New deploy" and "Quit", the scoring screen "Quit"): compact (one space less around each key), and
when a screen's keys still do not fit in one row, two rows. The palette's key is not shown: F1 lists it."""

from __future__ import annotations

import math
from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the footer's own key widget: its text decides the width


class KeysFooter(Footer):
    DEFAULT_CSS = """
    KeysFooter { padding-left: 1; }
    KeysFooter.-two-rows { layout: grid; height: 2; grid-columns: auto; grid-rows: 1; grid-gutter: 0 1; }
    KeysFooter.-two-rows FooterKey { margin: 0; }
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        # F3 (the palette) is listed by F1's help screen; on the footer its 13 columns cut other keys at 80x24.
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)

    def compose(self) -> ComposeResult:
        # Our own keys, not Footer.compose: Textual's binds each key to the footer's `compact` (data_bind), and the
        # footer keeps every binding it ever made, so each bindings change (every refresh_bindings recomposes the
        # footer) left ~45 KB of dead keys behind (measured: 300 refreshes, +13 MiB). Ours is always compact and has
        # no binding groups, so the key is told once.
        if self._bindings_ready:
            shown: dict[str, tuple[Binding, bool, str]] = {}
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
                if binding.show:
                    shown.setdefault(binding.action, (binding, enabled, tooltip))  # one key per action, as Footer
            for binding, enabled, tooltip in shown.values():
                key = FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                )
                key.compact = self.compact
                yield key
        self.call_after_refresh(self._fit)  # the keys were just (re)composed

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        keys = [k for k in self.query(FooterKey) if not k.has_class("-command-palette")]
        palette = sum(k.outer_size.width for k in self.query(FooterKey) if k.has_class("-command-palette"))
        # A compact key is "KEY DESCRIPTION" and a space after it.
        needed = sum(cell_len(k.key_display) + 1 + cell_len(k.description) + 1 for k in keys)
        two_rows = bool(keys) and needed > self.size.width - palette
        if two_rows:
            self.styles.grid_size_columns = math.ceil(len(keys) / 2)
        self.set_class(two_rows, "-two-rows")
