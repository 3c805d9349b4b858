"""Step 2: the Azure ML workspace (found from the environment or picked) and its container registry."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Label, Select, Static

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.ui.screens.base import WizardStep


class WorkspaceScreen(WizardStep):
    STEP = 1

    def __init__(self) -> None:
        super().__init__()
        self.loaded_for: str | None = None  # subscription the list belongs to
        self.workspaces: dict[str, object] = {}  # "rg/name" -> WorkspaceInfo
        self.checked: str | None = None  # "rg/name" whose registry was looked up
        self.registry = None
        self.registry_error: RdeployError | None = None
        self.busy = False

    def compose_body(self) -> ComposeResult:
        yield Static("Looking for workspaces ...", id="ws-status", markup=False)
        yield Label("Workspace", classes="field-label")
        # Disabled while looking: its empty entry is a status, not a choice (issue 14: it could be picked).
        yield Select([], prompt="(looking for workspaces)", compact=True, id="workspace", disabled=True)
        yield Label("Container registry (ACR): the image is built and stored there", classes="field-label")
        yield Static("", id="registry", markup=False)
        yield Static("", id="registry-next", classes="field-message -info", markup=False)

    def on_screen_resume(self) -> None:
        if self.loaded_for != self.spec.workspace.subscription_id and self.should_load_on_resume():
            self.busy = True
            self.query_one("#ws-status", Static).update("Looking for workspaces ...")
            select = self.query_one("#workspace", Select)
            select.prompt, select.disabled = "(looking for workspaces)", True
            self.find_workspaces(self.spec.workspace.subscription_id)
        super().on_screen_resume()

    # -- workers -----------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="workspaces")
    def find_workspaces(self, subscription_id: str) -> None:
        from rdeploy_tui import azure

        hints = azure.workspace_hints(self.app.session.base_dir)
        found = azure.list_workspaces(self.app.session.azure(), subscription_id)
        self.app.call_from_thread(self._workspaces_found, subscription_id, found, hints)

    def _workspaces_found(self, subscription_id: str, found: list, hints: list) -> None:
        self.busy = False
        self.loaded_for = subscription_id
        self.workspaces = {f"{w.resource_group}/{w.name}": w for w in found}
        select = self.query_one("#workspace", Select)
        select.set_options(
            [
                (f"{w.name}  (group {w.resource_group}, {w.location or 'no location'})", key)
                for key, w in self.workspaces.items()
            ]
        )
        select.prompt = "(choose a workspace)" if found else "(no workspaces in this subscription)"
        select.disabled = not found
        status = self.query_one("#ws-status", Static)
        if not found:
            status.update(
                "No Azure ML workspaces in this subscription. Create one (az ml workspace create -n NAME -g GROUP) "
                "or go Back and choose another subscription."
            )
            self.update_nav()
            return
        # Preference: what the environment names (compute instance, config.json, az defaults), then the last run.
        ws = self.spec.workspace
        choice, why = None, ""
        for hint in hints:
            key = f"{hint.resource_group}/{hint.name}"
            if key in self.workspaces and hint.subscription_id in (None, subscription_id):
                choice, why = key, f"found from {hint.source}"
                break
        if choice is None and f"{ws.resource_group}/{ws.name}" in self.workspaces:
            choice, why = f"{ws.resource_group}/{ws.name}", "from your last run"
        if choice is None:
            # A workspace that can build images is the likelier target.
            with_acr = [k for k, w in self.workspaces.items() if w.container_registry]
            choice = (with_acr or list(self.workspaces))[0]
            why = "the first" + (" with a container registry" if with_acr else "") + "; pick another if needed"
        status.update(f"{len(found)} workspace(s) in this subscription. Preselected: {why}.")
        select.value = choice
        select.focus()

    @on(Select.Changed, "#workspace")
    def _workspace_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or event.value == self.checked:
            self.update_nav()
            return
        self.registry, self.registry_error, self.checked = None, None, None
        self.query_one("#registry", Static).update("Checking the workspace's registry ...")
        self.query_one("#registry-next", Static).update("")
        self.check_registry(event.value)
        self.update_nav()

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry")
    def check_registry(self, key: str) -> None:
        from rdeploy_tui import azure

        info = self.workspaces[key]
        ws = azure.Workspace(self.app.session.azure(), info)
        try:
            registry, error = ws.registry(), None
        except RdeployError as exc:
            if exc.code != "NoRegistry":
                raise
            registry, error = None, exc  # expected for new workspaces: explained in place
        self.app.call_from_thread(self._registry_checked, key, ws, registry, error)

    def _registry_checked(self, key: str, ws, registry, error: RdeployError | None) -> None:
        if self.query_one("#workspace", Select).value != key:
            return  # the user moved on meanwhile
        self.checked, self.registry, self.registry_error = key, registry, error
        self.app.session.found["workspace"] = ws
        if registry is not None:
            self.query_one("#registry", Static).update(f"{registry.name} ({registry.login_server})")
            self.query_one("#registry-next", Static).update("")
        else:
            self.query_one("#registry", Static).update(error.what)
            self.query_one("#registry-next", Static).update(f"Next: {error.next_step}")
        self.update_nav()

    def worker_failed(self, worker) -> None:
        self.busy = False
        if worker.group == "registry":
            self.query_one("#registry", Static).update("Could not read the registry (see the message).")
        else:
            self.query_one("#ws-status", Static).update(
                "Could not list workspaces (see the message); go Back and retry."
            )
            self.query_one("#workspace", Select).prompt = "(no workspaces listed)"
        self.update_nav()

    # -- wizard -------------------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        value = self.query_one("#workspace", Select).value
        if self.busy:
            return ["looking for workspaces ..."]
        if not isinstance(value, str):
            return ["choose a workspace"]
        if self.checked != value:
            return ["checking the workspace's registry ..."]
        if self.registry is None:
            return ["this workspace has no container registry yet (see above)"]
        return []

    def commit(self) -> None:
        info = self.workspaces[self.query_one("#workspace", Select).value]
        ws = self.spec.workspace
        if (ws.resource_group, ws.name) != (info.resource_group, info.name):
            self.app.session.found.pop("models", None)
            self.app.session.found.pop("endpoints", None)
        ws.subscription_id, ws.resource_group, ws.name = info.subscription_id, info.resource_group, info.name
        self.app.session.found["registry"] = self.registry.login_server
