"""Step 5: the plumber scoring script (generated or the user's file), its preview, the sample
request, and a local test with R on this machine before anything is paid for in Azure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, RichLog, Static, TextArea
from textual.worker import Worker

from rdeploy_tui.deploy_folder.render import render
from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import DeploySpec, SpecError
from rdeploy_tui.ui.screens.base import WizardStep
from rdeploy_tui.ui.widgets.code_view import CodeView
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.wording import in_wizard_terms

if TYPE_CHECKING:
    from rdeploy_tui.local.checks import LocalReport

CHECK_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


class LocalTestProgress(Message):
    """The local test's worker: a line of progress, or (`report`) its end."""

    def __init__(self, line: str = "", report: LocalReport | None = None) -> None:
        super().__init__()
        self.line, self.report = line, report


class ScriptScreen(WizardStep):
    STEP = "script"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f8", "test_local", "Test locally", id="script.test_local")]

    request_error: var[str | None] = var(None)  # why the sample request cannot be sent

    def __init__(self) -> None:
        super().__init__()
        self.testing = False
        # What the last local test ran with (script choice, request text, model folder) and whether it
        # passed; None before the first. A result shown under since-changed inputs is marked stale.
        self.tested: tuple | None = None
        self.local_passed: bool | None = None
        self._result_text = ""

    def compose_body(self) -> ComposeResult:
        own = self.spec.scoring.script is not None
        with RadioSet(id="script-source", compact=True):
            yield RadioButton("Generate src/plumber.R from the template", value=not own, id="generate")
            yield RadioButton("Use my own plumber script", value=own, id="own")
        yield Field(
            "Script file (relative to the current folder)",
            self.spec.scoring.script or "",
            checks=[lambda v: rules.check_script_path(v, self.app.state.base_dir)],
            placeholder="src/plumber.R",
            id="script-path",
        )
        yield Label("Preview of src/plumber.R", classes="field-label")
        yield CodeView(id="preview")
        yield Label("Sample request (JSON body sent to the score route)", classes="field-label")
        yield TextArea.code_editor(
            json.dumps(self.spec.scoring.sample_request),
            language="json",
            id="sample-request",
            show_line_numbers=False,
            soft_wrap=True,
            tab_behavior="focus",  # Tab moves on to Test locally
        )
        yield Static("", id="request-message", classes="field-message", markup=False)
        with Vertical(id="local-test"):
            yield Label(
                "Test locally (F8): run the API with R here and score the sample request",  # one line at 80 columns
                classes="field-label",
            )
            with Horizontal(classes="buttons"):
                yield Input(placeholder=_model_dir_hint(self.spec.model.kind), compact=True, id="model-dir")
                yield Button("Test locally", id="test-local", compact=True)
            yield Static("", id="local-result", markup=False)
            # min_width: RichLog folds at 78 columns at least (its default), 2-4 more than it has at 80x24
            yield RichLog(max_lines=2000, wrap=True, min_width=20, markup=False, id="local-log", classes="-hidden")

    def on_mount(self) -> None:
        self._sync_source()
        self._check_request()

    def on_screen_resume(self) -> None:
        self._refresh_preview()
        self._follow_model_kind()

    def _follow_model_kind(self) -> None:
        """The packages step reads the model's files and may change the spec's model kind (and its sample request):
        a request the kind cannot take gives way to the spec's, and the local test's hint follows."""
        self.query_one("#model-dir", Input).placeholder = _model_dir_hint(self.spec.model.kind)
        editor = self.query_one("#sample-request", TextArea)
        wanted = json.dumps(self.spec.scoring.sample_request)
        try:
            fits = rules.check_sample_request(json.loads(editor.text), self.spec.model.kind) is None
        except json.JSONDecodeError:
            fits = True  # the user's own typing in progress: left alone, its error shown
        if not fits and editor.text != wanted:
            editor.text = wanted

    # -- script source ---------------------------------------------------------------------------------
    @property
    def own_file(self) -> bool:
        return self.query_one("#own", RadioButton).value

    @on(RadioSet.Changed, "#script-source")
    def _sync_source(self) -> None:
        field = self.query_one("#script-path", Field)
        field.display = self.own_file
        self._refresh_preview()

    @on(Field.Checked, "#script-path")
    def _path_checked(self) -> None:
        self._refresh_preview()

    def _script_choice(self) -> str | None:
        return self.query_one("#script-path", Field).value if self.own_file else None

    def _refresh_preview(self) -> None:
        if not self.is_mounted:
            return
        self._mark_stale_result()  # the script choice may have changed
        preview = self.query_one("#preview", CodeView)
        if self.own_file and self.query_one("#script-path", Field).error:
            preview.show("# choose an existing .R file above to see it here", "x.R")
            return
        spec = self.spec.copy()
        spec.scoring.script = self._script_choice()
        try:
            text = render(spec, base_dir=self.app.state.base_dir).text("src/plumber.R")
        except SpecError as exc:
            text = "# the preview needs a valid spec first:\n" + "\n".join(f"# {p}" for p in exc.problems)
        except (OSError, UnicodeDecodeError) as exc:
            text = f"# cannot read the script: {exc}"
        preview.show(text, "plumber.R")

    # -- sample request ------------------------------------------------------------------------------
    @on(TextArea.Changed, "#sample-request")
    def _check_request(self) -> None:
        text = self.query_one("#sample-request", TextArea).text
        try:
            self.request_error = rules.check_sample_request(json.loads(text), self.spec.model.kind)
        except json.JSONDecodeError as exc:
            self.request_error = f"sample request is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        self.query_one("#request-message", Static).update(self.request_error or "")
        self._mark_stale_result()

    def _test_inputs(self) -> tuple:
        return (
            self._script_choice(),
            self.query_one("#sample-request", TextArea).text,
            self.query_one("#model-dir", Input).value.strip(),
        )

    def _mark_stale_result(self) -> None:
        """A local test result applies to what it ran with: once the request (or script, or model folder)
        changes, it says so (issue 14: "Local test passed" stayed under a changed request)."""
        if self.tested is None or self.testing or not self.is_mounted:
            return
        result = self.query_one("#local-result", Static)
        stale = self._test_inputs() != self.tested
        result.set_class(stale, "-stale")
        if stale:
            result.update(
                ("Local test passed" if self.local_passed else "Local test failed")
                + " for an earlier request, script or model: Test locally again."
            )
        else:
            result.update(self._result_text)

    @on(Input.Changed, "#model-dir")
    def _model_dir_changed(self) -> None:
        self._mark_stale_result()

    def _sample_request(self) -> Any:
        return json.loads(self.query_one("#sample-request", TextArea).text)

    # -- local test ---------------------------------------------------------------------------------------
    def action_test_local(self) -> None:
        if not self.query_one("#test-local", Button).disabled:
            self._test_pressed()

    @on(Button.Pressed, "#test-local")
    def _test_pressed(self) -> None:
        problems = self.problems()
        if problems:
            self.notify(problems[0], title="Fix this first", severity="warning")
            return
        typed = self.query_one("#model-dir", Input).value.strip()
        model_dir = Path(typed).expanduser() if typed else None
        if model_dir is not None and not model_dir.is_dir():
            self.query_one("#local-result", Static).update(
                f"{typed} is not a folder: type the folder holding the model."
            )
            return
        spec = self.spec.copy()
        self._commit_into(spec)
        self.tested, self.local_passed = self._test_inputs(), None
        self.testing = True
        self.query_one("#test-local", Button).disabled = True
        log = self.query_one("#local-log", RichLog)
        log.clear()
        log.remove_class("-hidden")
        self.query_one("#local-result", Static).update("Starting the API with R ...")
        self._show_local_test()
        self.run_local_test(spec, model_dir)

    @work(thread=True, exclusive=True, exit_on_error=False, group="local-test")
    def run_local_test(self, spec: DeploySpec, model_dir: Path | None) -> None:
        from rdeploy_tui.local.checks import run_local_checks  # starts R: only when asked

        if model_dir is None and spec.model.kind != "crate":
            model_dir = self._chosen_model_files()  # the sample model is a crate: test the model itself
        report = run_local_checks(spec, self.app.state.base_dir, model_dir, on_event=self._local_event)
        self.post_message(LocalTestProgress(report=report))

    def _chosen_model_files(self) -> Path | None:
        """The chosen model's files (runs in the worker): where it was registered from in this run, else its
        registered version downloaded to the cache, as the packages step reads it (a cached copy is not fetched
        again)."""
        chosen = self.app.state.chosen_model
        if chosen is None:
            return None
        if chosen.folder is not None:
            return chosen.folder
        workspace = self.app.state.workspace()
        version = (
            workspace.resolve_model_version(chosen.name, chosen.version)
            if chosen.version == "latest"
            else chosen.version
        )
        self.post_message(LocalTestProgress(f"... using model {chosen.name} version {version}'s files"))
        return workspace.download_model(chosen.name, version)

    def _local_event(self, event: Any) -> None:
        """Runs in the worker thread (a check run emits a dozen events: one message each)."""
        line = (
            f"{CHECK_MARKS[event.check.status]} {event.check.name}: {in_wizard_terms(event.check.message, self.flow)}"
            if event.check
            else f"... {event.text}"
        )
        self.post_message(LocalTestProgress(line))

    def on_local_test_progress(self, message: LocalTestProgress) -> None:
        if message.report is None:
            self.query_one("#local-log", RichLog).write(message.line)
        else:
            self._local_done(message.report)

    def _show_local_test(self) -> None:
        """Scroll the local test's block (its result, then its log) to the top of the step: F8 is pressed from anywhere
        on it, and at 80x24 the result is below the fold."""
        self.query_one("#local-test").scroll_visible(top=True, animate=False)

    def _local_done(self, report: LocalReport) -> None:
        self.testing = False
        self.call_after_refresh(self._show_local_test)  # once the result's lines are laid out
        self.query_one("#test-local", Button).disabled = False
        result = self.query_one("#local-result", Static)
        failed = next((c for c in report.checks if c.status == "fail"), None)
        self.local_passed = failed is None
        if failed is None:
            took = f" (ready in {report.startup_seconds:.1f} s)" if report.startup_seconds else ""
            self._result_text = (
                f"Local test passed{took}: the API answered the sample request with HTTP {report.score_status}."
            )
            result.update(self._result_text)
            result.set_class(False, "-failed")
            self._mark_stale_result()
            return
        result.set_class(True, "-failed")
        self._result_text = f"Local test failed at {failed.name}: {in_wizard_terms(failed.message, self.flow)}" + (
            f"\nNext: {in_wizard_terms(failed.next_step, self.flow)}" if failed.next_step else ""
        )
        result.update(self._result_text)
        self._mark_stale_result()
        if failed.details:
            log = self.query_one("#local-log", RichLog)
            for line in failed.details.splitlines()[-40:]:
                log.write(line)

    def worker_failed(self, worker: Worker) -> None:
        if worker.group == "local-test":
            self.testing = False
            self.tested = None
            self.query_one("#test-local", Button).disabled = False
            self.query_one("#local-result", Static).update("The local test failed: see the message.")

    # -- wizard -------------------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        found = super().problems()
        if self.request_error:
            found.append(self.request_error)
        return found

    def action_next(self) -> None:
        """Next after a failed local test (for what is on screen now) asks first: the same failure would
        only show again, after paying for an image build and a deployment."""
        if self.local_passed is False and self.tested == self._test_inputs() and not self.problems():
            from rdeploy_tui.ui.widgets.dialogs import ConfirmDialog

            def answer(yes: bool | None) -> None:
                if yes:
                    super(ScriptScreen, self).action_next()

            self.app.push_screen(
                ConfirmDialog(
                    "The local test of this script and request failed.\n\nGo on anyway? The deployment in Azure will "
                    "most likely fail the same way, after the image build and the instances were paid for.",
                    yes="Go on anyway",
                    no="Stay and fix it",
                ),
                answer,
            )
            return
        super().action_next()

    def _commit_into(self, spec: DeploySpec) -> None:
        spec.scoring.script = self._script_choice()
        spec.scoring.sample_request = self._sample_request()

    def commit(self) -> None:
        self._commit_into(self.spec)


def _model_dir_hint(kind: str) -> str:
    if kind == "crate":
        return "folder with crate.bin (empty: the built-in sample)"
    return "model folder (empty: the chosen model's files)"
