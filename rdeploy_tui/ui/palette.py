"""The command palette (F3) lists every action of the screen it was opened on, with its keys, so an
action is found by name and run without knowing its key (as posting and harlequin do)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from rdeploy_tui.ui.keys import ScreenAction, key_label, screen_actions

_PALETTE_ACTIONS = {"command_palette", "app.command_palette"}


class ScreenActionsProvider(Provider):
    def _commands(self) -> list[tuple[str, ScreenAction]]:
        commands = []
        for action in screen_actions(self.screen):
            if action.action in _PALETTE_ACTIONS or not action.enabled:
                continue
            keys = " / ".join(key_label(self.app, k) for k in action.keys)
            commands.append((f"{action.description.strip()} ({keys})", action))
        return commands

    def _run(self, action: ScreenAction) -> Callable[[], Awaitable[bool]]:
        return partial(self.app.run_action, action.action, action.node)

    async def discover(self) -> Hits:
        for text, action in self._commands():
            yield DiscoveryHit(text, self._run(action), help=action.binding_id and f"keymap id: {action.binding_id}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action in self._commands():
            if score := matcher.match(text):
                yield Hit(
                    score,
                    matcher.highlight(text),
                    self._run(action),
                    text=text,
                    help=action.binding_id and f"keymap id: {action.binding_id}",
                )
