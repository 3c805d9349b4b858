"""Workers' failures as the wizard shows them: a dialog with what to do next, never a traceback.

A mixin for every screen and widget that runs workers (here, not in screens/base.py: widgets mix it in too, and a widget
must not import a screen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from rdeploy_tui.ui.host import WizardHost


class WorkerErrors:
    """The one place a failed worker is turned into a dialog with the next action (never a traceback).

    Workers are started with exit_on_error=False; Worker.StateChanged does not bubble, so every
    screen that runs workers mixes this in. `worker_failed` lets a screen reset its busy state.
    """

    app: WizardHost  # (the widget's or screen's own, from Textual)

    # A plain name-based handler: @on in a mixin that is not a MessagePump is never registered.
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            # Closing the dialog resumes this screen: do not retry straight into the same dialog.
            self.retry_on_resume = False
            self.app.show_error(event.worker.error)
            self.worker_failed(event.worker)

    retry_on_resume = True

    def should_load_on_resume(self) -> bool:
        """False once, right after an error dialog; a later visit (Back, then Next) tries again."""
        allowed, self.retry_on_resume = self.retry_on_resume, True
        return allowed

    def worker_failed(self, worker: Worker) -> None:
        """Hook: undo a 'working...' state after a worker failed."""
