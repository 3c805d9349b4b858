"""Every screen at 80x24 and 120x40. Azure-backed screens get their discovery results as the messages their workers
post (the workers themselves are kept from starting), and the deploy step a recorded run, so the pictures never
depend on timing, clocks or ports.

Update after an intended change: .venv/bin/pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest
from ui_helpers import SIZES, RecordedRun, deploy_outcome, make_app, wait_for

from rdeploy_tui.azure.credentials import Identity
from rdeploy_tui.azure.discovery import Subscription, WorkspaceHint, WorkspaceInfo
from rdeploy_tui.azure.workspace import ModelInfo, Registry
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.events import LogLines, PlanFinished, StepFailed, StepFinished, StepProgress, StepStarted
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.deploy import DeployScreen
from rdeploy_tui.ui.widgets.dialogs import ErrorDialog
from rdeploy_tui.ui.widgets.log_panel import LogPanel
from rdeploy_tui.ui.widgets.steps_view import StepsView

T0 = 1_700_000_000.0
SUB = "5a4d1f3e-8f3b-4c1e-9d2a-000000000001"
WS_ID = f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws-ml"


def spec_with_packages():
    spec = default_spec()
    spec.workspace.subscription_id = SUB
    spec.image.r_packages = ["forecast", "zoo"]
    return spec


class Offline:
    """Stops the Azure workers from starting: the test posts their results to the screens itself."""

    @staticmethod
    def patch(monkeypatch, *names):
        for dotted in names:
            module, cls, method = dotted.rsplit(".", 2)
            monkeypatch.setattr(f"{module}.{cls}.{method}", lambda self, *a, **k: None)


# --- forms (no Azure) ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_packages(snap_compare, size):
    assert snap_compare(make_app("packages", spec=spec_with_packages()), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_packages_refusing(snap_compare, size):
    async def type_bad(pilot):
        await pilot.press(*"stats")  # the package field has the focus
        await wait_for(pilot, lambda: "stats" in str(pilot.app.screen.query_one("#package .field-message").render()))

    assert snap_compare(make_app("packages", spec=spec_with_packages()), terminal_size=size, run_before=type_bad)


@pytest.mark.parametrize("size", SIZES)
def test_packages_from_the_model(snap_compare, size, monkeypatch):
    """Issue 13.4: the chosen model's crate read (here handed to the screen), its packages added and marked."""
    from rdeploy_tui.local.model_reader import ModelReading
    from rdeploy_tui.ui.screens.packages import CrateRead
    from rdeploy_tui.ui.wizard_state import ChosenModel

    Offline.patch(monkeypatch, "rdeploy_tui.ui.screens.packages.PackagesScreen.read_packages")
    chosen = ChosenModel((SUB, "rg-ml", "ws-ml"), "forecast-model", "3")
    app = make_app("packages", spec=spec_with_packages(), chosen_model=chosen)

    async def read(pilot):
        screen = pilot.app.screen
        status = screen.query_one("#crate-result")
        await wait_for(pilot, lambda: "Reading the packages" in str(status.render()))  # the step asked for the crate
        screen.post_message(CrateRead(chosen, ModelReading(["forecast", "jsonlite", "zoo"])))
        await wait_for(pilot, lambda: " uses " in str(status.render()))

    assert snap_compare(app, terminal_size=size, run_before=read)


@pytest.mark.parametrize("size", SIZES)
def test_script(snap_compare, size):
    assert snap_compare(make_app("script"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_endpoint(snap_compare, size):
    spec = default_spec()
    spec.deployment.instance_type = "Standard_DS2_v2"  # shows the too-small warning
    assert snap_compare(make_app("endpoint", spec=spec), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_endpoint_refusing(snap_compare, size):
    async def bad(pilot):
        screen = pilot.app.screen
        screen.query_one("#endpoint-name-input").value = "9lives"
        screen.query_one("#traffic-input").value = "150"
        await pilot.pause()

    assert snap_compare(make_app("endpoint"), terminal_size=size, run_before=bad)


@pytest.mark.parametrize("size", SIZES)
def test_review(snap_compare, size):
    app = make_app(
        "review",
        spec=spec_with_packages(),
        registry="sandboxacr.azurecr.io",
        model_versions={"forecast-model": ["3", "2", "1"]},
    )
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_review_dockerfile(snap_compare, size):
    async def pick(pilot):
        await pilot.press("down")  # the file list has the focus: the Dockerfile follows the summary
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#review-files").highlighted == 1)

    app = make_app("review", spec=spec_with_packages(), registry="sandboxacr.azurecr.io")
    assert snap_compare(app, terminal_size=size, run_before=pick)


# --- Azure-backed screens, results handed over as the workers would -----------------------------


@pytest.mark.parametrize("size", SIZES)
def test_signin(snap_compare, size, monkeypatch):
    Offline.patch(monkeypatch, "rdeploy_tui.ui.screens.signin.SignInScreen.sign_in")

    async def signed_in(pilot):
        from rdeploy_tui.ui.screens.signin import SignedIn

        who = Identity("ada@contoso.com", "72f988bf-0000-4000-8000-00000000a11e", "user", "Azure CLI")
        subs = [
            Subscription(SUB, "ML production", "72f988bf-0000-4000-8000-00000000a11e", "Enabled", True),
            Subscription("5a4d1f3e-8f3b-4c1e-9d2a-000000000002", "Old trial", None, "Disabled"),
        ]
        screen = pilot.app.screen
        screen.post_message(SignedIn(who, subs))
        await wait_for(pilot, lambda: not screen.query_one("#next").disabled)

    assert snap_compare(make_app("signin"), terminal_size=size, run_before=signed_in)


@pytest.mark.parametrize("size", SIZES)
def test_signin_signed_out(snap_compare, size, monkeypatch):
    Offline.patch(monkeypatch, "rdeploy_tui.ui.screens.signin.SignInScreen.sign_in")

    async def signed_out(pilot):
        from rdeploy_tui.ui.screens.signin import SignedOut

        screen = pilot.app.screen
        screen.post_message(
            SignedOut(
                RdeployError(
                    "No Azure sign-in found (tried the Azure CLI, environment variables and managed identity).",
                    "Run `az login` (or `az login --use-device-code` in a browser terminal), then press F2.",
                )
            )
        )
        await wait_for(pilot, lambda: bool(screen.query("#retry")) and screen.query_one("#retry").has_focus)

    assert snap_compare(make_app("signin"), terminal_size=size, run_before=signed_out)


def _workspaces(with_registry: bool):
    acr = f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/Microsoft.ContainerRegistry/registries/sandboxacr"
    return [
        WorkspaceInfo(SUB, "rg-ml", "ws-ml", "westeurope", WS_ID, acr if with_registry else None),
        WorkspaceInfo(SUB, "rg-other", "ws-team", "northeurope", WS_ID.replace("ws-ml", "ws-team"), None),
    ]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("registry", [True, False], ids=["acr", "no-acr"])
def test_workspace(snap_compare, size, registry, monkeypatch):
    Offline.patch(
        monkeypatch,
        "rdeploy_tui.ui.screens.workspace.WorkspaceScreen.find_workspaces",
        "rdeploy_tui.ui.screens.workspace.WorkspaceScreen.check_registry",
    )

    async def found(pilot):
        from rdeploy_tui.ui.screens.workspace import RegistryChecked, WorkspacesFound

        screen = pilot.app.screen
        hints = [WorkspaceHint(SUB, "rg-ml", "ws-ml", "compute instance (MLFLOW_TRACKING_URI)")]
        screen.post_message(WorkspacesFound(SUB, _workspaces(registry), hints))
        await wait_for(pilot, lambda: screen.query_one("#workspace").value == "rg-ml/ws-ml")
        if registry:
            reg = Registry(SUB, "rg-ml", "sandboxacr", "sandboxacr.azurecr.io", "id")
            screen.post_message(RegistryChecked("rg-ml/ws-ml", None, reg))
        else:
            screen.post_message(
                RegistryChecked(
                    "rg-ml/ws-ml",
                    None,
                    None,
                    RdeployError(
                        "Workspace ws-ml has no container registry yet (Azure creates one with the first custom "
                        "environment build).",
                        "Create one and attach it: `az acr create -g rg-ml -n NAME --sku Basic`, then "
                        "`az ml workspace update -g rg-ml -n ws-ml --container-registry <its id>`.",
                        code="NoRegistry",
                    ),
                )
            )
        registry_line = screen.query_one("#registry")
        await wait_for(pilot, lambda: "Checking" not in str(registry_line.render()))

    spec = default_spec()
    spec.workspace.subscription_id = SUB
    assert snap_compare(make_app("workspace", spec=spec), terminal_size=size, run_before=found)


@pytest.mark.parametrize("size", SIZES)
def test_model(snap_compare, size, monkeypatch):
    Offline.patch(
        monkeypatch,
        "rdeploy_tui.ui.screens.model.ModelScreen.load_models",
        "rdeploy_tui.ui.screens.model.ModelScreen.load_versions",
    )

    async def found(pilot):
        from rdeploy_tui.ui.screens.model import ModelsLoaded, VersionsLoaded

        screen = pilot.app.screen
        models = [ModelInfo("churn-glm", "2"), ModelInfo("forecast-model", "3"), ModelInfo("old-model", None)]
        screen.post_message(ModelsLoaded(("s", "rg-ml", "ws-ml"), models))
        await wait_for(pilot, lambda: screen.query_one("#models").option_count == 4)
        screen.post_message(VersionsLoaded("forecast-model", ["3", "2", "1"]))
        await wait_for(pilot, lambda: not screen.query_one("#next").disabled)

    assert snap_compare(make_app("model"), terminal_size=size, run_before=found)


# The line the Dockerfile prints when an R package does not install (docker-context-template/Dockerfile).
BUILD_KEY_LINE = "rdeploy: failed to install R packages: forcast"


def _deploy_events(outcome: str):
    events = [
        StepStarted("prepare", "Check workspace ws-ml, its registry and model forecast-model", T0),
        StepFinished("prepare", "done", "model forecast-model version 3", T0 + 2),
        StepStarted("build-image", "Build image r-forecast:6fbf335b168d621a in sandboxacr.azurecr.io", T0 + 2),
        StepStarted("create-endpoint", "Create endpoint r-endpoint-forecast (aml_token)", T0 + 2),
        StepProgress("create-endpoint", "endpoint is Creating", T0 + 5),
        StepFinished("create-endpoint", "done", "endpoint Succeeded", T0 + 40),
    ]
    if outcome == "failed":
        events += [
            StepFailed(
                "build-image",
                "The image build failed: R package 'forcast' is not available.",
                "Fix the package name on the R packages step, then Deploy again (finished steps are kept).",
                "Step 4/6 : RUN R -e \"install.packages(...)\"\nWarning: package 'forcast' is not available\n"
                + BUILD_KEY_LINE,
                "BuildFailed",
                T0 + 95,
            ),
            PlanFinished(
                "failed",
                "Deploy failed. Left behind: endpoint r-endpoint-forecast exists "
                "(an endpoint without deployments does not bill compute).",
                T0 + 96,
            ),
        ]
    else:
        events += [
            StepFinished("build-image", "done", "image pushed", T0 + 150),
            StepStarted("create-deployment", "Create deployment blue (1 x Standard_DS3_v2)", T0 + 150),
            StepProgress("create-deployment", "deployment is Creating", T0 + 160),
        ]
    if outcome == "succeeded":
        events += [
            StepFinished("create-deployment", "done", "deployment Succeeded", T0 + 170),
            StepStarted("route-traffic", "Route 100% of traffic to blue", T0 + 170),
            StepStarted("smoke-score", "Score the sample request", T0 + 170),
            StepFinished("route-traffic", "done", "blue 100%", T0 + 180),
            StepFinished("smoke-score", "done", "200 in 41 ms", T0 + 171),
            PlanFinished(
                "succeeded",
                "Endpoint r-endpoint-forecast is live at "
                "https://r-endpoint-forecast.westeurope.inference.ml.azure.com/score. The deployment blue "
                "(1 x Standard_DS3_v2) bills per instance-hour until you delete it: "
                "rdeploy-tui endpoints delete r-endpoint-forecast.",
                T0 + 180,
            ),
        ]
    return events


def _log_events(outcome: str):
    """The logs, before the failure, as from the runner."""
    events = [LogLines("build-image", "build", tuple(f"Step {i}/6 : build output line {i}" for i in range(1, 40)))]
    if outcome == "failed":
        events.append(LogLines("build-image", "build", (BUILD_KEY_LINE,)))
    events += [
        LogLines("create-deployment", "inference-server", ("Running plumber API at http://0.0.0.0:8000",)),
        LogLines("create-deployment", "storage-initializer", ("model downloaded",)),
    ]
    return events


def recorded_deploy(outcome: str) -> tuple[RecordedRun, int]:
    """A run that replays the deploy's events (and ends as `outcome` says), and how many log lines it shows."""
    logs, events = _log_events(outcome), _deploy_events(outcome)
    lines = sum(len(e.lines) for e in logs)
    finished = next((e for e in events if isinstance(e, PlanFinished)), None)
    result = deploy_outcome(outcome, summary=finished.summary) if finished is not None else None
    return RecordedRun(logs + events, result), lines


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("outcome", ["running", "failed", "succeeded"])
def test_deploy(snap_compare, size, outcome):
    run, lines = recorded_deploy(outcome)
    screen = DeployScreen(clock=lambda: T0 + 185, run=run)

    async def deploy(pilot):
        await pilot.press("f2")  # Deploy, from the review
        await wait_for(pilot, lambda: pilot.app.step == "deploy")
        if outcome == "running":  # the last event shown: every one before it is too
            rows = screen.query_one(StepsView).rows
            await wait_for(pilot, lambda: rows["create-deployment"].message == "deployment is Creating")
        else:
            await wait_for(pilot, lambda: screen.status == outcome)
        await wait_for(pilot, lambda: sum(p.received for p in screen.query(LogPanel)) == lines)

    app = make_app("review", screens={"deploy": screen})
    assert snap_compare(app, terminal_size=size, run_before=deploy)


@pytest.mark.parametrize("size", SIZES)
def test_error_dialog(snap_compare, size):
    async def fail(pilot):
        pilot.app.push_screen(
            ErrorDialog(
                "Azure refused the request: the subscription has no quota for Standard_DS3_v2 in westeurope.",
                "Pick a smaller instance type on the Endpoint step, or ask for quota.",
                "QuotaExceeded: 4 cores needed, 0 available",
            )
        )
        await pilot.pause()

    assert snap_compare(make_app("endpoint"), terminal_size=size, run_before=fail)


def _forbidden(message: str):
    """Azure's 403 as azure-core raises it: what the wizard's error dialog is given to explain."""
    import json

    from azure.core.exceptions import HttpResponseError
    from azure.core.pipeline.transport import HttpResponse

    class Forbidden(HttpResponse):
        def __init__(self):
            super().__init__(None, None)
            self.status_code, self.reason, self.headers = 403, "Forbidden", {}

        def body(self):
            return json.dumps({"error": {"code": "AuthorizationFailed", "message": message}}).encode()

        def text(self, encoding=None):
            return self.body().decode()

    return HttpResponseError(response=Forbidden())


@pytest.mark.parametrize("size", SIZES)
def test_error_dialog_no_role(snap_compare, size):
    """The longest real error (issue 14): a 403 with the `az role assignment create` command; the body scrolls
    and Close stays visible at 80x24."""
    from rdeploy_tui.azure.errors import explain

    scope = f"{WS_ID}/onlineEndpoints/r-endpoint-forecast"
    error = explain(
        _forbidden(
            "The client 'someone@example.com' with object id '00000000-0000-0000-0000-00000000a11e' does not have "
            "authorization to perform action 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write' over "
            f"scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
        "creating endpoint r-endpoint-forecast",
    )
    assert "az role assignment create" in (error.next_step or "")

    async def fail(pilot):
        pilot.app.push_screen(ErrorDialog(error.what, error.next_step, error.details))
        await pilot.pause()

    assert snap_compare(make_app("endpoint"), terminal_size=size, run_before=fail)


@pytest.mark.parametrize("size", SIZES)
def test_cancel_confirmation(snap_compare, size):
    run = RecordedRun([StepStarted("prepare", "Check workspace ws-ml, its registry and model forecast-model", T0)])
    screen = DeployScreen(clock=lambda: T0 + 30, run=run)

    async def cancel(pilot):
        await pilot.press("f2")  # Deploy, from the review
        rows = screen.query_one(StepsView).rows
        await wait_for(pilot, lambda: pilot.app.step == "deploy" and rows["prepare"].status == "running")
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: pilot.app.screen.query("#no"))

    assert snap_compare(make_app("review", screens={"deploy": screen}), terminal_size=size, run_before=cancel)
