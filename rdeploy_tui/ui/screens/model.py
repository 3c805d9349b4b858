"""Step 3: the registered model and its version (latest shown with the number it stands for)."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from rdeploy_tui.ui.screens.base import WizardStep

LATEST = "latest"


class ModelScreen(WizardStep):
    STEP = 2

    def __init__(self) -> None:
        super().__init__()
        self.loaded_for: tuple | None = None  # workspace the list belongs to
        self.models: dict[str, object] = {}  # name -> ModelInfo
        self.versions_for: str | None = None
        self.busy = False

    def compose_body(self) -> ComposeResult:
        yield Static("Loading registered models ...", id="model-status", markup=False)
        yield Label("Registered model", classes="field-label")
        yield OptionList(id="models")
        yield Label("Version", classes="field-label")
        yield Select([], prompt="(choose a model)", id="version", allow_blank=True, compact=True)

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
        status = self.query_one("#model-status", Static)
        if not models:
            status.update(
                f"No models are registered in workspace {key[2]}. Register your crate first, e.g. "
                "az ml model create -n forecast-model -v 1 -p models/ --type custom_model"
            )
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
        if name == self.versions_for:
            return
        self.versions_for = None
        select = self.query_one("#version", Select)
        select.set_options([])
        self.load_versions(name)
        self.update_nav()

    @on(OptionList.OptionSelected, "#models")
    def _model_selected(self) -> None:
        self.query_one("#version", Select).focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="versions")
    def load_versions(self, name: str) -> None:
        versions = self.app.session.workspace().list_model_versions(name)
        self.app.call_from_thread(self._versions_loaded, name, versions)

    def _versions_loaded(self, name: str, versions: list[str]) -> None:
        if self.query_one("#models", OptionList).highlighted_option is None or \
                self.query_one("#models", OptionList).highlighted_option.id != name:
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
        self.busy = False
        self.query_one("#model-status", Static).update("Could not load models (see the message); go Back and retry.")
        self.update_nav()

    # -- wizard -------------------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        if self.busy:
            return ["loading registered models ..."]
        if not self.models:
            return ["no registered model to deploy (see above)"]
        if self.versions_for is None:
            return ["loading versions ..."]
        if not isinstance(self.query_one("#version", Select).value, str):
            return ["choose a version"]
        return []

    def commit(self) -> None:
        self.spec.model.name = self.versions_for
        self.spec.model.version = self.query_one("#version", Select).value
