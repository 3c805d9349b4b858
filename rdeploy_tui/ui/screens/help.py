"""F1: every key of the screen below (its focused widget, the screen, the app), the keymap id to
override each with, and the user's keymap file with what was left out of it."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from rdeploy_tui.ui import keys
from rdeploy_tui.ui.host import WizardHost


class HelpScreen(ModalScreen[None]):
    app: WizardHost  # and a textual App
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen #help-dialog { width: 78; max-width: 100%; height: 100%; padding: 0 1;
                              border: round $primary; background: $surface; }
    HelpScreen #help-title { text-style: bold; height: 1; }
    HelpScreen #help-scroll { height: 1fr; }  /* what the title leaves (an auto height lost its last row) */
    HelpScreen #help-keys { height: auto; }
    HelpScreen .help-note { color: $text-muted; height: auto; margin-top: 1; }
    """

    def __init__(self, below: Screen) -> None:
        super().__init__()
        # The screen's own actions first, then the app's, then the focused widget's (scrolling, editing).
        rank = {below: 0, below.app: 1}
        self.actions = sorted(keys.screen_actions(below), key=lambda a: rank.get(a.node, 2))

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static("Keys of this screen (Esc closes)", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-keys")
                yield Static(self._keymap_note(), classes="help-note", markup=False, id="help-keymap")

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
        table.add_column("Keys", no_wrap=True)
        table.add_column("Action", ratio=1)
        table.add_column("Keymap id", style="dim", no_wrap=True)
        user = getattr(self.app.user_keymap, "keymap", {}) or {}
        for a in self.actions:
            label = " / ".join(keys.key_label(self.app, k) for k in a.keys)
            action = Text(a.description.strip())
            if a.binding_id in user:
                action.append("  (your keymap)", style="italic")
            if not a.enabled:
                action.stylize("dim")
            table.add_row(label, action, a.binding_id or "")
        return table

    def _keymap_note(self) -> str:
        loaded = self.app.user_keymap
        path = loaded.path if loaded is not None else keys.keymap_path()
        lines = [f"Change keys in {path}, e.g.  next: f4  or  send: [f9, alt+s]"]
        if loaded is not None:
            lines += [f"Yours: {k} = {v}" for k, v in loaded.keymap.items()]
            lines += [f"Left out: {p}" for p in loaded.problems]
        lines.append("F3 opens the command palette: every action above by name.")
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
