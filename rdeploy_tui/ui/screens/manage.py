"""The workspace's online endpoints: what `rdeploy-tui` opens on when there are some. State, auth,
traffic per deployment, instances, age and scoring URI, with a $ on those that still bill; details of
the selected one; score, logs, traffic, delete. A view over manage_source (the Azure layer): every
call runs in a thread worker, failures become a dialog with the next action."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker

from rdeploy_tui.billing import deleted_sentence, idle_deployments, still_bills
from rdeploy_tui.ui.screens.base import WizardHost, WorkerErrors
from rdeploy_tui.ui.screens.manage_dialogs import TrafficDialog, TypeNameDialog
from rdeploy_tui.ui.screens.manage_source import AzureSource, delete_deployment_problem
from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog
from rdeploy_tui.ui.widgets.footer import KeysFooter

BILL_MARK = "$"


def age(created: str | None, now: float) -> str:
    """'3d', '5h', '12m' since an ISO time; '' when unknown."""
    if not created:
        return ""
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = max(0.0, now - when.timestamp())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def traffic_text(info: Any) -> str:
    shares = [(n, v) for n, v in sorted((info.traffic or {}).items()) if v > 0]
    return " ".join(f"{n} {v}%" for n, v in shares) or "none"


def traffic_cell(info: Any) -> Text:
    """The Traffic column: the shares, then each deployment left at 0 % (it bills, serving nothing) flagged."""
    idle = idle_deployments(info)
    shares = traffic_text(info)
    cell = Text("" if idle and shares == "none" else shares)
    for name in idle:
        cell.append(f"{' ' if cell.plain else ''}{name} 0% {BILL_MARK}idle", style="bold yellow")
    return cell


def short_model(model: str | None) -> str:
    """'NAME:VERSION' from an ARM model id (…/models/NAME/versions/V); other forms as they are."""
    if not model:
        return ""
    parts = model.strip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "versions" and parts[-4] == "models":
        return f"{parts[-3]}:{parts[-1]}"
    return model.removeprefix("azureml:")


def short_image(image: str | None) -> str:
    """The repository:tag of an image, without the registry."""
    return (image or "").rsplit("/", 1)[-1]


class EndpointsRead(Message):
    """Every endpoint of the workspace, with its deployments."""

    def __init__(self, infos: list[Any]) -> None:
        super().__init__()
        self.infos = infos


class BillsRead(Message):
    """What each endpoint bills per hour (azure/prices.py Bill), read after the endpoints (prices take a while)."""

    def __init__(self, bills: dict[str, Any]) -> None:
        super().__init__()
        self.bills = bills


class EndpointsChanged(Message):
    """A change (traffic, delete) is done: what to tell the user."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class EndpointTable(DataTable):
    """The endpoints, one a row. Its height follows the details below it (one row per deployment of the selected
    endpoint), so the selected row is scrolled back into view whenever the height changes."""

    def on_resize(self) -> None:
        self.call_after_refresh(self._cursor_into_view)

    def _cursor_into_view(self) -> None:
        if self.row_count:  # the row the cursor is on by then (the user may have moved it meanwhile)
            self.move_cursor(row=self.cursor_row)


class ManageScreen(WorkerErrors, Screen):
    DEFAULT_CSS = """
    ManageScreen { layout: vertical; }
    ManageScreen #manage-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ManageScreen #manage-status { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    ManageScreen #endpoints { height: 1fr; min-height: 5; }
    ManageScreen #details-title { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    ManageScreen #deployments { height: auto; max-height: 8; }
    ManageScreen #details-uri { height: auto; padding: 0 1; color: $text-muted; }  /* wraps: the URI is read whole */
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "score", "Score", id="manage.score"),
        Binding("l", "logs", "Logs", id="manage.logs"),
        # Not in the footer (full at 80x24, issue 14): F1 and the palette list it.
        Binding("h", "health", "Health", show=False, id="manage.health"),
        Binding("t", "traffic", "Traffic", id="manage.traffic"),
        Binding("d", "delete_deployment", "Del deployment", id="manage.delete_deployment"),
        Binding("x", "delete_endpoint", "Del endpoint", id="manage.delete_endpoint"),
        Binding("r", "refresh", "Refresh", id="manage.refresh"),
        Binding("n", "new", "New deploy", id="manage.new"),
        Binding("u", "update", "Update (rollout)", id="manage.update"),
        Binding(
            "e", "delete_expired", "Del expired", show=False, id="manage.delete_expired"
        ),  # the status line offers it when some expired
        Binding("escape", "new", "Wizard", show=False, id="manage.wizard"),
    ]

    app: WizardHost  # and a textual App

    def __init__(
        self, source: Any = None, *, clock: Callable[[], float] = time.time, infos: list[Any] | None = None
    ) -> None:
        super().__init__()
        self._source = source
        self.clock = clock
        self._initial = infos  # already read (on start): shown without asking Azure again
        self.infos: dict[str, Any] = {}  # name -> EndpointInfo (with deployments)
        self._details_of: str | None = None  # the endpoint whose deployments the details table shows
        self.expired: list[str] = []  # names whose expiry tag has passed
        self.bills: dict[str, Any] = {}  # name -> what it bills per hour (azure/prices.py Bill), once read
        self.loading = False

    @property
    def source(self) -> Any:
        if self._source is None:
            self._source = AzureSource(self.app.state)
        return self._source

    def compose(self) -> ComposeResult:
        yield Static("Online endpoints", id="manage-title", markup=False)
        yield Static("Reading the endpoints …", id="manage-status", markup=False)
        yield EndpointTable(id="endpoints", cursor_type="row", zebra_stripes=True)
        yield Static("", id="details-title", markup=False)
        yield DataTable(id="deployments", cursor_type="row", zebra_stripes=True)
        yield Static("", id="details-uri", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#manage-title", Static).update(f"Online endpoints in {self.source.label}")
        table = self.query_one("#endpoints", DataTable)
        table.add_column(BILL_MARK, key="bill", width=1)
        # What bills and until when, in the table (at 80 columns, before the traffic: a split over long deployment
        # names would push them out of sight); the scoring URI (too long for any column), the auth mode, the age and
        # each deployment's instances are the selected endpoint's details below, whole.
        for label, key in (
            ("Endpoint", "name"),
            ("State", "state"),
            ("Cost", "cost"),
            ("Expires", "expires"),
            ("Traffic", "traffic"),
        ):
            table.add_column(label, key=key)
        self.query_one("#deployments", DataTable).add_columns(
            "Deployment", "State", "Traffic", "Instances", "Model", "Image"
        )
        if self._initial is not None:
            self.show_endpoints(self._initial)
        else:
            self.action_refresh()

    # -- reading -----------------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.loading = True
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        infos = self.source.endpoints()
        self.post_message(EndpointsRead(infos))
        self._read_bills(infos)

    def _read_bills(self, infos: list[Any]) -> None:
        """The hourly price of each endpoint's deployments (worker thread; a source without prices shows none)."""
        bills = getattr(self.source, "bills", None)
        if bills is not None and infos:
            self.post_message(BillsRead(bills(infos)))

    def on_endpoints_read(self, message: EndpointsRead) -> None:
        self.show_endpoints(message.infos)

    def _note_billing(self) -> None:
        """What bills, for the summary printed when the wizard closes."""
        self.app.state.billing_seen = {
            name: (self.bills[name].text() if name in self.bills else None)
            for name, info in self.infos.items()
            if still_bills(info)
        }

    def on_bills_read(self, message: BillsRead) -> None:
        self.bills = message.bills
        self._note_billing()
        table = self.query_one("#endpoints", DataTable)
        for name, bill in message.bills.items():
            if name in self.infos and name in table.rows:
                table.update_cell(name, "cost", bill.short())
        self.show_details()

    def worker_failed(self, worker: Worker) -> None:
        if worker.group == "load":
            self.loading = False
            self._say("Could not read the endpoints (see the message). r reads them again.")
        else:
            self.action_refresh()  # a change failed half-way: show what Azure has now

    def show_endpoints(self, infos: list[Any]) -> None:
        from rdeploy_tui.pipeline.expiry import is_expired, time_left

        self.loading = False
        now = self.clock()
        # expired first (deploy --expires-after): the ones to delete are where the cursor starts
        self.expired = [i.name for i in infos if is_expired(getattr(i, "tags", None), now)]
        infos = sorted(infos, key=lambda i: i.name not in self.expired)
        self.infos = {i.name: i for i in infos}
        table = self.query_one("#endpoints", DataTable)
        keep = self.selected_name()
        table.clear()
        for info in infos:
            bills = still_bills(info)
            bill = self.bills.get(info.name)
            expiry = time_left(getattr(info, "tags", None), now)
            table.add_row(
                Text(BILL_MARK, style="bold yellow") if bills else "",
                info.name,
                info.state,
                bill.short() if bill is not None else ("…" if bills else "-"),
                Text(expiry, style="bold red") if info.name in self.expired else expiry.removesuffix(" left"),
                traffic_cell(info),
                key=info.name,
            )
        if keep in self.infos:
            table.move_cursor(row=table.get_row_index(keep))
        billing = sum(1 for i in infos if still_bills(i))
        self._note_billing()
        idle = [f"{i.name}/{d}" for i in infos for d in idle_deployments(i)]
        if not infos:
            self._say("No online endpoints in this workspace. n starts the deploy wizard.")
        else:
            self._say(
                f"{len(infos)} endpoint(s), {billing} marked {BILL_MARK}: their deployments bill per instance-hour "
                "until deleted."
                + (f" {BILL_MARK}idle: at 0 % traffic, billing for nothing: {', '.join(idle)}." if idle else "")
                + (f" {len(self.expired)} expired (listed first): e deletes them." if self.expired else "")
            )
        self.show_details()

    def selected_name(self) -> str | None:
        table = self.query_one("#endpoints", DataTable)
        if table.row_count == 0:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # no row under the cursor
            return None

    def selected(self) -> Any | None:
        name = self.selected_name()
        return self.infos.get(name) if name else None

    @on(DataTable.RowHighlighted, "#endpoints")
    def show_details(self) -> None:
        info = self.selected()
        deps = self.query_one("#deployments", DataTable)
        # The deployment the cursor was on stays selected when the rows are read again (after a refresh or a
        # change), so d and l act on the deployment the user picked, not on the first one.
        keep = self.selected_deployment() if info is not None and info.name == self._details_of else None
        self._details_of = info.name if info is not None else None
        deps.clear()
        if info is None:
            self.query_one("#details-title", Static).update("")
            self.query_one("#details-uri", Static).update("")
            return
        created = age(getattr(info, "created_at", None), self.clock())
        bill = self.bills.get(info.name)
        self.query_one("#details-title", Static).update(
            f"{info.name}: {info.state}, auth {info.auth_mode}"
            + (f", {info.location}" if info.location else "")
            + (f", created {created} ago" if created else "")
            + (f", bills {bill.text()}" if bill is not None and still_bills(info) else "")
        )
        for d in info.deployments:
            kind = (d.instance_type or "?").removeprefix("Standard_")
            share = info.traffic.get(d.name, 0)
            deps.add_row(
                d.name,
                d.state,
                f"{share}%" if share > 0 else Text(f"0% {BILL_MARK}idle", style="bold yellow"),
                f"{kind} x{d.instance_count}",
                short_model(d.model),
                short_image(d.image),
                key=d.name,
            )
        if keep is not None and keep in {d.name for d in info.deployments}:
            deps.move_cursor(row=deps.get_row_index(keep))
        if not info.deployments:
            self.query_one("#details-title", Static).update(
                f"{info.name}: {info.state}, no deployments (does not bill)"
            )
        self.query_one("#details-uri", Static).update(f"Scoring URI: {info.scoring_uri or 'none yet'}")

    def selected_deployment(self) -> str | None:
        info = self.selected()
        if info is None or not info.deployments:
            return None
        deps = self.query_one("#deployments", DataTable)
        try:
            return str(deps.coordinate_to_cell_key(deps.cursor_coordinate).row_key.value)
        except Exception:
            return info.deployments[0].name

    def _say(self, text: str) -> None:
        self.query_one("#manage-status", Static).update(text)

    def _need_endpoint(self) -> Any | None:
        info = self.selected()
        if info is None:
            self.notify("Select an endpoint first.", severity="warning")
        return info

    # -- score and logs ----------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#endpoints")
    def action_score(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return
        if not info.scoring_uri:
            self.notify(f"{info.name} has no scoring URI yet (it is {info.state}).", severity="warning")
            return
        from rdeploy_tui.ui.screens.manage_scoring import ManageScoringScreen

        self.app.push_screen(ManageScoringScreen(self.source, info))

    def action_logs(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return
        if not info.deployments:
            self.notify(f"{info.name} has no deployments, so no container logs.", severity="warning")
            return
        from rdeploy_tui.ui.screens.manage_logs import ManageLogsScreen

        self.app.push_screen(ManageLogsScreen(self.source, info, deployment=self.selected_deployment()))

    def action_health(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return
        from rdeploy_tui.ui.screens.health import HealthScreen, health_source

        self.app.push_screen(
            HealthScreen(
                health_source(self.source),
                info.name,
                [d.name for d in info.deployments],
                deployment=self.selected_deployment(),
            )
        )

    # -- traffic -----------------------------------------------------------------------------------------
    def action_traffic(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return
        if not info.deployments:
            self.notify(f"{info.name} has no deployments to send traffic to.", severity="warning")
            return

        def chosen(split: dict[str, int] | None) -> None:
            if split is not None:
                self._say(f"Setting the traffic of {info.name} …")
                self.change_traffic(info.name, split)

        self.app.push_screen(TrafficDialog(info.name, [d.name for d in info.deployments], info.traffic), chosen)

    @work(thread=True, exit_on_error=False, group="change")
    def change_traffic(self, endpoint: str, split: dict[str, int]) -> None:
        self.source.set_traffic(endpoint, split)
        self.post_message(EndpointsChanged(f"Traffic of {endpoint} set."))

    def on_endpoints_changed(self, message: EndpointsChanged) -> None:
        self.notify(message.text, title="Done")
        self.action_refresh()

    # -- delete ------------------------------------------------------------------------------------------
    def action_delete_deployment(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return
        deployment = self.selected_deployment()
        if deployment is None:
            self.notify(f"{info.name} has no deployments.", severity="warning")
            return
        problem = delete_deployment_problem(info, deployment)
        if problem:
            self.notify(problem, title="Not deleted", severity="error")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._say(f"Deleting deployment {deployment} of {info.name} …")
                self.delete_deployment(info.name, deployment)

        self.app.push_screen(
            ConfirmDialog(
                f"Delete deployment {deployment} of endpoint {info.name}?\n\nIts instances stop (and stop billing). "
                "This cannot be undone.",
                yes="Delete deployment",
                no="Keep",
                danger=True,
            ),
            answer,
        )

    @work(thread=True, exit_on_error=False, group="change")
    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        self.source.delete_deployment(endpoint, deployment)
        self.post_message(EndpointsChanged(f"Deployment {deployment} of {endpoint} deleted."))

    def action_delete_endpoint(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return

        def typed(ok: bool | None) -> None:
            if ok:
                self._say(f"Deleting endpoint {info.name} and its deployments …")
                self.delete_endpoint(info.name)

        self.app.push_screen(TypeNameDialog(info.name, [d.name for d in info.deployments]), typed)

    def action_delete_expired(self) -> None:
        names = list(getattr(self, "expired", []))
        if not names:
            self.notify("No endpoint has expired (deploy --expires-after sets an expiry).", severity="information")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._say(f"Deleting {', '.join(names)} …")
                self.delete_endpoints(names)

        self.app.push_screen(
            ConfirmDialog(
                f"Delete the expired endpoint(s) {', '.join(names)} and their deployments?\n\n"
                "They stop billing. This cannot be undone.",
                yes="Delete expired",
                no="Keep",
                danger=True,
            ),
            answer,
        )

    @work(thread=True, exit_on_error=False, group="change")
    def delete_endpoints(self, names: list[str]) -> None:
        for name in names:
            self.source.delete_endpoint(name)
        self.post_message(EndpointsChanged(deleted_sentence(names)))

    @work(thread=True, exit_on_error=False, group="change")
    def delete_endpoint(self, endpoint: str) -> None:
        self.source.delete_endpoint(endpoint)
        self.post_message(EndpointsChanged(f"Endpoint {endpoint} deleted: it no longer bills."))

    # -- a new version of the selected endpoint: the update flow (model, packages, script, size, review, rollout) --
    def action_update(self) -> None:
        info = self._need_endpoint()
        if info is None:
            return
        from rdeploy_tui.errors import RdeployError
        from rdeploy_tui.pipeline.rollout import previous_rollout, rollout_sides

        spec = self.app.state.spec.copy()
        spec.endpoint.name = info.name
        try:  # the pipeline's rule (where a rollout starts, or resumes), asked before any step is walked
            sides = rollout_sides(info, previous_rollout(spec))
        except RdeployError as exc:
            said = f"{exc.what} {_update_next_step(info, exc.code)}"
            self._say(said)
            self.notify(said, title="Not updated", severity="warning", timeout=10)
            return
        deployments = tuple(d.name for d in info.deployments)
        self.app.start_update(info.name, sides.old, sides.new, deployments=deployments, source=self._source)

    # -- back to the wizard ------------------------------------------------------------------------------
    def action_new(self) -> None:
        """Close this screen: the deploy wizard is underneath."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()


def _update_next_step(info: Any, code: str | None) -> str:
    """What to do here when an update cannot start (the pipeline says it for the command line)."""
    live = {n: v for n, v in (info.traffic or {}).items() if v > 0}
    if code == "TrafficSplit" and live:
        top = max(live.items(), key=lambda kv: kv[1])[0]
        return f"Press t to give one of them 100 % (e.g. {top}), then u."
    if code == "NoLiveDeployment":
        return "t gives one deployment all the traffic; n deploys a first version."
    return "Press t to change the traffic, then u."


def open_if_endpoints(app: Any) -> None:
    """On start: when the last run's workspace has endpoints, open on them (the wizard stays underneath).
    Only with a last-run spec (otherwise the workspace is not known yet); quietly does nothing on failure,
    the wizard's own sign-in screen explains what is wrong."""
    if not app.state.from_last_run:
        return
    source = AzureSource(app.state)

    def check() -> None:
        try:
            infos = source.endpoints()
        except Exception:  # sign-in or network trouble: the wizard's first screen deals with it
            return
        if infos:
            app.post_message(EndpointsAtStart(source, infos))  # the app opens the list (ui/app.py)

    app.run_worker(check, thread=True, exit_on_error=False, group="manage-check")


class EndpointsAtStart(Message):
    """On start, the last run's workspace has endpoints: the app opens on them."""

    def __init__(self, source: Any, infos: list[Any]) -> None:
        super().__init__()
        self.source, self.infos = source, infos
