"""Keys as the bytes a terminal sends, fed to a running app through Textual's own input parser.

Pilot.press("alt+j") posts a Key that carries no character, so a focused editor never sees the "j" that a real
terminal's ESC j carries (issue 23: alt+j typed a j into the request editor while its test passed). These helpers
send what xterm.js (the browser terminal on an Azure ML compute instance) and tmux send, decoded by the same
XTermParser the app's driver uses, and handed to the app as its driver hands them.

Bytes from xterm.js 6 src/common/input/Keyboard.ts (measured in headless Chromium by
tests/ui/test_browser_terminal.py): F1-F4 SS3 P..S, F5.. CSI n ~, alt+letter ESC letter, ctrl+letter its C0 code.
"""

from __future__ import annotations

import string
from typing import Any

from textual import events
from textual._xterm_parser import XTermParser  # what the app's driver decodes terminal input with

ESC = "\x1b"
_SPECIAL = {
    "f1": ESC + "OP",
    "f2": ESC + "OQ",
    "f3": ESC + "OR",
    "f4": ESC + "OS",
    "f5": ESC + "[15~",
    "f6": ESC + "[17~",
    "f7": ESC + "[18~",
    "f8": ESC + "[19~",
    "f9": ESC + "[20~",
    "f10": ESC + "[21~",
    "f11": ESC + "[23~",
    "f12": ESC + "[24~",
    "escape": ESC,
    "enter": "\r",
    "tab": "\t",
    "shift+tab": ESC + "[Z",
    "backspace": "\x7f",
    "delete": ESC + "[3~",
    "up": ESC + "[A",
    "down": ESC + "[B",
    "right": ESC + "[C",
    "left": ESC + "[D",
    "home": ESC + "[H",
    "end": ESC + "[F",
    "space": " ",
    "question_mark": "?",
}


def xterm_bytes(key: str) -> str:
    """What xterm.js sends for the key Textual names `key` (f2, alt+j, ctrl+s, escape, question_mark, a ...)."""
    if key in _SPECIAL:
        return _SPECIAL[key]
    modifier, _, name = key.rpartition("+")
    if modifier == "alt" and len(name) == 1:
        return ESC + name
    if modifier == "ctrl" and len(name) == 1 and name in string.ascii_lowercase:
        return chr(ord(name) - ord("a") + 1)
    if not modifier and len(name) == 1:
        return name
    raise KeyError(f"no xterm bytes known for {key!r}: add them to tests/ui/terminal_bytes.py")


def decoded(data: str) -> list[events.Key]:
    """The key events Textual's parser makes of `data`, the terminal's escape delay having passed after it."""
    parser = XTermParser()
    return [e for e in [*parser.feed(data), *parser.feed("")] if isinstance(e, events.Key)]


async def send_bytes(pilot: Any, data: str) -> None:
    """Feed `data` to the running app as its driver feeds terminal input, then let the app handle it."""
    app = pilot.app
    for event in decoded(data):
        app._driver.process_message(event)  # the driver's own entry for what it read from the terminal
    await pilot.pause()


async def press_key(pilot: Any, key: str) -> None:
    """Press `key` with the bytes a terminal sends for it."""
    await send_bytes(pilot, xterm_bytes(key))


async def type_text(pilot: Any, text: str) -> None:
    """Type `text` as a terminal sends typed characters."""
    for char in text:
        await send_bytes(pilot, char)
