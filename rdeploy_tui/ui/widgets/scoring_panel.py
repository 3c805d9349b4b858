"""Score one endpoint: a JSON editor, the answer (pretty JSON or a table), this session's history,
copyable curl/Python snippets and a small load test. A view over rdeploy_tui.scoring: every HTTP
call runs in a thread worker and comes back as a message; nothing here blocks the UI.

The panel gets a `resolver(deployment) -> ScoringTarget` that may block (Azure: scoring URI and key
through the Azure layer; tests: a local server). The key/token stays in memory: it is shown only
in a snippet the user reveals on purpose, and never written to a log or a file.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, ContentSwitcher, DataTable, Select, Static, TabbedContent, TabPane, TextArea
from textual.worker import Worker, get_current_worker

from rdeploy_tui.scoring.client import ScoringClient
from rdeploy_tui.scoring.load_test import (
    DEFAULT_LOAD_TIME_LIMIT_S,
    MAX_LOAD_CONCURRENCY,
    MAX_LOAD_REQUESTS,
    LoadTestResult,
    run_load_test,
)
from rdeploy_tui.scoring.openapi import sample_from_openapi
from rdeploy_tui.scoring.records import RecordsTable, records_table
from rdeploy_tui.scoring.request import RequestTextError, parse_request_text, request_text
from rdeploy_tui.scoring.result import ScoreResult, double_encoding_message
from rdeploy_tui.scoring.snippets import curl_snippet, python_snippet
from rdeploy_tui.scoring.target import ScoringTarget
from rdeploy_tui.ui.host import WizardHost
from rdeploy_tui.ui.widgets.field import Field, to_int
from rdeploy_tui.ui.worker_errors import WorkerErrors

TargetResolver = Callable[[], ScoringTarget]  # blocking: URI + key/token of the endpoint (deployment unset)
TRAFFIC = "*traffic*"  # Select value: let the endpoint's traffic split choose the deployment
PROGRESS_EVERY_S = 0.2  # load-test progress reaches the screen at most this often
# The History tab keeps the last requests, as many as anyone scrolls back through; older ones are dropped, so a
# scoring screen left sending for hours does not grow (benchmarks/soak.py).
MAX_HISTORY = 200


def show_text(area: TextArea, text: str) -> None:
    """Put `text` in an editor in place. TextArea.load_text makes a new document each time, and a tree-sitter
    document (JSON, bash, Python highlighting) is never freed: its parser holds the document's own read callback
    (measured: ~55 KiB per request on the scoring screen, benchmarks/soak.py). Undo history cleared: it is not an
    edit the user made."""
    if area.text != text:
        area.replace(text, area.document.start, area.document.end)
    area.history.clear()
    area.move_cursor((0, 0))


@dataclass(frozen=True)
class HistoryEntry:
    number: int
    body: str  # the request text as sent
    deployment: str | None
    result: ScoreResult

    def row(self) -> tuple[str, ...]:
        status = "-" if self.result.status is None else str(self.result.status)
        compact = " ".join(self.body.split())
        return (
            str(self.number),
            self.deployment or "traffic",
            self.result.served_by or "-",  # the deployment that answered, as Azure says it
            status,
            f"{self.result.latency_ms:.0f}",
            compact if len(compact) <= 60 else compact[:59] + "…",
        )


class ScoringPanel(WorkerErrors, Vertical):
    app: WizardHost  # and a textual App

    class Scored(Message):
        """A request finished (answered or not): the host screen may update its navigation."""

        def __init__(self, entry: HistoryEntry | None) -> None:
            super().__init__()
            self.entry = entry

    # What the panel's workers report (they never touch its widgets); for the panel alone.
    class TargetResolved(Message, bubble=False):
        """The scoring URI and key are known: the snippets can show them."""

    class Answered(Message, bubble=False):
        def __init__(self, body: str, deployment: str | None, result: ScoreResult) -> None:
            super().__init__()
            self.body, self.deployment, self.result = body, deployment, result

    class NotSent(Message, bubble=False):
        """The request could not be sent (the error is shown by the worker's dialog)."""

    class OpenApiSample(Message, bubble=False):
        def __init__(self, sample: Any, replace_editor: bool, say: bool) -> None:
            super().__init__()
            self.sample, self.replace_editor, self.say = sample, replace_editor, say

    class LoadProgress(Message, bubble=False):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class LoadDone(Message, bubble=False):
        def __init__(self, result: LoadTestResult) -> None:
            super().__init__()
            self.result = result

    sending: var[bool] = var(False)  # a request is in flight (the host screen follows it)

    DEFAULT_CSS = """
    ScoringPanel { height: 1fr; min-height: 16; }
    ScoringPanel TabbedContent { height: 1fr; }
    ScoringPanel TabPane { padding: 0; height: 1fr; }
    ScoringPanel .score-bar { height: 1; margin-bottom: 0; }
    ScoringPanel .score-bar Select { width: 30; }
    ScoringPanel .score-bar Button { margin-left: 1; min-width: 10; }
    ScoringPanel .score-bar Static { width: 1fr; padding-left: 1; color: $text-muted; }
    ScoringPanel #request-editor { height: 7; min-height: 4; }
    ScoringPanel #request-problem { height: auto; color: $error; }
    ScoringPanel #request-problem.-empty, ScoringPanel #result-note.-empty { display: none; }
    ScoringPanel #result-status { height: 1; text-style: bold; }
    ScoringPanel #result-status.-failed { color: $error; }
    ScoringPanel #result-status.-ok { color: $success; }
    ScoringPanel #result-note { height: auto; max-height: 5; color: $warning; }
    ScoringPanel #result-note.-error { color: $error; }
    ScoringPanel #result-view { height: 1fr; min-height: 3; }
    ScoringPanel #result-json, ScoringPanel #result-table { height: 1fr; }
    ScoringPanel #history-table { height: 1fr; }
    ScoringPanel .snippet { height: 1fr; min-height: 4; }
    ScoringPanel .load-fields { height: auto; }
    ScoringPanel .load-fields Field { width: 22; margin-right: 2; }
    ScoringPanel .load-fields Button { margin-top: 1; margin-right: 1; min-width: 8; }
    ScoringPanel #load-result { height: auto; }
    ScoringPanel .hint { color: $text-muted; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # ctrl+s can be the page's "save" in a browser: F9 is the same (ui/keys.py); ctrl+t (Chrome: new
        # tab) never arrives, so the view toggles on F4.
        Binding("ctrl+s,f9", "send", "Send", priority=True, id="send"),
        Binding("f4", "toggle_view", "Table/JSON", id="scoring.toggle_view"),
        Binding("ctrl+o", "openapi_sample", "Sample from API", id="scoring.openapi_sample"),
        # Tab moves the focus on (issue 14), so the editor's layout gets a key of its own: alt+j arrives through
        # xterm.js as ESC j (alt+f would not: ESC f reads as ctrl+right, ui/keys.py); F6/F7 do too but the
        # TextArea keeps them (select line / all). Not in the footer (full at 80x24): the hint beside Send, F1
        # and the palette list it.
        Binding("alt+j", "format_request", "Format JSON", show=False, id="scoring.format_request"),
        # The endpoint's health (ui/screens/health.py): alt+h reaches the app from the editor as alt+j does.
        Binding("alt+h", "health", "Health", show=False, id="scoring.health"),
    ]

    def __init__(
        self,
        endpoint: str,
        resolver: TargetResolver,
        *,
        deployments: list[str] | tuple[str, ...] = (),
        sample: Any = None,
        score_route: str = "/score",
        client: ScoringClient | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.endpoint = endpoint
        self.resolver = resolver
        self.deployments = list(deployments)
        self.sample = sample
        self.score_route = score_route
        self.client = client or ScoringClient()
        self._own_client = client is None
        self._base: ScoringTarget | None = None  # resolved once; reset after a 401 (tokens expire)
        self._base_lock = threading.Lock()
        self.history: list[HistoryEntry] = []
        self.revealed = False

    # -- layout ------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        options = [("traffic split", TRAFFIC)] + [(f"only {d}", d) for d in self.deployments]
        with TabbedContent(id="scoring-tabs"):
            with TabPane("Request", id="tab-request"):
                with Horizontal(classes="score-bar"):
                    yield Select(options, value=TRAFFIC, allow_blank=False, compact=True, id="score-target")
                    yield Button("Send", id="send", variant="primary", compact=True)
                    yield Static("^s/F9 sends, alt+j formats", id="send-hint", markup=False)
                text = request_text(self.sample) if self.sample is not None else "{}"
                # Tab moves on (never traps the focus); alt+j lays the JSON out (2-space indent).
                yield TextArea.code_editor(text, language="json", tab_behavior="focus", id="request-editor")
                yield Static("", id="request-problem", classes="-empty", markup=False)
                with Horizontal(classes="score-bar"):
                    yield Static("No request sent yet.", id="result-status", markup=False)
                    yield Button("Table", id="toggle-view", compact=True, classes="-hidden")
                yield Static("", id="result-note", classes="-empty", markup=False)
                with ContentSwitcher(initial="result-json", id="result-view"):
                    yield TextArea.code_editor("", language="json", read_only=True, id="result-json")
                    yield DataTable(id="result-table", zebra_stripes=True)
            with TabPane("History", id="tab-history"):
                yield Static("This session's requests. Enter re-sends the selected one.", classes="hint")
                yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Snippets", id="tab-snippets"):
                with Horizontal(classes="score-bar"):
                    yield Button("Reveal key", id="reveal", compact=True, variant="warning")
                    yield Button("Copy curl", id="copy-curl", compact=True)
                    yield Button("Copy Python", id="copy-python", compact=True)
                    yield Static("", id="snippet-note", markup=False)
                yield TextArea.code_editor("", language="bash", read_only=True, id="snippet-curl", classes="snippet")
                yield TextArea.code_editor(
                    "", language="python", read_only=True, id="snippet-python", classes="snippet"
                )
            with TabPane("Load test", id="tab-load"):
                yield Static(
                    f"Sends the request N times, C at a time (at most {MAX_LOAD_REQUESTS} requests, "
                    f"{MAX_LOAD_CONCURRENCY} at once, {DEFAULT_LOAD_TIME_LIMIT_S:.0f} s). "
                    "plumber answers one request at a time per instance.",
                    classes="hint",
                    markup=False,
                )
                with Horizontal(classes="load-fields"):
                    yield Field("Requests (N)", "50", checks=[self._check_n], convert=to_int("requests"), id="load-n")
                    yield Field(
                        "Concurrency (C)", "4", checks=[self._check_c], convert=to_int("concurrency"), id="load-c"
                    )
                    yield Button("Start", id="load-start", variant="primary", compact=True)
                    yield Button("Stop", id="load-stop", disabled=True, compact=True)
                yield Static("", id="load-result", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#history-table", DataTable)
        table.add_columns("#", "sent to", "answered by", "status", "ms", "request")
        # The key is fetched on the first send or when the snippets are opened, not before: showing the
        # screen must not call Azure.
        if self.sample is None:
            self.fetch_openapi_sample(replace_editor=True)

    def on_unmount(self) -> None:
        for worker in self.workers_running():
            worker.cancel()
        if self._own_client:
            self.client.close()

    def workers_running(self) -> list[Worker]:
        return [w for w in self.app.workers if w.node is self and w.is_running]

    class HealthAsked(Message):
        """The user asked for the endpoint's health (the app opens its screen: a widget does not import screens)."""

        def __init__(self, endpoint: str, deployments: list[str], deployment: str | None) -> None:
            super().__init__()
            self.endpoint, self.deployments, self.deployment = endpoint, deployments, deployment

    def action_health(self) -> None:
        self.post_message(self.HealthAsked(self.endpoint, list(self.deployments), self.selected_deployment()))

    # -- the target --------------------------------------------------------------------------------------
    def target(self) -> ScoringTarget:
        """The base target, resolved on first use (blocking: worker threads only)."""
        with self._base_lock:
            if self._base is None:
                self._base = self.resolver()
            return self._base

    @work(thread=True, exclusive=True, exit_on_error=False, group="resolve")
    def resolve_target(self) -> None:
        self.target()
        self.post_message(self.TargetResolved())

    def selected_deployment(self) -> str | None:
        value = self.query_one("#score-target", Select).value
        return None if value in (TRAFFIC, Select.NULL) else str(value)

    # -- sending -----------------------------------------------------------------------------------------
    @property
    def editor(self) -> TextArea:
        return self.query_one("#request-editor", TextArea)

    def checked_body(self, *, sending: bool = True) -> str | None:
        """The editor's text when it is JSON; otherwise the problem is shown under it and None returned."""
        problem = self.query_one("#request-problem", Static)
        try:
            parse_request_text(self.editor.text)
        except RequestTextError as exc:
            problem.update(exc.what)
            problem.remove_class("-empty")
            self.editor.cursor_location = (max(0, exc.line - 1), max(0, exc.column - 1))
            self.editor.focus()
            if (
                sending and self.history
            ):  # the answer still shown is not this request's: say so instead of its "HTTP 200"
                self._status(
                    f"Not sent: the request is not JSON. The answer below is from request #{self.history[-1].number}.",
                    False,
                )
            return None
        problem.update("")
        problem.add_class("-empty")
        return self.editor.text

    def action_format_request(self) -> None:
        """Pretty-print the request (2-space indent, as the sample is shown); the change is undoable (ctrl+z).
        Not JSON: the problem is shown under the editor and the text is left as it is."""
        editor = self.editor
        if self.checked_body(sending=False) is None:
            return
        formatted = request_text(parse_request_text(editor.text))
        if formatted != editor.text:
            editor.replace(formatted, editor.document.start, editor.document.end)
        editor.focus()

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.sending:
            return
        body = self.checked_body()
        if body is None:
            return
        self.send(body, self.selected_deployment())

    def send(self, body: str, deployment: str | None) -> None:
        self.sending = True
        self.query_one("#send", Button).disabled = True
        where = f"deployment {deployment}" if deployment else f"{self.endpoint}"
        self._status(f"Sending to {where} …", None)
        self.score_worker(body, deployment)

    @work(thread=True, exit_on_error=False, group="send")
    def score_worker(self, body: str, deployment: str | None) -> None:
        try:
            target = dataclasses.replace(self.target(), deployment=deployment)
        except BaseException:
            self.post_message(self.NotSent())
            raise
        result = self.client.score(target, body)
        if result.status == 401:
            with self._base_lock:
                self._base = None  # fetch the key/token again next time
        self.post_message(self.Answered(body, deployment, result))

    def on_scoring_panel_target_resolved(self) -> None:
        self.refresh_snippets()

    def on_scoring_panel_not_sent(self) -> None:
        self._send_done()

    def on_scoring_panel_answered(self, message: Answered) -> None:
        self.record(message.body, message.deployment, message.result)

    def on_scoring_panel_open_api_sample(self, message: OpenApiSample) -> None:
        self._openapi_done(message.sample, message.replace_editor, message.say)

    def on_scoring_panel_load_progress(self, message: LoadProgress) -> None:
        self.query_one("#load-result", Static).update(message.text)

    def on_scoring_panel_load_done(self, message: LoadDone) -> None:
        self.show_load_result(message.result)

    def worker_failed(self, worker: Worker) -> None:
        if worker.group == "send":
            self._send_done()
            self._status("Not sent: see the message.", False)
        elif worker.group == "load":
            self._load_done()

    def _send_done(self, entry: HistoryEntry | None = None) -> None:
        self.sending = False
        self.query_one("#send", Button).disabled = False
        self.post_message(self.Scored(entry))

    def record(self, body: str, deployment: str | None, result: ScoreResult) -> HistoryEntry:
        """Show a result and add it to the history (UI thread)."""
        entry = HistoryEntry(self.history[-1].number + 1 if self.history else 1, body, deployment, result)
        self.history.append(entry)
        dropped = self.history[:-MAX_HISTORY]
        del self.history[:-MAX_HISTORY]
        if not self.is_mounted:  # the screen was closed while the request was in flight
            return entry
        self._send_done(entry)
        table = self.query_one("#history-table", DataTable)
        for old in dropped:
            table.remove_row(str(old.number))
        table.add_row(*entry.row(), key=str(entry.number))
        self.show_result(result)
        self.refresh_snippets()
        return entry

    def show_result(self, result: ScoreResult) -> None:
        self._status(result.summary(), result.ok)
        note = self.query_one("#result-note", Static)
        why = result.explain()
        wrapped = double_encoding_message(result)
        if why is not None:
            note.update(f"✗ {why.what}\nNext: {why.next_step}")
        elif wrapped is not None:
            note.update(f"⚠ {wrapped}")
        else:
            note.update("")
        note.set_class(why is not None, "-error")
        note.set_class(why is None and wrapped is None, "-empty")
        shown = result.double_encoded if wrapped is not None else result.value
        show_text(
            self.query_one("#result-json", TextArea),
            json.dumps(shown, indent=2, ensure_ascii=False) if wrapped is not None else result.pretty(),
        )
        table = records_table(shown) if result.ok else None
        self._fill_table(table)
        toggle = self.query_one("#toggle-view", Button)
        toggle.set_class(table is None, "-hidden")
        self.query_one("#result-view", ContentSwitcher).current = "result-table" if table else "result-json"
        toggle.label = "JSON" if table else "Table"
        self.refresh_bindings()  # F4 is offered while there is a table to switch to

    def _fill_table(self, table: RecordsTable | None) -> None:
        view = self.query_one("#result-table", DataTable)
        view.clear(columns=True)
        if table is None:
            return
        view.add_columns(*table.columns)
        view.add_rows(table.rows)

    def _status(self, text: str, ok: bool | None) -> None:
        status = self.query_one("#result-status", Static)
        status.update(text)
        status.set_class(ok is True, "-ok")
        status.set_class(ok is False, "-failed")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # F4 switches an answer between its table and its JSON: shown dimmed (None) while no answer has a table.
        if action == "toggle_view":
            toggle = self.query("#toggle-view")  # (none yet while the panel is being composed)
            return True if toggle and not toggle.first().has_class("-hidden") else None
        return True

    @on(Button.Pressed, "#toggle-view")
    def action_toggle_view(self) -> None:
        toggle = self.query_one("#toggle-view", Button)
        if toggle.has_class("-hidden"):
            return
        switcher = self.query_one("#result-view", ContentSwitcher)
        switcher.current = "result-json" if switcher.current == "result-table" else "result-table"
        toggle.label = "Table" if switcher.current == "result-json" else "JSON"

    # -- history -----------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#history-table")
    def _resend(self, event: DataTable.RowSelected) -> None:
        number = int(str(event.row_key.value))
        entry = next((e for e in self.history if e.number == number), None)
        if entry is None:
            return
        show_text(self.editor, entry.body)
        select = self.query_one("#score-target", Select)
        select.value = entry.deployment if entry.deployment in self.deployments else TRAFFIC
        self.query_one("#scoring-tabs", TabbedContent).active = "tab-request"
        if not self.sending:
            self.send(entry.body, entry.deployment)

    # -- snippets ----------------------------------------------------------------------------------------
    def refresh_snippets(self) -> None:
        base = self._base
        note = self.query_one("#snippet-note", Static)
        if base is None:
            note.update("getting the endpoint's key …")
            if self.query_one("#scoring-tabs", TabbedContent).active == "tab-snippets":
                self.resolve_target()
            return
        body = self.editor.text
        if not body.strip():
            body = "{}"
        target = dataclasses.replace(base, deployment=self.selected_deployment())
        show_text(self.query_one("#snippet-curl", TextArea), curl_snippet(target, body, reveal=self.revealed))
        show_text(self.query_one("#snippet-python", TextArea), python_snippet(target, body, reveal=self.revealed))
        note.update("key shown: do not share" if self.revealed else "key masked")
        self.query_one("#reveal", Button).label = "Hide key" if self.revealed else "Reveal key"

    @on(Button.Pressed, "#reveal")
    def toggle_reveal(self) -> None:
        self.revealed = not self.revealed
        self.refresh_snippets()

    @on(TabbedContent.TabActivated, "#scoring-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-snippets":
            self.refresh_snippets()

    @on(Select.Changed, "#score-target")
    def _target_changed(self) -> None:
        self.refresh_snippets()

    @on(Button.Pressed, "#copy-curl")
    def copy_curl(self) -> None:
        self._copy("#snippet-curl", "curl command")

    @on(Button.Pressed, "#copy-python")
    def copy_python(self) -> None:
        self._copy("#snippet-python", "Python snippet")

    def _copy(self, selector: str, what: str) -> None:
        self.refresh_snippets()
        text = self.query_one(selector, TextArea).text
        if not text:
            self.notify("Not connected yet: no snippet to copy.", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        key = "with the key" if self.revealed else "with the key masked"
        self.notify(f"{what} copied ({key}).", title="Copied")

    # -- sample from /openapi.json ----------------------------------------------------------------------
    def action_openapi_sample(self) -> None:
        self.fetch_openapi_sample(replace_editor=True, say=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="openapi")
    def fetch_openapi_sample(self, replace_editor: bool, say: bool = False) -> None:
        doc = self.client.fetch_openapi(self.target(), self.score_route)
        sample = sample_from_openapi(doc, self.score_route) if doc is not None else None
        self.post_message(self.OpenApiSample(sample, replace_editor, say))

    def _openapi_done(self, sample: Any, replace_editor: bool, say: bool) -> None:
        if sample is not None and replace_editor:
            show_text(self.editor, request_text(sample))
            self.notify("Request built from the API's /openapi.json.", title="Sample request")
        elif say:
            self.notify(
                "The API does not describe its arguments at /openapi.json (Azure only routes the score "
                "path to the container): write the request by hand.",
                severity="warning",
            )

    # -- load test ---------------------------------------------------------------------------------------
    @staticmethod
    def _check_n(n: int) -> str | None:
        return None if 1 <= n <= MAX_LOAD_REQUESTS else f"from 1 to {MAX_LOAD_REQUESTS}"

    def _check_c(self, c: int) -> str | None:
        if not 1 <= c <= MAX_LOAD_CONCURRENCY:
            return f"from 1 to {MAX_LOAD_CONCURRENCY}"
        n_field = self.query("#load-n").first(Field) if self.is_mounted else None
        if n_field is not None and n_field.error is None and c > n_field.value:
            return "at most the number of requests"
        return None

    @on(Field.Checked, "#load-n")
    def _n_checked(self) -> None:
        c_field = self.query("#load-c")
        if c_field:
            c_field.first(Field).check()

    @on(Button.Pressed, "#load-start")
    def start_load_test(self) -> None:
        n_field, c_field = self.query_one("#load-n", Field), self.query_one("#load-c", Field)
        if n_field.check() or c_field.check():
            self.notify(n_field.error or c_field.error or "", title="Load test not started", severity="warning")
            return
        body = self.checked_body()
        if body is None:
            self.query_one("#load-result", Static).update("The request in the Request tab is not valid JSON.")
            return
        self.query_one("#load-start", Button).disabled = True
        self.query_one("#load-stop", Button).disabled = False
        self.query_one("#load-result", Static).update("Starting …")
        self.load_worker(body, self.selected_deployment(), n_field.value, c_field.value)

    @on(Button.Pressed, "#load-stop")
    def stop_load_test(self) -> None:
        for worker in self.workers_running():
            if worker.group == "load":
                worker.cancel()
        self.query_one("#load-stop", Button).disabled = True

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load_worker(self, body: str, deployment: str | None, n: int, concurrency: int) -> None:
        worker = get_current_worker()
        target = dataclasses.replace(self.target(), deployment=deployment)
        last = [0.0]

        def progress(done: int, total: int) -> None:
            import time

            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or done == total:
                last[0] = now
                self.post_message(self.LoadProgress(f"{done}/{total} requests …"))

        result = run_load_test(
            self.client, target, body, n, concurrency, cancelled=lambda: worker.is_cancelled, progress=progress
        )
        self.post_message(self.LoadDone(result))

    def show_load_result(self, result: LoadTestResult) -> None:
        if not self.is_mounted:
            return
        self._load_done()
        lines = [result.summary()]
        errors = result.error_lines()
        if errors:
            lines.append("Errors: " + ", ".join(errors))
        self.query_one("#load-result", Static).update("\n".join(lines))

    def _load_done(self) -> None:
        self.query_one("#load-start", Button).disabled = False
        self.query_one("#load-stop", Button).disabled = True
