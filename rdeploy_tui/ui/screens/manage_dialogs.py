"""Dialogs of the management screen: editing a traffic split (whole percentages adding up to 100, the
message at the field being edited) and deleting an endpoint only after its name is typed back."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from rdeploy_tui.spec.traffic import traffic_problem
from rdeploy_tui.ui.widgets.field import Check, Field, to_int


def _share(value: int) -> str | None:
    return None if 0 <= value <= 100 else "from 0 to 100"


class TrafficDialog(ModalScreen[dict[str, int] | None]):
    """One field per deployment; Save only when the split adds up to 100. Dismisses with the split or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="traffic.cancel")]

    def __init__(self, endpoint: str, deployments: list[str], traffic: dict[str, int]) -> None:
        super().__init__(classes="dialog-screen")
        self.endpoint = endpoint
        self.deployments = list(deployments)
        self.traffic = {d: int(traffic.get(d, 0)) for d in self.deployments}
        self.last_edited: str | None = None  # the field that shows the sum message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Traffic of {self.endpoint}", classes="dialog-title", markup=False)
            yield Static("Whole percentages per deployment, adding up to 100.", classes="dialog-text", markup=False)
            for i, name in enumerate(self.deployments):
                yield Field(
                    f"{name} (%)",
                    str(self.traffic[name]),
                    convert=to_int("traffic"),
                    checks=[_share, self._sum_check(name)],
                    id=f"share-{i}",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def _sum_check(self, name: str) -> Check:
        def check(_value: int) -> str | None:
            if name != self.last_edited:
                return None
            split = self.split()
            return traffic_problem(split) if split is not None else None

        return check

    def fields(self) -> list[Field]:
        return list(self.query(Field))

    def split(self) -> dict[str, int] | None:
        """The split typed so far, or None while a field holds no whole number."""
        values: dict[str, int] = {}
        for name, field in zip(self.deployments, self.fields(), strict=True):
            try:
                values[name] = field.value
            except ValueError:
                return None
        return values

    def on_mount(self) -> None:
        self.fields()[0].input.focus()

    @on(Field.Checked)
    def _checked(self, event: Field.Checked) -> None:
        index = self.fields().index(event.field)
        name = self.deployments[index]
        if event.field.input.has_focus and name != self.last_edited:
            previous, self.last_edited = self.last_edited, name
            for other, field in zip(self.deployments, self.fields(), strict=True):
                if other == previous:
                    field.check()  # its sum message moves to the field now edited
            event.field.check()
            return
        self._update_save()

    def problem(self) -> str | None:
        errors = [f.error for f in self.fields() if f.error]
        if errors:
            return errors[0]
        split = self.split()
        return traffic_problem(split) if split is not None else "each share must be a whole number"

    def _update_save(self) -> None:
        self.query_one("#save", Button).disabled = self.problem() is not None

    @on(Button.Pressed, "#save")
    def save(self) -> None:
        problem = self.problem()
        if problem:
            # Say it at the field being edited (or the first one).
            target = self.last_edited or self.deployments[0]
            self.last_edited = target
            self.fields()[self.deployments.index(target)].check()
            return
        self.dismiss(self.split())

    def on_input_submitted(self) -> None:
        """Enter in a share saves (when the split adds up; otherwise it says why at the field)."""
        self.save()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TypeNameDialog(ModalScreen[bool]):
    """Delete an endpoint: its name must be typed back exactly. Dismisses True to delete, False to keep."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="delete.cancel")]

    def __init__(self, endpoint: str, deployments: list[str]) -> None:
        super().__init__(classes="dialog-screen")
        self.endpoint = endpoint
        self.deployments = deployments

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Static(f"Delete endpoint {self.endpoint}?", classes="dialog-title", markup=False)
            what = (
                f"Its deployments ({', '.join(self.deployments)}) are deleted with it and stop billing."
                if self.deployments
                else "It has no deployments."
            )
            yield Static(
                f"{what} This cannot be undone, and its name may not be reusable at once.",
                classes="dialog-text",
                markup=False,
            )
            yield Label("Type the endpoint's name to confirm", classes="field-label")
            yield Input(placeholder=self.endpoint, id="confirm-name")
            yield Static("", id="confirm-message", classes="field-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep", id="cancel")
                yield Button("Delete endpoint", id="delete", variant="error")

    def on_mount(self) -> None:
        self.query_one("#confirm-name", Input).focus()

    def on_input_changed(self) -> None:
        self.query_one("#confirm-message", Static).update("")  # the complaint was about the previous text
        self.query_one("#confirm-name", Input).remove_class("-invalid")

    @on(Button.Pressed, "#delete")
    def confirm(self) -> None:
        field = self.query_one("#confirm-name", Input)
        if field.value != self.endpoint:
            # Wrong name: say so at the field; nothing is deleted.
            typed = f"{field.value!r} is not the endpoint's name" if field.value else "nothing typed"
            self.query_one("#confirm-message", Static).update(f"{typed}: type {self.endpoint} exactly to delete it")
            field.add_class("-invalid")
            field.focus()
            return
        self.dismiss(True)

    def on_input_submitted(self) -> None:
        self.confirm()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
