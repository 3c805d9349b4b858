"""What the wizard's screens use of their app beyond Textual's App: the state, the flow and its moves, the update
journey, error dialogs and start-up hooks. RdeployApp (ui/app.py) is the one implementation; screens type their
`app` as WizardHost so that none imports the app module, which imports the screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import App

if TYPE_CHECKING:
    from rdeploy_tui.ui.flow import Flow
    from rdeploy_tui.ui.keys import UserKeymap
    from rdeploy_tui.ui.wizard_state import WizardState


class WizardHost(App[object]):  # App[object]: as Textual types every widget's app
    state: WizardState
    flow: Flow
    painted: bool  # the first frame is on the terminal
    user_keymap: UserKeymap | None = None  # keymap.yaml, once read (after the first screen)

    def goto(self, step: str) -> None:
        raise NotImplementedError

    def next_step(self, step: str) -> None:
        raise NotImplementedError

    def previous_step(self, step: str) -> None:
        raise NotImplementedError

    def start_update(
        self, endpoint: str, serving: str, new: str, *, deployments: tuple[str, ...] = (), source: Any = None
    ) -> None:
        raise NotImplementedError

    def end_update(self) -> None:
        raise NotImplementedError

    def open_endpoints(self, source: Any = None) -> None:
        raise NotImplementedError

    def show_error(self, exc: BaseException, title: str = "Error") -> None:
        raise NotImplementedError

    def after_start(self, callback: Callable[[], Any]) -> None:
        raise NotImplementedError

    def after_first_frame(self, callback: Callable[[], Any]) -> None:
        raise NotImplementedError
