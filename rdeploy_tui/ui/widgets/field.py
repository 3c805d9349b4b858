"""A labelled input that checks its value as it is typed and shows the message under itself.

Checks are the pure `check_*` functions of rules.py (message or None), so the form and the CLI
refuse exactly the same values. A `convert` turns the text into the value that is checked and
stored (e.g. int for counts); text that cannot be converted is refused with the convert's message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

Check = Callable[[Any], "str | None"]


class ConvertError(ValueError):
    """Raised by a convert function; its text is the message shown at the field."""


def to_int(what: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConvertError(f"{what} must be a whole number, got {text.strip()!r}") from None

    return convert


class Field(Vertical):
    """Label, Input, and one line for the error (red) or warning (yellow) about the current value."""

    DEFAULT_CSS = """
    Field { height: auto; }
    Field > .field-label { color: $text-muted; }
    Field > .field-message { height: auto; color: $error; }
    Field > .field-message.-warning { color: $warning; }
    Field > .field-message.-info { color: $text-muted; }
    """

    class Checked(Message):
        """Posted after every check, so the screen can block or unblock Next."""

        def __init__(self, field: Field) -> None:
            super().__init__()
            self.field = field

        @property
        def control(self) -> Field:
            return self.field

    def __init__(
        self,
        label: str,
        value: str = "",
        *,
        checks: Sequence[Check] = (),
        warn: Check | None = None,
        convert: Callable[[str], Any] | None = None,
        placeholder: str = "",
        id: str | None = None,
        max_length: int = 256,
    ) -> None:
        super().__init__(id=id)
        self.label = label
        self._initial = value
        self.checks = list(checks)
        self.warn = warn
        self.convert = convert or (lambda text: text.strip())
        self.placeholder = placeholder
        self.max_length = max_length
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield Input(
            self._initial,
            placeholder=self.placeholder,
            max_length=self.max_length,
            compact=True,
            id=f"{self.id}-input" if self.id else None,
        )
        yield Static("", classes="field-message", markup=False)

    def on_mount(self) -> None:
        self.check()

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def text(self) -> str:
        return self.input.value

    @property
    def value(self) -> Any:
        """The converted value; only meaningful when `error` is None."""
        return self.convert(self.input.value)

    def set_text(self, text: str) -> None:
        self.input.value = text  # Input.Changed follows, which re-checks

    def add_check(self, check: Check) -> None:
        self.checks.append(check)
        self.check()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check()

    def check(self) -> str | None:
        """Re-check the current text; show and return the error (None when valid)."""
        if not (self.query(".field-message") and self.query(Input)):  # being removed (app closing, screen discarded)
            return self.error
        message = self.query_one(".field-message", Static)
        warning = None
        try:
            value = self.convert(self.input.value)
            self.error = next((err for check in self.checks if (err := check(value))), None)
            if self.error is None and self.warn is not None:
                warning = self.warn(value)
        except ConvertError as exc:
            self.error = str(exc)
        message.set_class(self.error is None and warning is not None, "-warning")
        message.update(self.error or warning or "")
        self.input.set_class(self.error is not None, "-invalid")
        self.post_message(self.Checked(self))
        return self.error
