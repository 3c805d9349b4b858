"""Small modal dialogs reused everywhere: a yes/no question and an error with its next action."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with True (yes) or False (no, Esc). The focus (what Enter does) is on the safe answer: No, or Yes
    when `likely` says yes is both safe and what the user most likely wants (resume an interrupted run)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", "No", id="dialog.no"),
        Binding("y", "yes", "Yes", show=False, id="dialog.yes"),
        Binding("n", "no", "No", show=False, id="dialog.no_n"),
    ]

    def __init__(
        self, question: str, yes: str = "Yes", no: str = "No", *, danger: bool = False, likely: bool = False
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.yes_label, self.no_label, self.danger = yes, no, danger
        self.likely = likely and not danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.no_label, id="no")
                yield Button(self.yes_label, id="yes", variant="error" if self.danger else "primary")

    def on_mount(self) -> None:
        # The safe answer has the focus: Enter on a reflex never cancels a deployment.
        self.query_one("#yes" if self.likely else "#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class ErrorDialog(ModalScreen[None]):
    """What happened, what to do next, and the details that explain it: one scrollable body between the
    title and the button row, so Close stays on screen at 80x24 whatever the message (a 403's
    `az role assignment create ...` command and Azure's message fill more than 24 rows)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="error.close"),
        Binding("enter", "close", "Close", show=False, id="error.close_enter"),
    ]

    def __init__(
        self, what: str, next_step: str | None = None, details: str | None = None, title: str = "Error"
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.what, self.next_step, self.details, self.title_text = what, next_step, details, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.what, classes="dialog-text", markup=False)
                if self.next_step:
                    yield Static(f"Next: {self.next_step}", classes="dialog-next", markup=False)
                if self.details:
                    yield Static(self.details, classes="dialog-details", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
