"""Step 3: the registered model and its version (latest shown with the number it stands for), or a new
model registered from a folder (a crate.bin as the how-to makes it, a fitted model's .rds, or a vetiver pins board),
after R has read it and a local test has served it."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from rdeploy_tui.spec import rules
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.field import Field

LATEST = "latest"
REGISTER = "+register"  # the list's last entry: register a new model from a local folder


class ModelScreen(WizardStep):
    STEP = 2

    def __init__(self) -> None:
        super().__init__()
        self.loaded_for: tuple | None = None  # workspace the list belongs to
        self.models: dict[str, object] = {}  # name -> ModelInfo
        self.versions_for: str | None = None
        self.busy = False
        self.registering = False

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
            # Empty, never the highlighted model's name: registering a name again adds a version to that model.
            yield Field(
                "Register it as model (a new name, or an existing one for its next version)",
                "",
                checks=[lambda name: "type a name for the model" if not name else rules.check_model_name(name)],
                placeholder="e.g. cars-lm",
                id="register-name",
            )
            with Horizontal(classes="buttons"):
                yield Button("Test locally, then register", id="register", compact=True)
            yield Static("", id="register-status", markup=False)

    def _folder(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.app.session.base_dir / path

    def _folder_problem(self, text: str) -> str | None:
        from rdeploy_tui.local.model_folder import model_folder_problem

        return "type the folder holding the model" if not text else model_folder_problem(self._folder(text))

    def _workspace_key(self) -> tuple:
        ws = self.spec.workspace
        return (ws.subscription_id, ws.resource_group, ws.name)

    def on_screen_resume(self) -> None:
        if self.loaded_for != self._workspace_key() and self.should_load_on_resume():
            self.busy = True
            self.query_one("#model-status", Static).update("Loading registered models ...")
            self.load_models()
        super().on_screen_resume()

    # -- workers -----------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="models")
    def load_models(self) -> None:
        key = self._workspace_key()
        models = self.app.session.workspace().list_models()
        self.app.call_from_thread(self._models_loaded, key, models)

    def _models_loaded(self, key: tuple, models: list) -> None:
        self.busy = False
        self.loaded_for = key
        self.models = {m.name: m for m in models}
        options = self.query_one("#models", OptionList)
        options.clear_options()
        for m in models:
            latest = f"latest: version {m.latest_version}" if m.latest_version else "no versions"
            options.add_option(Option(f"{m.name}  ({latest})", id=m.name))
        options.add_option(Option("+ register a new model from a folder on this machine", id=REGISTER))
        status = self.query_one("#model-status", Static)
        if not models:
            status.update(f"No models are registered in workspace {key[2]}: register your crate.bin below.")
            options.highlighted = 0  # the register entry
            self.query_one("#register-dir", Field).input.focus()
            self.update_nav()
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
        self.update_nav()

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
        self._register_status(
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
            self.app.call_from_thread(self._register_refused, refused)
            return
        self.app.call_from_thread(self._register_status, f"Found {reading.summary()}. Testing it locally ...")
        report = run_local_checks(trial_spec(self.spec, reading), self.app.session.base_dir, folder)
        failed = next((c for c in report.checks if c.status == "fail"), None)
        if failed is not None:
            self.app.call_from_thread(self._register_refused, failed)
            return
        self.app.call_from_thread(self._register_status, f"Local test passed. Registering {folder.name} as {name} ...")
        model = self.app.session.workspace().register_model(folder, name)
        self.app.call_from_thread(self._registered, model, folder, reading.kind_text())

    def _register_status(self, text: str) -> None:
        self.query_one("#register-status", Static).update(text)

    def _register_refused(self, failed) -> None:
        self.registering = False
        self.query_one("#register", Button).disabled = False
        where = "R cannot load it as a model" if failed.name == "model" else f"the local test failed at {failed.name}"
        self._register_status(
            f"Not registered: {where}: {failed.message}" + (f"\nNext: {failed.next_step}" if failed.next_step else "")
        )

    def _registered(self, model, folder: Path, what: str) -> None:
        # The packages step reads this version's crate here, where its files are, instead of downloading them.
        self.app.session.found.setdefault("model_folders", {})[
            (self._workspace_key(), model.name, model.latest_version)
        ] = folder
        self.registering = False
        self.query_one("#register", Button).disabled = False
        before = self.models.get(model.name)
        again = (
            f" ({model.name} already had version {before.latest_version}: registering a name again adds a version)"
            if before is not None and getattr(before, "latest_version", None)
            else ""
        )
        self._register_status(f"Registered {what} as model {model.name} version {model.latest_version}{again}.")
        self.spec.model.name, self.spec.model.version = model.name, LATEST
        self.app.session.found.pop("model_versions", None)
        self.busy = True
        self.load_models()  # shows it in the list, selected

    @work(thread=True, exclusive=True, exit_on_error=False, group="versions")
    def load_versions(self, name: str) -> None:
        versions = self.app.session.workspace().list_model_versions(name)
        self.app.call_from_thread(self._versions_loaded, name, versions)

    def _versions_loaded(self, name: str, versions: list[str]) -> None:
        if (
            self.query_one("#models", OptionList).highlighted_option is None
            or self.query_one("#models", OptionList).highlighted_option.id != name
        ):
            return  # the user moved on meanwhile
        self.versions_for = name
        self.app.session.found.setdefault("model_versions", {})[name] = versions  # for the review's "latest (N)"
        newest = versions[0] if versions else None
        choices = [(f"latest (now version {newest})" if newest else "latest", LATEST)]
        choices += [(f"version {v}", v) for v in versions]
        select = self.query_one("#version", Select)
        select.set_options(choices)
        wanted = self.spec.model.version if name == self.spec.model.name else LATEST
        select.value = wanted if wanted in [LATEST, *versions] else LATEST
        self.update_nav()

    @on(Select.Changed, "#version")
    def _version_changed(self) -> None:
        self.update_nav()

    def worker_failed(self, worker) -> None:
        if worker.group == "register":
            self.registering = False
            self.query_one("#register", Button).disabled = False
            self._register_status("Not registered (see the message).")
            return
        self.busy = False
        self.query_one("#model-status", Static).update("Could not load models (see the message); go Back and retry.")
        self.update_nav()

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
        from rdeploy_tui.ui.session import ChosenModel

        name, version = self.versions_for, self.query_one("#version", Select).value
        self.spec.model.name, self.spec.model.version = name, version
        found = self.app.session.found
        newest = (found.get("model_versions", {}).get(name) or [version])[0]  # loaded with the versions, newest first
        number = newest if version == LATEST else version  # still "latest" if unknown: the packages step resolves it
        folder = found.get("model_folders", {}).get((self._workspace_key(), name, number))
        found["chosen_model"] = ChosenModel(
            self._workspace_key(), name, number, folder
        )  # the packages step reads its crate
