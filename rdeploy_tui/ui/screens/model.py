"""Step 3: the registered model and its version (latest shown with the number it stands for), or a new
model registered from a folder (a crate.bin as the how-to makes it, a fitted model's .rds, or a vetiver pins board),
after R has read it and a local test has served it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from rdeploy_tui.spec import rules
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.wizard_state import ChosenModel, WorkspaceKey
from rdeploy_tui.ui.wording import in_wizard_terms

if TYPE_CHECKING:
    from rdeploy_tui.azure.workspace import ModelInfo
    from rdeploy_tui.local.checks import Check

LATEST = "latest"
REGISTER = "+register"  # the list's last entry: register a new model from a local folder


class ModelsLoaded(Message):
    """The models registered in a workspace, and the folder here a new registration most likely means (or None)."""

    def __init__(self, workspace: WorkspaceKey, models: list[ModelInfo], nearby: Path | None = None) -> None:
        super().__init__()
        self.workspace, self.models, self.nearby = workspace, models, nearby


class VersionsLoaded(Message):
    """The versions of one model, newest first."""

    def __init__(self, name: str, versions: list[str]) -> None:
        super().__init__()
        self.name, self.versions = name, versions


class RegisterProgress(Message):
    """How registering a model goes: a line to show; `refused` the reading's or the local test's failed check (nothing
    registered), `model` the model registered from `folder` (`what`: the kind R found there)."""

    def __init__(
        self,
        text: str = "",
        *,
        refused: Check | None = None,
        model: ModelInfo | None = None,
        folder: Path | None = None,
        what: str = "the model",
    ) -> None:
        super().__init__()
        self.text, self.refused, self.model, self.folder, self.what = text, refused, model, folder, what


class ModelScreen(WizardStep):
    STEP = "model"

    busy: var[bool] = var(False)  # loading the registered models
    registering: var[bool] = var(False)
    versions_for: var[str | None] = var(None)  # the model whose versions the version picker holds

    def __init__(self) -> None:
        super().__init__()
        self.loaded_for: WorkspaceKey | None = None  # workspace the list belongs to
        self.models: dict[str, ModelInfo] = {}  # name -> ModelInfo

    def compose_body(self) -> ComposeResult:
        yield Static("Loading registered models ...", id="model-status", markup=False)
        yield Label("Registered model", classes="field-label")
        yield OptionList(id="models")
        yield Label("Version", classes="field-label", id="version-label")
        yield Select([], prompt="(choose a model)", id="version", allow_blank=True, compact=True)
        with Vertical(id="register-form", classes="-hidden"):
            yield Field(
                "Model folder: crate.bin, an .rds or a pins board (relative paths from here)",
                "",
                checks=[self._folder_problem],
                placeholder="models",
                id="register-dir",
            )
            # Never the highlighted model's name: registering a name again adds a version to that model. Prefilled
            # (prefill_register_form) with a model folder found here and its name when no model has it; a registered
            # name typed is said to add a version before anything is pressed.
            yield Field(
                "Register it as model (a new name, or an existing one for its next version)",
                "",
                checks=[lambda name: "type a name for the model" if not name else rules.check_model_name(name)],
                warn=self._adds_a_version,
                placeholder="e.g. cars-lm",
                id="register-name",
            )
            with Horizontal(classes="buttons"):
                yield Button("Test locally, then register", id="register", compact=True)
            yield Static("", id="register-status", markup=False)

    def _folder(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.app.state.base_dir / path

    def _adds_a_version(self, name: str) -> str | None:
        known = self.models.get(name)
        if known is None:
            return None
        latest = f" (latest: version {known.latest_version})" if known.latest_version else ""
        return f"{name} is registered{latest}: this adds its next version"

    def prefill_register_form(self, nearby: Path | None) -> None:
        """What a new registration needs, where the user has not typed it: the model folder found here, and its
        folder's name as the model's name unless a model has that name already (never another model's name)."""
        folder, name = self.query_one("#register-dir", Field), self.query_one("#register-name", Field)
        if nearby is None or folder.text:
            return
        base = self.app.state.base_dir
        folder.set_text("." if nearby == base else str(nearby.relative_to(base)))
        suggested = (nearby if nearby != base else base.resolve()).name
        if not name.text and suggested not in self.models and rules.check_model_name(suggested) is None:
            name.set_text(suggested)

    def _folder_problem(self, text: str) -> str | None:
        from rdeploy_tui.local.model_folder import model_folder_problem

        return "type the folder holding the model" if not text else model_folder_problem(self._folder(text))

    def on_screen_resume(self) -> None:
        if self.loaded_for != self.app.state.workspace_key and self.should_load_on_resume():
            self.busy = True
            self.query_one("#model-status", Static).update("Loading registered models ...")
            self.load_models()

    # -- workers -----------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="models")
    def load_models(self) -> None:
        from rdeploy_tui.local.model_folder import nearby_model_folder

        key = self.app.state.workspace_key
        models = self.app.state.workspace().list_models()
        self.post_message(ModelsLoaded(key, models, nearby_model_folder(self.app.state.base_dir)))

    def on_models_loaded(self, message: ModelsLoaded) -> None:
        key, models = message.workspace, message.models
        self.busy = False
        self.loaded_for = key
        self.models = {m.name: m for m in models}
        options = self.query_one("#models", OptionList)
        options.clear_options()
        for m in models:
            latest = f"latest: version {m.latest_version}" if m.latest_version else "no versions"
            options.add_option(Option(f"{m.name}  ({latest})", id=m.name))
        options.add_option(Option("+ register a new model from a folder on this machine", id=REGISTER))
        self.prefill_register_form(message.nearby)
        self.query_one("#register-name", Field).check()  # whether the typed name adds a version, as models are now
        status = self.query_one("#model-status", Static)
        if not models:
            status.update(f"No models are registered in workspace {key[2]}: register your crate.bin below.")
            options.highlighted = 0  # the register entry
            self.query_one("#register-dir", Field).input.focus()
            return
        status.update(f"{len(models)} registered model(s) in workspace {key[2]}.")
        wanted = self.spec.model.name
        names = list(self.models)
        options.highlighted = names.index(wanted) if wanted in self.models else 0
        options.focus()

    @on(OptionList.OptionHighlighted, "#models")
    def _model_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        registering = name == REGISTER
        self.query_one("#register-form").set_class(not registering, "-hidden")
        for widget in (self.query_one("#version-label"), self.query_one("#version")):
            widget.set_class(registering, "-hidden")
        if name == self.versions_for:
            return
        self.versions_for = None
        select = self.query_one("#version", Select)
        select.set_options([])
        if not registering:
            self.load_versions(name)

    @on(OptionList.OptionSelected, "#models")
    def _model_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == REGISTER:
            self.query_one("#register-dir", Field).input.focus()
        else:
            self.query_one("#version", Select).focus()

    # -- registering a new model -------------------------------------------------------------------------
    @on(Button.Pressed, "#register")
    def _register_pressed(self) -> None:
        fields = [self.query_one("#register-dir", Field), self.query_one("#register-name", Field)]
        errors = [f.check() for f in fields]
        if any(errors) or self.registering:
            return
        self.registering = True
        self.query_one("#register", Button).disabled = True
        self._say_registering(
            "Reading the model with R, then testing it locally (the API as the container runs it) ..."
        )
        self.register_model(self._folder(fields[0].value), fields[1].value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="register")
    def register_model(self, folder: Path, name: str) -> None:
        from rdeploy_tui.local.checks import Check, run_local_checks  # starts R: only when asked
        from rdeploy_tui.local.model_reader import read_model, trial_spec

        # R reads the folder and a local test serves it before anything is uploaded: a model that does not load or
        # score here would fail the same way in Azure, after a build and a deployment were paid for.
        reading = read_model(folder)
        if not reading.ok:
            refused = Check("model", "fail", reading.error or "it could not be read", reading.next_step)
            self.post_message(RegisterProgress(refused=refused))
            return
        self.post_message(RegisterProgress(f"Found {reading.summary()}. Testing it locally ..."))
        report = run_local_checks(trial_spec(self.spec, reading), self.app.state.base_dir, folder)
        failed = next((c for c in report.checks if c.status == "fail"), None)
        if failed is not None:
            self.post_message(RegisterProgress(refused=failed))
            return
        self.post_message(RegisterProgress(f"Local test passed. Registering {folder.name} as {name} ..."))
        model = self.app.state.workspace().register_model(folder, name)
        self.post_message(RegisterProgress(model=model, folder=folder, what=reading.kind_text()))

    def _say_registering(self, text: str) -> None:
        """The register form's status, scrolled into view: at 80x24 it is below the fold of the step."""
        status = self.query_one("#register-status", Static)
        status.update(text)
        self.call_after_refresh(status.scroll_visible, animate=False)

    def on_register_progress(self, message: RegisterProgress) -> None:
        status = self.query_one("#register-status", Static)
        self.call_after_refresh(status.scroll_visible, animate=False)  # the outcome in view, whatever it is
        failed, model = message.refused, message.model
        if failed is None and model is None:
            status.update(message.text)
            return
        self.registering = False
        self.query_one("#register", Button).disabled = False
        if failed is not None:
            where = (
                "R cannot load it as a model" if failed.name == "model" else f"the local test failed at {failed.name}"
            )
            status.update(
                f"Not registered: {where}: {in_wizard_terms(failed.message, self.flow)}"
                + (f"\nNext: {in_wizard_terms(failed.next_step, self.flow)}" if failed.next_step else "")
            )
            return
        assert model is not None and message.folder is not None
        # The packages step reads this version's model here, where its files are, instead of downloading them.
        key = (self.app.state.workspace_key, model.name, model.latest_version or LATEST)
        self.app.state.model_folders[key] = message.folder
        before = self.models.get(model.name)
        again = (
            f" ({model.name} already had version {before.latest_version}: registering a name again adds a version)"
            if before is not None and getattr(before, "latest_version", None)
            else ""
        )
        status.update(f"Registered {message.what} as model {model.name} version {model.latest_version}{again}.")
        self.spec.model.name, self.spec.model.version = model.name, LATEST
        self.app.state.model_versions.pop(model.name, None)
        self.busy = True
        self.load_models()  # shows it in the list, selected

    @work(thread=True, exclusive=True, exit_on_error=False, group="versions")
    def load_versions(self, name: str) -> None:
        versions = self.app.state.workspace().list_model_versions(name)
        self.post_message(VersionsLoaded(name, versions))

    def on_versions_loaded(self, message: VersionsLoaded) -> None:
        name, versions = message.name, message.versions
        highlighted = self.query_one("#models", OptionList).highlighted_option
        if highlighted is None or highlighted.id != name:
            return  # the user moved on meanwhile
        self.app.state.model_versions[name] = versions  # for the review's "latest (N)"
        newest = versions[0] if versions else None
        choices = [(f"latest (now version {newest})" if newest else "latest", LATEST)]
        choices += [(f"version {v}", v) for v in versions]
        select = self.query_one("#version", Select)
        select.set_options(choices)
        wanted = self.spec.model.version if name == self.spec.model.name else LATEST
        select.value = wanted if wanted in [LATEST, *versions] else LATEST
        self.versions_for = name

    def worker_failed(self, worker: Worker) -> None:
        if worker.group == "register":
            self.registering = False
            self.query_one("#register", Button).disabled = False
            self.query_one("#register-status", Static).update("Not registered (see the message).")
            return
        self.busy = False
        self.query_one("#model-status", Static).update("Could not load models (see the message); go Back and retry.")

    # -- wizard -------------------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        if self.busy:
            return ["loading registered models ..."]
        highlighted = self.query_one("#models", OptionList).highlighted_option
        if not self.models or (highlighted is not None and highlighted.id == REGISTER):
            return [
                "registering the model ..."
                if self.registering
                else "register the model first, or pick a registered one"
            ]
        if self.versions_for is None:
            return ["loading versions ..."]
        if not isinstance(self.query_one("#version", Select).value, str):
            return ["choose a version"]
        return []

    def commit(self) -> None:
        name, version = self.versions_for, self.query_one("#version", Select).value
        assert name is not None and isinstance(version, str)  # problems() is empty
        self.spec.model.name, self.spec.model.version = name, version
        state = self.app.state
        newest = (state.model_versions.get(name) or [version])[0]  # loaded with the versions, newest first
        number = newest if version == LATEST else version  # still "latest" if unknown: the packages step resolves it
        folder = state.model_folders.get((state.workspace_key, name, number))
        state.chosen_model = ChosenModel(state.workspace_key, name, number, folder)  # the packages step reads its crate
