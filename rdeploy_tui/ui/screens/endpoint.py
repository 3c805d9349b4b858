"""Step 6: endpoint (name, auth mode, expiry) and deployment (name, instance type, count, traffic, autoscale)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Label, Select, Static

from rdeploy_tui.spec import rules
from rdeploy_tui.spec.traffic import share_note
from rdeploy_tui.ui.screens.base import ListsEndpoints, WizardStep
from rdeploy_tui.ui.widgets.autoscale_form import AutoscaleForm
from rdeploy_tui.ui.widgets.field import Field, to_int

AUTH_LABELS = {
    "aml_token": "aml_token: Azure ML tokens (expire, refreshed by clients)",
    "key": "key: static keys (simplest for other programs)",
    "aad_token": "aad_token: Microsoft Entra ID tokens",
}


def _optional(text: str) -> str | None:
    return text.strip() or None


class EndpointScreen(ListsEndpoints, WizardStep):
    STEP = 5
    AUTO_FOCUS = "#endpoint-name-input"

    def compose_body(self) -> ComposeResult:
        spec = self.spec
        with Grid(id="endpoint-grid"):
            yield Field(
                "Endpoint name",
                spec.endpoint.name,
                checks=[rules.check_endpoint_name],
                warn=self._endpoint_note,
                id="endpoint-name",
            )
            yield Field(
                "Deployment name",
                spec.deployment.name,
                checks=[rules.check_deployment_name],
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

    def _instance_count(self) -> int | None:
        count = self.query_one("#instance-count", Field)
        return None if count.error else count.value

    @staticmethod
    def _known_instance_type(name: str) -> str:
        known = rules.INSTANCE_TYPES.get(name.lower()) if isinstance(name, str) else None
        return known.name if known else "Standard_DS3_v2"

    def on_mount(self) -> None:
        self._instance_changed()
        super().on_mount()

    # -- checks against what exists ------------------------------------------------------------------
    def endpoints_listed(self) -> None:
        for field_id in ("#endpoint-name", "#deployment-name"):
            self.query_one(field_id, Field).check()

    def _existing(self) -> dict:
        """name -> azure.EndpointInfo of the workspace's endpoints (empty until listed)."""
        return self.app.session.found.get("endpoints") or {}

    def _endpoint_note(self, name: str) -> str | None:
        info = self._existing().get(name)
        if info is None:
            return None
        traffic = ", ".join(f"{d} {p}%" for d, p in info.traffic.items()) or "no traffic yet"
        return f"endpoint {name} exists ({info.state}; {traffic}): the deployment is added to it"

    def _deployment_note(self, name: str) -> str | None:
        if not self.is_mounted:
            return None
        endpoint = self.query_one("#endpoint-name", Field).text.strip()
        info = self._existing().get(endpoint)
        if info and (name in info.traffic or name in [d.name for d in info.deployments]):
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
        prices = self.app.session.found.setdefault("prices", {})
        if isinstance(value, str) and value not in prices and self.app.session.found.get("workspace") is not None:
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
        self.update_nav()

    def problems(self) -> list[str]:
        return super().problems() + self.query_one(AutoscaleForm).problems()

    @work(thread=True, exclusive=True, exit_on_error=False, group="price")
    def load_price(self, instance_type: str) -> None:
        from rdeploy_tui.azure.prices import hourly_price

        ws = self.app.session.found.get("workspace")
        price = hourly_price(ws.connection, ws.info.location, instance_type)
        self.app.call_from_thread(self._price_loaded, instance_type, price)

    def _price_loaded(self, instance_type: str, price: object) -> None:
        if price is not None:  # unknown stays unsaid here; the review and the deploy summary say "price unknown"
            self.app.session.found.setdefault("prices", {})[instance_type] = price
            if self.is_mounted:
                self._instance_changed()

    # -- wizard ---------------------------------------------------------------------------------------
    def commit(self) -> None:
        spec = self.spec
        spec.endpoint.name = self.query_one("#endpoint-name", Field).value
        spec.endpoint.auth_mode = self.query_one("#auth-mode", Select).value
        spec.deployment.name = self.query_one("#deployment-name", Field).value
        spec.deployment.instance_type = self.query_one("#instance-type", Select).value
        spec.deployment.instance_count = self.query_one("#instance-count", Field).value
        spec.deployment.traffic = self.query_one("#traffic", Field).value
        spec.deployment.expires_after = self.query_one("#expires-after", Field).value
        spec.deployment.autoscale = self.query_one(AutoscaleForm).value
