"""The scoring screen driven with Pilot against a loopback HTTP server that answers like Azure's
front end (records, 424 with model-error headers, JSON inside a string, 401, slow answers)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from textual.widgets import Button, DataTable, Select, Static, TabbedContent, TextArea
from ui_helpers import make_app

from rdeploy_tui.scoring.target import MASK, ScoringTarget
from rdeploy_tui.spec.deploy_spec import default_spec
from rdeploy_tui.ui.screens.scoring import ScoringScreen
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.widgets.scoring_panel import ScoringPanel

KEY = "loopback-key-123"
RECORDS = [{"year": 1971, "forecast": 782.28}, {"year": 1972, "forecast": 779.56}]


class Front(BaseHTTPRequestHandler):
    """Answers by the request's "case" field."""

    requests: ClassVar[list[dict]] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Front.requests.append({"headers": dict(self.headers), "body": body})
        headers = {"azureml-model-deployment": self.headers.get("azureml-model-deployment") or "blue"}
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self.answer(401, {"message": "Unauthorized"}, headers)
        case = json.loads(body).get("case", "ok")
        if case == "424":
            return self.answer(
                424,
                {"error": "forecast_horizon must be one whole number"},
                {**headers, "ms-azureml-model-error-statuscode": "400", "ms-azureml-model-error-reason": "model_error"},
            )
        if case == "wrapped":
            return self.answer(200, [json.dumps(RECORDS)], headers)
        if case == "slow":
            time.sleep(0.05)
        return self.answer(200, RECORDS, headers)

    def answer(self, status, value, headers):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def front():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/score"
    server.shutdown()
    server.server_close()


def app_for(uri: str, key: str = KEY):
    resolved = []

    def resolver():
        resolved.append(1)
        return ScoringTarget(uri, key)

    screen = ScoringScreen(autostart=False, resolver=resolver)
    app = make_app("score", screens={"score": screen})
    return app, screen, resolved


async def wait_for(pilot, condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(0.02)


async def send(pilot, panel: ScoringPanel, body: str | None = None):
    if body is not None:
        panel.editor.load_text(body)
    before = len(panel.history)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: len(panel.history) > before and not panel.sending)
    await pilot.pause()
    return panel.history[-1]


def text(widget: Static) -> str:
    return str(widget.render())


async def test_json_editor_mounts_with_highlighting():
    """tree-sitter 0.26.1 segfaults on the JSON grammar: mounting the editor is the guard."""
    app, screen, resolved = app_for("http://127.0.0.1:9/score")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        editor = screen.panel.editor
        assert editor.language == "json"
        assert json.loads(editor.text) == default_spec().scoring.sample_request
        assert editor.is_syntax_aware
        assert resolved == []  # showing the screen does not fetch the key


async def test_success_shows_status_table_and_history(front):
    app, screen, _ = app_for(front)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = screen.panel
        entry = await send(pilot, panel, '{"case": "ok"}')
        assert entry.result.status == 200
        assert text(panel.query_one("#result-status", Static)).startswith("HTTP 200 from blue in ")
        table = panel.query_one("#result-table", DataTable)
        assert panel.query_one("#result-view").current == "result-table"
        assert [str(c.label) for c in table.columns.values()] == ["year", "forecast"]
        assert table.row_count == 2
        await pilot.press("f4")  # the same answer as pretty JSON
        assert panel.query_one("#result-view").current == "result-json"
        assert json.loads(panel.query_one("#result-json", TextArea).text) == RECORDS
        assert panel.query_one("#history-table", DataTable).row_count == 1
        assert screen.result is entry.result


async def test_424_is_explained(front):
    app, screen, _ = app_for(front)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = screen.panel
        entry = await send(pilot, panel, '{"case": "424"}')
        assert entry.result.status == 424
        note = text(panel.query_one("#result-note", Static))
        assert "HTTP 400" in note and "424" in note and "forecast_horizon must be one whole number" in note
        assert "Next:" in note
        assert panel.query_one("#result-status", Static).has_class("-failed")


async def test_json_inside_a_string_says_how_to_fix_the_script(front):
    app, screen, _ = app_for(front)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = screen.panel
        await send(pilot, panel, '{"case": "wrapped"}')
        note = text(panel.query_one("#result-note", Static))
        assert "JSON inside a string" in note and "jsonlite::toJSON" in note
        assert panel.query_one("#result-table", DataTable).row_count == 2  # the inner records, as a table


async def test_invalid_json_is_refused_at_the_editor(front):
    app, screen, _ = app_for(front)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = screen.panel
        Front.requests.clear()
        panel.editor.load_text('{\n  "case": "ok",\n}')
        await pilot.press("ctrl+s")
        await pilot.pause()
        problem = text(panel.query_one("#request-problem", Static))
        assert "not valid JSON" in problem and "line 3" in problem
        assert panel.editor.cursor_location[0] == 2
        assert not panel.history and Front.requests == []


async def test_wrong_key_is_401_then_the_key_is_fetched_again(front):
    keys = iter(["stale-key", KEY])
    screen = ScoringScreen(autostart=False, resolver=lambda: ScoringTarget(front, next(keys)))
    app = make_app("score", screens={"score": screen})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = screen.panel
        first = await send(pilot, panel, '{"case": "ok"}')
        assert first.result.status == 401
        assert "keys again" in text(panel.query_one("#result-note", Static))
        second = await send(pilot, panel)
        assert second.result.status == 200


async def test_history_resends_to_the_same_deployment(front):
    app, screen, _ = app_for(front)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = screen.panel
        panel.query_one("#score-target", Select).value = "blue"
        await send(pilot, panel, '{"case": "ok", "n": 1}')
        panel.query_one("#score-target", Select).value = "*traffic*"
        await send(pilot, panel, '{"case": "ok", "n": 2}')
        Front.requests.clear()
        panel.query_one("#scoring-tabs", TabbedContent).active = "tab-history"
        history = panel.query_one("#history-table", DataTable)
        history.focus()
        history.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(panel.history) == 3 and not panel.sending)
        assert panel.history[-1].deployment == "blue"
        assert json.loads(Front.requests[-1]["body"]) == {"case": "ok", "n": 1}
        assert Front.requests[-1]["headers"]["azureml-model-deployment"] == "blue"
        assert json.loads(panel.editor.text) == {"case": "ok", "n": 1}


async def test_snippets_mask_the_key_until_revealed(front):
    app, screen, resolved = app_for(front)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = screen.panel
        panel.query_one("#scoring-tabs", TabbedContent).active = "tab-snippets"
        curl = panel.query_one("#snippet-curl", TextArea)
        await wait_for(pilot, lambda: bool(curl.text))
        assert resolved == [1]
        assert KEY not in curl.text and MASK in curl.text
        assert KEY not in panel.query_one("#snippet-python", TextArea).text
        await pilot.click("#copy-curl")
        assert KEY not in app.clipboard
        await pilot.click("#reveal")
        assert KEY in curl.text and KEY in panel.query_one("#snippet-python", TextArea).text
        await pilot.click("#copy-python")
        assert KEY in app.clipboard
        await pilot.click("#reveal")
        assert KEY not in curl.text


async def test_load_test_reports_percentiles_and_refuses_bad_numbers(front):
    app, screen, _ = app_for(front)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = screen.panel
        panel.editor.load_text('{"case": "slow"}')
        panel.query_one("#scoring-tabs", TabbedContent).active = "tab-load"
        await pilot.pause()
        n, c = panel.query_one("#load-n", Field), panel.query_one("#load-c", Field)
        n.set_text("5000")
        await pilot.pause()
        assert n.error and "1000" in n.error
        n.set_text("3")
        c.set_text("4")
        await pilot.pause()
        assert c.error == "at most the number of requests"
        await pilot.click("#load-start")
        await pilot.pause()
        assert panel.query_one("#load-stop", Button).disabled  # refused: not started
        assert "p50" not in text(panel.query_one("#load-result", Static))
        n.set_text("20")
        await pilot.pause()
        assert c.error is None
        await pilot.click("#load-start")
        result = panel.query_one("#load-result", Static)
        await wait_for(pilot, lambda: "p50" in text(result))
        shown = text(result)
        assert "20/20 requests at concurrency 4" in shown and "p95" in shown and "p99" in shown
        assert "req/s" in shown and "0 errors" in shown
        assert not panel.query_one("#load-start", Button).disabled
