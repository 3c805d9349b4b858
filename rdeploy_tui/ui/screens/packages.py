"""Step 4: the R packages installed in the image. carrier is always there and cannot be removed."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from rdeploy_tui.spec import package_names, rules
from rdeploy_tui.deploy_folder.render import ALWAYS_INSTALLED
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.field import Field


class PackagesScreen(WizardStep):
    STEP = 3
    AUTO_FOCUS = "#package-input"
    BINDINGS = [
        Binding("delete", "remove", "Remove", show=False, id="packages.remove_delete"),
        Binding("ctrl+d", "remove", "Remove", id="packages.remove"),
        Binding("ctrl+e", "edit", "Edit", id="packages.edit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.packages: list[str] = []
        self.from_model: set[str] = set()  # packages read from the crate ("used by the model")
        self.editing: int | None = None  # index in self.packages being edited in the field

    def compose_body(self) -> ComposeResult:
        yield Static(
            "Packages your model needs at scoring time; they are installed in the image and loaded once in the build. "
            "plumber (serves the API) and carrier (crates need it) are always included.",
            classes="hint",
        )
        yield OptionList(id="package-list")
        yield Field(
            "Add a package (Enter adds; select one in the list and press Enter to edit it)",
            checks=[self._check_new],
            warn=lambda name: package_names.offline_warning(name) if name else None,  # a likely typo; never blocks
            placeholder="e.g. forecast",
            id="package",
        )
        with Horizontal(classes="buttons"):
            yield Button("Add", id="add", compact=True)
            yield Button("Remove (ctrl+d)", id="remove", compact=True)
        with Horizontal(classes="buttons"):
            yield Input(placeholder="model folder with crate.bin: read the packages it uses", compact=True, id="crate-dir")
            yield Button("Read", id="read-crate", compact=True)
        yield Static("", id="crate-result", classes="hint", markup=False)

    def on_mount(self) -> None:
        # Only the valid part of a last-run list is taken over; base-R names and repeats are dropped.
        bad = {i for i, _ in rules.check_r_packages(self.spec.image.r_packages) if i is not None}
        carrier = {p.lower() for p in ALWAYS_INSTALLED}
        self.packages = [p for i, p in enumerate(self.spec.image.r_packages) if i not in bad and p.lower() not in carrier]
        self.refresh_list()
        super().on_mount()

    # -- checks ---------------------------------------------------------------------------------------
    def _check_new(self, name: str) -> str | None:
        if name == "":
            return None  # an empty field is fine: nothing to add
        if err := rules.check_r_package(name):
            return err
        if name.lower() in {p.lower() for p in ALWAYS_INSTALLED}:
            return f"{name} is always included; no need to add it"
        for i, existing in enumerate(self.packages):
            if existing.lower() == name.lower() and i != self.editing:
                return f"{existing} is already in the list (position {i + 2})"
        return None

    # -- list -----------------------------------------------------------------------------------------
    def refresh_list(self, highlight: int | None = None) -> None:
        options = self.query_one("#package-list", OptionList)
        options.clear_options()
        for name in ALWAYS_INSTALLED:
            options.add_option(Option(f"{name}  (always included)", id=f"fixed-{name}", disabled=True))
        for i, name in enumerate(self.packages):
            options.add_option(Option(f"{name}  (used by the model)" if name in self.from_model else name, id=f"pkg-{i}"))
        if highlight is not None and self.packages:
            options.highlighted = len(ALWAYS_INSTALLED) + min(highlight, len(self.packages) - 1)

    def _selected_index(self) -> int | None:
        options = self.query_one("#package-list", OptionList)
        if options.highlighted is None:
            return None
        index = options.highlighted - len(ALWAYS_INSTALLED)
        return index if 0 <= index < len(self.packages) else None

    # -- actions --------------------------------------------------------------------------------------
    @on(Input.Submitted, "#package-input")
    @on(Button.Pressed, "#add")
    def add_package(self) -> bool:
        """Add (or save the edit of) the typed name; False when it was refused."""
        field = self.query_one("#package", Field)
        name = field.value
        if field.check() or not name:
            return not name
        if self.editing is not None:
            self.packages[self.editing] = name
            where, self.editing = self.editing, None
        else:
            self.packages.append(name)
            where = len(self.packages) - 1
        field.set_text("")
        self.refresh_list(highlight=where)
        field.input.focus()
        return True

    @on(OptionList.OptionSelected, "#package-list")
    def action_edit(self) -> None:
        index = self._selected_index()
        if index is None:
            return
        self.editing = index
        field = self.query_one("#package", Field)
        field.set_text(self.packages[index])
        field.input.focus()

    @on(Button.Pressed, "#remove")
    def action_remove(self) -> None:
        index = self._selected_index()
        if index is None:
            self.notify("Highlight a package in the list first (carrier cannot be removed)", severity="warning")
            return
        removed = self.packages.pop(index)
        if self.editing == index:
            self.editing = None
            self.query_one("#package", Field).set_text("")
        self.refresh_list(highlight=index)
        self.notify(f"Removed {removed}")

    # -- packages read from the model's crate.bin (issue 13.4) -----------------------------------------
    @on(Input.Submitted, "#crate-dir")
    @on(Button.Pressed, "#read-crate")
    def _read_crate_pressed(self) -> None:
        typed = self.query_one("#crate-dir", Input).value.strip()
        if not typed:
            self.query_one("#crate-result", Static).update("Type the folder that holds the model's crate.bin.")
            return
        self.query_one("#read-crate", Button).disabled = True
        self.query_one("#crate-result", Static).update(f"Reading {typed} with R ...")
        self.read_crate(typed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="read-crate")
    def read_crate(self, typed: str) -> None:
        from pathlib import Path

        from rdeploy_tui.local.crate_packages import find_crate, read_crate_packages  # starts R: only when asked

        crate = find_crate(Path(typed).expanduser())
        result = read_crate_packages(crate) if crate is not None else None
        self.app.call_from_thread(self._crate_read, typed, result)

    def _crate_read(self, typed: str, result) -> None:
        self.query_one("#read-crate", Button).disabled = False
        status = self.query_one("#crate-result", Static)
        if result is None:
            status.update(f"No crate.bin under {typed}: the packages the model uses could not be read.")
            return
        if result.error:
            status.update(f"The packages the model uses could not be read: {result.error}")
            return
        fixed = {p.lower() for p in ALWAYS_INSTALLED}
        have = {p.lower() for p in self.packages}
        added = [p for p in result.packages if p.lower() not in fixed | have]
        self.packages += added
        self.from_model |= set(result.packages)
        self.refresh_list()
        used = ", ".join(result.packages) or "none beyond base R"
        status.update(f"The model uses: {used}" + (f"; added {', '.join(added)}." if added else "."))

    def worker_failed(self, worker: Worker) -> None:
        if worker.group == "read-crate":
            self.query_one("#read-crate", Button).disabled = False
            self.query_one("#crate-result", Static).update("Reading the crate failed: see the message.")

    # -- wizard ---------------------------------------------------------------------------------------
    def action_next(self) -> None:
        # A valid name typed but not yet added is what the user meant: add it instead of losing it.
        if self.query_one("#package", Field).text.strip() and not self.add_package():
            return super().action_next()  # refused: shows why
        super().action_next()

    def commit(self) -> None:
        self.spec.image.r_packages = list(self.packages)
