"""Step 4: the R packages installed in the image. The model kind's own (plumber, and carrier for a crate) are always
there and cannot be removed. The chosen model's files are read with R: its kind goes into the spec, its packages into
the list, marked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from rdeploy_tui.deploy_folder.render import always_installed
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.spec import package_names, rules
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.wizard_state import ChosenModel
from rdeploy_tui.ui.wording import in_wizard_terms

if TYPE_CHECKING:  # the reader runs R: imported by the worker that reads
    from rdeploy_tui.local.model_reader import ModelReading


class CrateRead(Message):
    """What reading the model found (`result`), or how the read goes (`status`, while `result` is None)."""

    def __init__(self, source: ChosenModel | Path, result: ModelReading | None = None, status: str = "") -> None:
        super().__init__()
        self.source, self.result, self.status = source, result, status


# By whether the model is a crate (carrier installed too) or another kind (spec's model.kind)
_HINT = {
    True: "Packages your model needs at scoring time; they are installed in the image and loaded once in the build. "
    "plumber (serves the API) and carrier (crates need it) are always included.",
    False: "Packages your model needs at scoring time; they are installed in the image and loaded once in the build. "
    "The packages the generated API itself uses are always included.",
}
_FOLDER = {
    True: "another folder with crate.bin (empty: the chosen model)",
    False: "another model folder (empty: the chosen one)",
}


class PackagesScreen(WizardStep):
    STEP = "packages"
    AUTO_FOCUS = "#package-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "remove", "Remove", show=False, id="packages.remove_delete"),
        # priority: the Remove button says ctrl+d while the add field has the focus, whose Input would take it
        # (delete right) and remove nothing
        Binding("ctrl+d", "remove", "Remove", id="packages.remove", priority=True),
        Binding("ctrl+e", "edit", "Edit", id="packages.edit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.packages: list[str] = []
        self.from_model: set[str] = set()  # packages read from the model's files ("used by the model")
        self.prefilled: set[str] = set()  # names a read added (not typed): a later read may take them out again
        self.read_for: ChosenModel | None = None  # the chosen model whose crate was read (or is being read)
        self._reading: ChosenModel | Path | None = None  # the read whose answer is awaited
        self.editing: int | None = None  # index in self.packages being edited in the field

    def compose_body(self) -> ComposeResult:
        yield Static(_HINT[self.spec.model.kind == "crate"], classes="hint", id="packages-hint")
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
            yield Input(placeholder=_FOLDER[self.spec.model.kind == "crate"], compact=True, id="crate-dir")
            yield Button("Read", id="read-crate", compact=True)
        yield Static("", id="crate-result", classes="hint", markup=False)

    def on_mount(self) -> None:
        # Only the valid part of a last-run list is taken over; base-R names and repeats are dropped.
        bad = {i for i, _ in rules.check_r_packages(self.spec.image.r_packages) if i is not None}
        fixed = {p.lower() for p in self.fixed}
        self.packages = [p for i, p in enumerate(self.spec.image.r_packages) if i not in bad and p.lower() not in fixed]
        self.refresh_list()

    # -- checks ---------------------------------------------------------------------------------------
    def _check_new(self, name: str) -> str | None:
        if name == "":
            return None  # an empty field is fine: nothing to add
        if err := rules.check_r_package(name):
            return err
        if name.lower() in {p.lower() for p in self.fixed}:
            return f"{name} is always included; no need to add it"
        for i, existing in enumerate(self.packages):
            if existing.lower() == name.lower() and i != self.editing:
                return f"{existing} is already in the list (position {i + 2})"
        return None

    # -- list -----------------------------------------------------------------------------------------
    @property
    def fixed(self) -> tuple[str, ...]:
        """The packages the model's kind always installs (render.always_installed)."""
        return always_installed(self.spec.model.kind)

    def refresh_list(self, highlight: int | None = None) -> None:
        options = self.query_one("#package-list", OptionList)
        options.clear_options()
        for name in self.fixed:
            options.add_option(Option(f"{name}  (always included)", id=f"fixed-{name}", disabled=True))
        for i, name in enumerate(self.packages):
            options.add_option(
                Option(f"{name}  (used by the model)" if name in self.from_model else name, id=f"pkg-{i}")
            )
        if highlight is not None and self.packages:
            options.highlighted = len(self.fixed) + min(highlight, len(self.packages) - 1)

    def _selected_index(self) -> int | None:
        options = self.query_one("#package-list", OptionList)
        if options.highlighted is None:
            return None
        index = options.highlighted - len(self.fixed)
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
            self.prefilled.discard(self.packages[self.editing])  # edited: now the user's own
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
        self.prefilled.discard(removed)
        if self.editing == index:
            self.editing = None
            self.query_one("#package", Field).set_text("")
        self.refresh_list(highlight=index)
        self.notify(f"Removed {removed}")

    # -- what the model's files hold, read with R (issues 13.4, 27) -----------------------------------------
    # The model chosen at the model step is read as soon as this step opens (its files downloaded to the cache
    # first, unless it was registered from a folder here); "Read" reads it again, or another folder typed beside it.
    # The reading records the model's kind in the spec (local/model_reader.apply_reading) and prefills its packages.
    def arrived(self) -> None:
        chosen = self.app.state.chosen_model
        if chosen is not None and chosen != self.read_for:
            self._start_read(chosen)

    @on(Input.Submitted, "#crate-dir")
    @on(Button.Pressed, "#read-crate")
    def _read_crate_pressed(self) -> None:
        typed = self.query_one("#crate-dir", Input).value.strip()
        if typed:
            folder = Path(typed).expanduser()
            self._start_read(folder if folder.is_absolute() else self.app.state.base_dir / folder)
        elif self.read_for is not None:
            self._start_read(self.read_for)
        else:
            self.query_one("#crate-result", Static).update("Type the folder that holds the model's files.")

    def _start_read(self, source: ChosenModel | Path) -> None:
        if isinstance(source, ChosenModel):
            self.read_for = source
        self._reading = source
        self.query_one("#read-crate", Button).disabled = True
        self.query_one("#crate-result", Static).update(f"Reading the packages {_what(source)} uses, with R ...")
        self.read_packages(source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="read-crate")
    def read_packages(self, source: ChosenModel | Path) -> None:
        from rdeploy_tui.local.model_reader import ModelReading, read_model, without_r  # starts R: only here

        result = without_r()  # no R: say so at once, without downloading files that could not be read anyway
        folder = source.folder if isinstance(source, ChosenModel) else source
        if result is None and folder is None:
            assert isinstance(source, ChosenModel)
            try:
                folder = self._download(source)
            except RdeployError as exc:  # said at the step: the packages can still be typed by hand
                result = ModelReading(error=f"its files could not be downloaded: {exc.what}")
            else:
                self.post_message(CrateRead(source, status=f"Reading the packages {_what(source)} uses, with R ..."))
        if result is None:
            assert folder is not None
            result = read_model(folder)
        self.post_message(CrateRead(source, result))

    def _download(self, chosen: ChosenModel) -> Path:
        """The chosen model's files in the user's cache folder (runs in the worker)."""
        workspace = self.app.state.workspace()
        version = (
            workspace.resolve_model_version(chosen.name, chosen.version)
            if chosen.version == "latest"
            else chosen.version
        )
        status = f"Downloading model {chosen.name} version {version} to read the packages it uses ..."
        self.post_message(CrateRead(chosen, status=status))
        return workspace.download_model(chosen.name, version)

    def on_crate_read(self, message: CrateRead) -> None:
        source, result = message.source, message.result
        if source != self._reading:
            return  # a newer read (another model, another folder) replaced this one
        if result is None:
            self.query_one("#crate-result", Static).update(message.status)
            return
        self._reading = None
        self.query_one("#read-crate", Button).disabled = False
        status = self.query_one("#crate-result", Static)
        what = _what(source)
        kind_changed = False
        if result.error:
            # Never a guess: the chosen model's marks (and what a read of an earlier model added) go, typed names stay.
            added, removed = self._use_model_packages([]) if isinstance(source, ChosenModel) else ([], [])
            error = in_wizard_terms(result.error, self.flow).rstrip(". ")
            status.update(f"Could not read the packages {what} uses: {error}. Add them by hand.")
        else:
            from rdeploy_tui.local.model_reader import apply_reading

            kind_changed = result.ok and self.spec.model.kind != result.kind
            apply_reading(self.spec, result)  # the model's kind and file, before the kind's fixed packages are listed
            added, removed = self._use_model_packages(result.packages)
            what = f"{what} ({result.kind_text()})" if result.ok else what
            said = f"{what[:1].upper()}{what[1:]} uses " + (", ".join(result.packages) or "no packages beyond base R")
            said += (f"; added {', '.join(added)}" if added else "") + (
                f"; removed {', '.join(removed)}" if removed else ""
            )
            status.update(said + ".")
        self.refresh_list(highlight=self._selected_index())
        if kind_changed:
            self.query_one("#packages-hint", Static).update(_HINT[self.spec.model.kind == "crate"])
            self.query_one("#crate-dir", Input).placeholder = _FOLDER[self.spec.model.kind == "crate"]
        if (added or removed or kind_changed) and not self.is_current:
            # The read finished after the user moved on: the spec takes the change, and the user is told.
            self.commit()
            if self.app.state.update is None:
                self.app.state.save_last_run()
            self.app.notify(str(status.render()), title="R packages")

    def _use_model_packages(self, used: list[str]) -> tuple[list[str], list[str]]:
        """Make the model's packages `used`: add those missing (marked), drop what an earlier read added and the
        model no longer uses, never a package the user typed. Returns (added, removed)."""
        fixed = {p.lower() for p in self.fixed}
        used = [p for p in used if p.lower() not in fixed]
        wanted = {p.lower() for p in used}
        removed = [p for p in self.packages if p in self.prefilled and p.lower() not in wanted]
        self.packages = [p for p in self.packages if p not in removed]
        have = {p.lower() for p in self.packages}
        added = [p for p in used if p.lower() not in have]
        self.packages += added
        self.prefilled = (self.prefilled - set(removed)) | set(added)
        self.from_model = set(used)
        return added, removed

    def worker_failed(self, worker: Worker) -> None:
        if worker.group == "read-crate":
            self._reading = None
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


def _what(source: ChosenModel | Path) -> str:
    return str(source) if isinstance(source, ChosenModel) else f"the model under {source}"
