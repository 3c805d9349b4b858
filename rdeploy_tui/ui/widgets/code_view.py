"""Read-only file view with syntax highlighting (pygments via Rich: R and Dockerfile have no
tree-sitter grammar in textual[syntax], so TextArea cannot highlight them)."""

from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

# pygments lexer names by file suffix / name
_LEXERS = {".R": "r", ".r": "r", ".yml": "yaml", ".yaml": "yaml", ".json": "json", "Dockerfile": "docker"}


def lexer_for(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    if base in _LEXERS:
        return _LEXERS[base]
    suffix = "." + base.rsplit(".", 1)[-1] if "." in base else ""
    return _LEXERS.get(suffix, "text")


class CodeView(VerticalScroll, can_focus=True):
    """Scrollable, focusable (arrow keys scroll), highlighted text."""

    DEFAULT_CSS = """
    CodeView { height: 1fr; border: round $primary-darken-2; overflow-x: auto; }  /* code is not wrapped: scrolls */
    CodeView:focus { border: round $accent; }
    CodeView > Static { width: auto; }
    CodeView > Static.-prose { width: 1fr; }
    """

    def __init__(self, text: str = "", name_for_lexer: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text, self._lexer = text, lexer_for(name_for_lexer)

    @property
    def text(self) -> str:
        return self._text

    def compose(self) -> ComposeResult:
        yield Static(self._syntax(), classes="-prose" if self._lexer == "text" else "")

    def _syntax(self) -> Syntax:
        prose = self._lexer == "text"  # summaries: wrapped, no line numbers
        return Syntax(self._text, self._lexer, theme="monokai", line_numbers=not prose, word_wrap=prose)

    def show(self, text: str, name_for_lexer: str) -> None:
        self._text, self._lexer = text, lexer_for(name_for_lexer)
        static = self.query_one(Static)
        static.set_class(self._lexer == "text", "-prose")
        static.update(self._syntax())
        self.scroll_home(animate=False)
