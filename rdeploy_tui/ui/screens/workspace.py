"""Step 2: the Azure ML workspace (found from the environment or picked) and its container registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.reactive import var
from textual.widgets import Label, Select, Static
from textual.worker import Worker

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.ui.screens.base import WizardStep

if TYPE_CHECKING:
    from rdeploy_tui.azure.discovery import WorkspaceHint, WorkspaceInfo
    from rdeploy_tui.azure.workspace import Registry, Workspace


class WorkspacesFound(Message):
    """The workspaces of a subscription, and what the environment says about which one is meant."""

    def __init__(self, subscription_id: str, workspaces: list[WorkspaceInfo], hints: list[WorkspaceHint]) -> None:
        super().__init__()
        self.subscription_id, self.workspaces, self.hints = subscription_id, workspaces, hints


class RegistryChecked(Message):
    """A workspace's container registry, or why it has none yet (`error`, code NoRegistry)."""

    def __init__(
        self, key: str, workspace: Workspace | None, registry: Registry | None, error: RdeployError | None = None
    ) -> None:
        super().__init__()
        self.key, self.workspace, self.registry, self.error = key, workspace, registry, error


class WorkspaceScreen(WizardStep):
    STEP = "workspace"

    busy: var[bool] = var(False)  # listing workspaces
    checked: var[str | None] = var(None)  # "rg/name" whose registry was looked up

    def __init__(self) -> None:
        super().__init__()
        self.loaded_for: str | None = None  # subscription the list belongs to
        self.workspaces: dict[str, WorkspaceInfo] = {}  # "rg/name" -> WorkspaceInfo
        self.registry: Registry | None = None
        self.registry_error: RdeployError | None = None

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

    # -- workers -----------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="workspaces")
    def find_workspaces(self, subscription_id: str) -> None:
        from rdeploy_tui import azure

        hints = azure.workspace_hints(self.app.state.base_dir)
        found = azure.list_workspaces(self.app.state.azure(), subscription_id)
        self.post_message(WorkspacesFound(subscription_id, found, hints))

    def on_workspaces_found(self, message: WorkspacesFound) -> None:
        subscription_id, found, hints = message.subscription_id, message.workspaces, message.hints
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
            return
        self.registry, self.registry_error, self.checked = None, None, None
        self.query_one("#registry", Static).update("Checking the workspace's registry ...")
        self.query_one("#registry-next", Static).update("")
        self.check_registry(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="registry")
    def check_registry(self, key: str) -> None:
        from rdeploy_tui import azure

        info = self.workspaces[key]
        ws = azure.Workspace(self.app.state.azure(), info)
        try:
            registry, error = ws.registry(), None
        except RdeployError as exc:
            if exc.code != "NoRegistry":
                raise
            registry, error = None, exc  # expected for new workspaces: explained in place
        self.post_message(RegistryChecked(key, ws, registry, error))

    def on_registry_checked(self, message: RegistryChecked) -> None:
        key, registry, error = message.key, message.registry, message.error
        if self.query_one("#workspace", Select).value != key:
            return  # the user moved on meanwhile
        self.registry, self.registry_error = registry, error
        self.checked = key
        if message.workspace is not None:
            self.app.state.use_workspace(message.workspace)
        if registry is not None:
            self.query_one("#registry", Static).update(f"{registry.name} ({registry.login_server})")
            self.query_one("#registry-next", Static).update("")
        elif error is not None:
            self.query_one("#registry", Static).update(error.what)
            self.query_one("#registry-next", Static).update(f"Next: {error.next_step}")

    def worker_failed(self, worker: Worker) -> None:
        self.busy = False
        if worker.group == "registry":
            self.query_one("#registry", Static).update("Could not read the registry (see the message).")
        else:
            self.query_one("#ws-status", Static).update(
                "Could not list workspaces (see the message); go Back and retry."
            )
            self.query_one("#workspace", Select).prompt = "(no workspaces listed)"

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
        info = self.workspaces[str(self.query_one("#workspace", Select).value)]
        ws = self.spec.workspace
        if (ws.subscription_id, ws.resource_group, ws.name) != (info.subscription_id, info.resource_group, info.name):
            self.app.state.forget_workspace_findings()
        ws.subscription_id, ws.resource_group, ws.name = info.subscription_id, info.resource_group, info.name
        # Next is blocked until the registry is found (problems()), so there is one here
        self.app.state.registry = self.registry.login_server if self.registry is not None else None
