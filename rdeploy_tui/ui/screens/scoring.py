"""Step 9: score the endpoint just deployed. The wizard ends here with the sample request sent once;
the panel (widgets/scoring_panel.py) then offers the editor, history, snippets and the load test.
Scoring itself is rdeploy_tui.scoring; the key comes through the Azure layer inside a worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from rdeploy_tui.scoring.request import request_text
from rdeploy_tui.scoring.result import ScoreResult
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.scoring_panel import ScoringPanel


class ScoringScreen(WizardStep):
    STEP = "score"
    # The editor, every time: focusing it only on mount raced with the screen's own auto-focus, so the
    # focus (and the snapshots) depended on timing.
    AUTO_FOCUS = "#request-editor"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s,f9", "send", "Send", priority=True, id="send")]
    DEFAULT_CSS = """
    ScoringScreen #body { overflow-y: hidden; }
    ScoringScreen #score-heading { height: 1; color: $text-muted; text-overflow: ellipsis; text-wrap: nowrap; }
    """

    def __init__(self, *, autostart: bool = True, resolver: Callable[[], ScoringTarget] | None = None) -> None:
        super().__init__()
        self.autostart = autostart  # tests show a fixed result instead of a live one
        self.resolver = resolver  # None: the deployed endpoint through the Azure layer (tests give a fixed target)

    def compose_body(self) -> ComposeResult:
        spec = self.spec
        yield Static(
            f"Endpoint {spec.endpoint.name} · deployment {spec.deployment.name} · auth {spec.endpoint.auth_mode}",
            id="score-heading",
            markup=False,
        )
        known = (self.app.state.endpoints or {}).get(spec.endpoint.name)
        deployments = [spec.deployment.name] + [
            d.name for d in getattr(known, "deployments", ()) if d.name != spec.deployment.name
        ]
        yield ScoringPanel(
            spec.endpoint.name,
            self.resolver or self._resolve,
            deployments=deployments,
            sample=spec.scoring.sample_request,
            score_route=spec.scoring.routes.score,
            id="scoring-panel",
        )

    def _resolve(self) -> ScoringTarget:
        """Scoring URI and key/token of the deployed endpoint (worker thread: blocks on Azure)."""
        from rdeploy_tui.azure.scoring import endpoint_target  # the SDK loads only when a call needs it

        return endpoint_target(self.app.state.workspace(), self.spec.endpoint.name)

    @property
    def panel(self) -> ScoringPanel:
        return self.query_one("#scoring-panel", ScoringPanel)

    @property
    def busy(self) -> bool:
        return self.is_mounted and self.panel.sending

    @property
    def result(self) -> ScoreResult | None:
        """The last answer shown, None before the first."""
        history = self.panel.history if self.is_mounted else []
        return history[-1].result if history else None

    def on_mount(self) -> None:
        self.panel.editor.focus()
        self.watch(self.panel, "sending", self._sending_changed, init=False)

    def _sending_changed(self, _sending: bool) -> None:
        self.form_edits += 1  # Finish waits for the request in flight

    def action_send(self) -> None:
        """Send what the editor holds (ctrl+s or F9 wherever the focus is)."""
        self.panel.action_send()

    def on_screen_resume(self) -> None:
        if self.autostart and not self.panel.history and not self.panel.sending:
            self.action_score()

    def action_score(self) -> None:
        """Send the spec's sample request to the deployment just created."""
        self.panel.send(request_text(self.spec.scoring.sample_request), self.spec.deployment.name)

    def show_result(self, result: ScoreResult) -> None:
        """Show (and keep in the history) a result obtained elsewhere, e.g. a fixed one in tests."""
        self.panel.record(request_text(self.spec.scoring.sample_request), self.spec.deployment.name, result)

    def problems(self) -> list[str]:
        return ["scoring ..."] if self.busy else []
