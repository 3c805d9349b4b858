"""Step 6: endpoint (name, auth mode, expiry) and deployment (name, instance type, count, traffic,
autoscale).

In the update flow the endpoint is the one being updated (not editable), the deployment is the new version's (never
the one serving), and its traffic is the rollout's to shift."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Label, Select, Static

from rdeploy_tui.spec import rules
from rdeploy_tui.spec.traffic import share_note
from rdeploy_tui.ui.screens.base import ListsEndpoints
from rdeploy_tui.ui.widgets.autoscale_form import AutoscaleForm
from rdeploy_tui.ui.widgets.field import Field, to_int

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import EndpointInfo
    from rdeploy_tui.azure.prices import Price
    from rdeploy_tui.ui.wizard_state import UpdateTarget

AUTH_LABELS = {
    "aml_token": "aml_token: Azure ML tokens (expire, refreshed by clients)",
    "key": "key: static keys (simplest for other programs)",
    "aad_token": "aad_token: Microsoft Entra ID tokens",
}


def _optional(text: str) -> str | None:
    return text.strip() or None


class PriceLoaded(Message):
    """The hourly list price of an instance type in the workspace's region (None: not known)."""

    def __init__(self, instance_type: str, price: Price | None) -> None:
        super().__init__()
        self.instance_type, self.price = instance_type, price


class EndpointScreen(ListsEndpoints):
    STEP = "endpoint"
    AUTO_FOCUS = "#endpoint-name-input"

    @property
    def update(self) -> UpdateTarget | None:
        """The update flow's target (the app builds the forms anew when the flow changes)."""
        return self.app.state.update

    def compose_body(self) -> ComposeResult:
        spec = self.spec
        if self.update is not None:
            yield Static(
                f"A new version of endpoint {self.update.endpoint}, rolled out beside {self.update.serving}, "
                "which serves it now.",
                classes="hint",
                markup=False,
            )
        with Grid(id="endpoint-grid"):
            yield Field(
                "Endpoint name",
                spec.endpoint.name,
                checks=[rules.check_endpoint_name],
                warn=self._endpoint_note,
                id="endpoint-name",
            )
            yield Field(
                "Deployment name" if self.update is None else "New deployment's name",
                spec.deployment.name,
                checks=[rules.check_deployment_name, self._not_the_serving_one],
                warn=self._deployment_note,
                id="deployment-name",
            )
            yield Field(
                "Instance count (1-50)",
                str(spec.deployment.instance_count),
                checks=[rules.check_instance_count],
                convert=to_int("instance count"),
                id="instance-count",
            )
            yield Field(
                "Traffic to this deployment (%)",
                str(spec.deployment.traffic),
                checks=[rules.check_traffic],
                convert=to_int("traffic"),
                warn=self._traffic_note,
                id="traffic",
            )
            # The spec's own rule (deployment.expires_after); empty: no expiry tag, the endpoint lives until deleted.
            yield Field(
                "Expires after (8h, 2d; empty: never)",
                spec.deployment.expires_after or "",
                checks=[rules.check_expires_after],
                convert=_optional,
                placeholder="never",
                id="expires-after",
            )
        yield Label("Auth mode", classes="field-label")
        auth = spec.endpoint.auth_mode if spec.endpoint.auth_mode in AUTH_LABELS else "aml_token"
        yield Select(
            [(label, mode) for mode, label in AUTH_LABELS.items()],
            value=auth,
            allow_blank=False,
            compact=True,
            id="auth-mode",
        )
        yield Label("Instance type", classes="field-label")
        yield Select(
            [(t.label, t.name) for t in rules.INSTANCE_TYPES.values()],
            value=self._known_instance_type(spec.deployment.instance_type),
            allow_blank=False,
            compact=True,
            id="instance-type",
        )
        yield Static("", id="instance-warning", classes="field-message -warning", markup=False)
        yield AutoscaleForm(
            spec.deployment.autoscale,
            instance_type=lambda: self.query_one("#instance-type", Select).value,
            instance_count=self._instance_count,
            id="autoscale-form",
        )
        if self.update is not None:
            steps = ", ".join(f"{p} %" for p in spec.rollout.steps)
            yield Static(
                f"Traffic: the new deployment starts at 0 %; the rollout then gives it {steps} while both "
                "answer the same requests, and moves it all back if the new one does worse.",
                id="rollout-traffic",
                classes="hint",
                markup=False,
            )

    def _instance_count(self) -> int | None:
        count = self.query_one("#instance-count", Field)
        return None if count.error else count.value

    @staticmethod
    def _known_instance_type(name: str) -> str:
        known = rules.INSTANCE_TYPES.get(name.lower()) if isinstance(name, str) else None
        return known.name if known else "Standard_DS3_v2"

    def on_mount(self) -> None:
        self.watch(self.app.state, "prices", self._prices_changed, init=False)
        if self.update is not None:
            self.query_one("#endpoint-name-input").disabled = True  # the endpoint is the one being updated
            self.query_one("#deployment-name-input").focus()  # (before AUTO_FOCUS, which would pick the first)
            self.query_one("#traffic", Field).display = False  # the rollout's to shift
        self._instance_changed()

    # -- checks against what exists ------------------------------------------------------------------
    def endpoints_changed(self, endpoints: dict[str, EndpointInfo] | None) -> None:
        for field_id in ("#endpoint-name", "#deployment-name"):
            self.query_one(field_id, Field).check()

    def _existing(self) -> dict[str, EndpointInfo]:
        """The workspace's endpoints by name (empty until listed)."""
        return self.app.state.endpoints or {}

    def _endpoint_note(self, name: str) -> str | None:
        info = self._existing().get(name)
        if info is None or self.update is not None:
            return None
        traffic = ", ".join(f"{d} {p}%" for d, p in info.traffic.items()) or "no traffic yet"
        return f"endpoint {name} exists ({info.state}; {traffic}): the deployment is added to it"

    def _not_the_serving_one(self, name: str) -> str | None:
        update = self.update
        if update is not None and name == update.serving:
            return f"{name} serves {update.endpoint} now: the new version needs another name (e.g. {update.new})"
        return None

    def _deployment_note(self, name: str) -> str | None:
        if not self.is_mounted:
            return None
        endpoint = self.query_one("#endpoint-name", Field).text.strip()
        info = self._existing().get(endpoint)
        exists = info is not None and (name in info.traffic or name in [d.name for d in info.deployments])
        update = self.update
        if update is not None:
            share = info.traffic.get(name, 0) if info is not None else 0
            return (
                f"deployment {name} exists ({share} %): the new version replaces it, beside {update.serving}"
                if exists or name in update.deployments
                else f"a new deployment beside {update.serving}"
            )
        if exists:
            return f"deployment {name} exists on {endpoint}: it will be updated in place"
        return None

    def _traffic_note(self, percent: int) -> str | None:
        """Said before the deploy: the share this deployment will really get (Azure's shares add up to 100)."""
        if not self.is_mounted:
            return None
        info = self._existing().get(self.query_one("#endpoint-name", Field).text.strip())
        return share_note(info.traffic if info else {}, self.query_one("#deployment-name", Field).text.strip(), percent)

    @on(Field.Checked, "#endpoint-name")
    def _endpoint_changed(self) -> None:
        if self.is_mounted:
            self.query_one("#deployment-name", Field).check()

    @on(Field.Checked, "#deployment-name")
    def _deployment_changed(self) -> None:
        traffic = self.query_one("#traffic", Field)
        if self.is_mounted and traffic.query(".field-message"):  # not before its own children are in
            traffic.check()

    @on(Select.Changed, "#instance-type")
    @on(Field.Checked, "#instance-count")
    def _instance_changed(self) -> None:
        value = self.query_one("#instance-type", Select).value
        warning = rules.instance_type_warning(value) if isinstance(value, str) else None
        prices = self.app.state.prices
        if isinstance(value, str) and value not in prices and self._workspace() is not None:
            self.load_price(value)  # only once the workspace (its region) is known: never a sign-in from here
        cost = prices.get(value) if isinstance(value, str) else None
        count = self.query_one("#instance-count", Field).text.strip() if self.is_mounted else ""
        line = cost.text(int(count)) if cost is not None and count.isdigit() and 1 <= int(count) <= 50 else ""
        self.query_one("#instance-warning", Static).update(
            "\n".join(x for x in (warning, line and f"Cost: {line}") if x)
        )
        if self.is_mounted and self.query(AutoscaleForm):
            self.query_one(AutoscaleForm).check()  # what a plumber instance's CPU can reach depends on the size

    @on(AutoscaleForm.Changed)
    def _autoscale_changed(self) -> None:
        self.form_edits += 1

    def problems(self) -> list[str]:
        return super().problems() + self.query_one(AutoscaleForm).problems()

    def _workspace(self):  # type: ignore[no-untyped-def]
        """The spec's workspace when it is already open (its region prices the sizes), else None."""
        ws = self.app.state.opened_workspace
        if ws is None or (ws.subscription_id, ws.resource_group, ws.name) != self.app.state.workspace_key:
            return None
        return ws

    @work(thread=True, exclusive=True, exit_on_error=False, group="price")
    def load_price(self, instance_type: str) -> None:
        from rdeploy_tui.azure.prices import hourly_price

        ws = self._workspace()
        if ws is not None:
            self.post_message(PriceLoaded(instance_type, hourly_price(ws.connection, ws.info.location, instance_type)))

    def on_price_loaded(self, message: PriceLoaded) -> None:
        if (
            message.price is not None
        ):  # unknown stays unsaid here; the review and the deploy summary say "price unknown"
            self.app.state.prices = {**self.app.state.prices, message.instance_type: message.price}

    def _prices_changed(self, _prices: dict[str, Price]) -> None:
        self._instance_changed()

    # -- wizard ---------------------------------------------------------------------------------------
    def commit(self) -> None:
        spec = self.spec
        spec.endpoint.name = self.query_one("#endpoint-name", Field).value
        spec.endpoint.auth_mode = str(self.query_one("#auth-mode", Select).value)
        spec.deployment.name = self.query_one("#deployment-name", Field).value
        spec.deployment.instance_type = str(self.query_one("#instance-type", Select).value)
        spec.deployment.instance_count = self.query_one("#instance-count", Field).value
        if self.update is None:  # the update flow's traffic is the rollout's (it starts at 0 %)
            spec.deployment.traffic = self.query_one("#traffic", Field).value
        spec.deployment.expires_after = self.query_one("#expires-after", Field).value
        spec.deployment.autoscale = self.query_one(AutoscaleForm).value
