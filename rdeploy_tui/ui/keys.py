"""Keys: the ones a browser terminal or VS Code keep for themselves, the user's overrides (keymap.yaml),
and every action of a screen with its keys (for the help screen and the command palette).

rdeploy-tui usually runs in JupyterLab's or Azure ML studio's terminal: xterm.js in a browser tab. A key
the browser keeps never reaches xterm.js, so no action may be bound only to such keys
(tests/unit/test_reserved_keys.py walks every BINDINGS against RESERVED_KEYS).

What xterm.js 6 sends (src/common/input/Keyboard.ts; measured in headless Chromium by
tests/ui/test_browser_terminal.py, which decodes each with Textual's parser): F1-F4 ESC O P..S, F8 ESC [19~,
F9 ESC [20~, F10 ESC [21~, alt+letter ESC letter, ctrl+letter its C0 code (ctrl+s 0x13), Esc ESC, ? itself.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.dom import DOMNode
    from textual.screen import Screen

# key (Textual's name) -> who keeps it, and where that is documented.
_CHROME = "Chrome/Edge keep it even when the page asks for it (new/close window or tab, switch tab)"
_CHROME_SRC = (
    "chromium chrome/browser/ui/browser_command_controller.cc IsReservedCommandOrKey; "
    "https://support.google.com/chrome/answer/157179"
)
_VSCODE_SRC = (
    "VS Code terminal.integrated.commandsToSkipShell default list, "
    "https://code.visualstudio.com/docs/terminal/advanced#_keybindings-and-the-shell"
)
RESERVED_KEYS: dict[str, str] = {
    # Chrome and Edge (Chromium): reserved commands a page can never preventDefault.
    "ctrl+n": f"{_CHROME}: new window [{_CHROME_SRC}]",
    "ctrl+shift+n": f"{_CHROME}: new incognito window [{_CHROME_SRC}]",
    "ctrl+t": f"{_CHROME}: new tab [{_CHROME_SRC}]",
    "ctrl+shift+t": f"{_CHROME}: reopen closed tab [{_CHROME_SRC}]",
    "ctrl+w": f"{_CHROME}: close tab [{_CHROME_SRC}]",
    "ctrl+shift+w": f"{_CHROME}: close window [{_CHROME_SRC}]",
    "ctrl+shift+q": f"{_CHROME}: quit (Linux, ChromeOS) [{_CHROME_SRC}]",
    "ctrl+tab": f"{_CHROME}: next tab [{_CHROME_SRC}]",
    "ctrl+shift+tab": f"{_CHROME}: previous tab [{_CHROME_SRC}]",
    "ctrl+pagedown": f"{_CHROME}: next tab [{_CHROME_SRC}]",
    "ctrl+pageup": f"{_CHROME}: previous tab [{_CHROME_SRC}]",
    # Firefox on Linux quits on ctrl+q unless browser.quitShortcut.disabled is set.
    "ctrl+q": (
        "Firefox (Linux) quits [https://support.mozilla.org/kb/keyboard-shortcuts-perform-firefox-tasks-quickly]; "
        f"VS Code: workbench.action.quit / quickOpenView [{_VSCODE_SRC}]"
    ),
    # Browsers: reload, full screen, developer tools. ctrl+r is the same reload command as F5.
    "f5": "browsers reload the page [https://support.google.com/chrome/answer/157179]",
    "ctrl+r": "browsers reload the page (as F5) [https://support.google.com/chrome/answer/157179]",
    "f11": "browsers switch to full screen [https://support.google.com/chrome/answer/157179]",
    "f12": "browsers open the developer tools [https://support.google.com/chrome/answer/157179]",
    # VS Code's integrated terminal gives these to VS Code first (commandsToSkipShell).
    "ctrl+p": f"VS Code: workbench.action.quickOpen [{_VSCODE_SRC}]",
    "ctrl+shift+p": f"VS Code: workbench.action.showCommands [{_VSCODE_SRC}]",
    "f1": f"VS Code: workbench.action.showCommands [{_VSCODE_SRC}]",
    "ctrl+grave_accent": f"VS Code: workbench.action.terminal.toggleTerminal [{_VSCODE_SRC}]",
    # xterm.js sends alt+b / alt+f as ESC b / ESC f, and Textual's input parser reads those as readline's word
    # motions: the app gets ctrl+left / ctrl+right, never alt+b / alt+f (measured: tests/ui/test_browser_terminal.py
    # caught a Format JSON bound to alt+f; tests/unit/test_reserved_keys.py keeps this list in step with the parser).
    "alt+b": "Textual's input parser reads ESC b as ctrl+left (readline word motion) [https://github.com/Textualize/textual/blob/main/src/textual/_xterm_parser.py]",
    "alt+f": "Textual's input parser reads ESC f as ctrl+right (readline word motion) [https://github.com/Textualize/textual/blob/main/src/textual/_xterm_parser.py]",
}


def reserved_reason(key: str) -> str | None:
    """Why `key` may never reach the app in a browser terminal or VS Code (None: it arrives)."""
    return RESERVED_KEYS.get(key.strip())


def split_keys(keys: str) -> list[str]:
    """'f2, alt+n' -> ['f2', 'alt+n'] (a Binding's key string, as Textual splits it)."""
    return [k.strip() for k in keys.split(",") if k.strip()]


_MODIFIERS = {"ctrl", "alt", "shift", "meta", "super", "hyper"}


def _sent_by_keyboards(char: str) -> bool:
    """Whether a keyboard layout types `char` as one key: punctuation, symbols, currency signs and spaces of the
    scripts' own blocks (below U+2000, and currency signs such as the euro). Emoji, dingbats and arrows are
    characters a person pastes, never a key (issue 23: "quit: banana" named the banana emoji and left quit unbound)."""
    category = unicodedata.category(char)
    return category[0] in "PSZ" and (ord(char) < 0x2000 or category == "Sc")


def key_problem(key: str) -> str | None:
    """Why `key` is not a key name Textual knows and a keyboard sends (None: it is one)."""
    from textual.keys import Keys

    *modifiers, name = key.split("+")
    if bad := [m for m in modifiers if m not in _MODIFIERS]:
        return f"unknown modifier {shown(bad[0])} in {shown(key)} (use ctrl, alt, shift)"
    if len(name) == 1 or name in {k.value for k in Keys}:
        return None
    try:  # Textual names punctuation by its Unicode name: question_mark, full_stop ...
        char = unicodedata.lookup(name.replace("_", " ").upper())
    except KeyError:
        return f"unknown key {shown(name)} (examples: f4, alt+n, ctrl+s, question_mark)"
    if not _sent_by_keyboards(char):
        return (
            f"{shown(name)} is the name of the character U+{ord(char):04X}, which no keyboard sends as a key "
            "(examples: f4, alt+n, ctrl+s, question_mark)"
        )
    return None


# -- the user's keymap --------------------------------------------------------------------------------
def keymap_path() -> Path:
    """The user's config dir (RDEPLOY_HOME instead, as for state and logs: tests, side-by-side installs)."""
    from rdeploy_tui import locations

    return locations.keymap_file()


@dataclass
class UserKeymap:
    """The overrides read from keymap.yaml (binding id -> Textual key string) and what was wrong in it."""

    path: Path
    keymap: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_keymap(path: Path | None = None, known_ids: set[str] | None = None) -> UserKeymap:
    """Read keymap.yaml: `binding id: key` or `binding id: [key, key]`. Bad entries are left out and
    described in .problems (never raised); a missing file is an empty keymap. The file is read through
    bounded_read (a FIFO, /dev/zero, deep nesting or a 5,000-digit number is a problem, never a hang or a crash)."""
    loaded, notes = _read_keymap(path or keymap_path(), known_ids)
    loaded.problems += notes.values()
    return loaded


def _read_keymap(path: Path, known_ids: set[str] | None) -> tuple[UserKeymap, dict[str, str]]:
    """The entries that are keys, the problems of those left out, and a note per entry applied although only
    keys a browser keeps were given (the user may run in a native terminal)."""
    from rdeploy_tui import bounded_read

    result = UserKeymap(path)
    notes: dict[str, str] = {}
    try:
        data = bounded_read.read_yaml(path, bounded_read.KEYMAP)
    except FileNotFoundError:
        return result, notes
    except bounded_read.FileRefused as exc:
        result.problems.append(f"{exc.what}: none of it was applied. {exc.next_step}")
        return result, notes
    if data is None:
        return result, notes
    if not isinstance(data, dict):
        result.problems.append(f"{path} must map binding ids to keys, e.g. 'next: f4'")
        return result, notes
    for raw_id, value in data.items():
        binding_id = shown(raw_id)  # from the file: quoted and escaped unless a plain name
        if known_ids is not None and str(raw_id) not in known_ids:
            result.problems.append(f"{binding_id}: no such binding id (the help screen, F1, lists them)")
            continue
        keys = value if isinstance(value, list) else [value]
        names = [k for part in keys if isinstance(part, str) for k in split_keys(part)]
        if not names or not all(isinstance(k, str) for k in keys):
            result.problems.append(f"{binding_id}: give a key or a list of keys, e.g. 'f4' or [f4, alt+x]")
            continue
        if bad := next((p for p in map(key_problem, names) if p), None):
            result.problems.append(f"{binding_id}: {bad}")
            continue
        if all(reserved_reason(k) for k in names):
            notes[str(raw_id)] = (
                f"{binding_id}: {names[0]} may never arrive in a browser terminal "
                f"({(reserved_reason(names[0]) or '').split(' [')[0]})"
            )
        result.keymap[str(raw_id)] = ",".join(names)
    return result, notes


def shown(value: object) -> str:
    from rdeploy_tui.bounded_read import shown as quoted

    return quoted(value)


# Actions no keymap may leave without a key that works (issue 23): without them the user cannot leave the app,
# see its keys or find an action by name.
ESSENTIAL_ACTIONS = {"quit": "Quit", "help": "Help", "command_palette": "the command palette"}


def _is_app(cls: type) -> bool:
    from textual.app import App

    return issubclass(cls, App)


def _working_keys(binding_id: str, keymap: dict[str, str], classes: list[type]) -> tuple[list[str], list[str]]:
    """The keys of an app binding id that reach its action in a browser terminal, and why each other key does not.
    A key works when it is a key, no browser or VS Code keeps it, and no other binding takes it first: another
    app binding holding it (Textual's keymap drops the default that clashes), or, for a binding without
    priority, any screen's or widget's binding (Textual asks the focused widget and the screen first)."""
    placed = [(cls, b) for cls in classes for b in own_bindings(cls)]

    def keys_of(b: Binding) -> list[str]:
        return split_keys(keymap[b.id]) if b.id and b.id in keymap else split_keys(b.key)

    mine = [b for cls, b in placed if _is_app(cls) and b.id == binding_id]
    if not mine:
        return [], []
    priority = any(b.priority for b in mine)
    own_keys = list(dict.fromkeys(k for b in mine for k in keys_of(b)))
    working: list[str] = []
    reasons: list[str] = []
    for key in own_keys:
        if problem := key_problem(key):
            reasons.append(problem)
            continue
        if reserved := reserved_reason(key):
            reasons.append(f"{key}: {reserved.split(' [')[0]}")
            continue
        rivals = [
            b.description or b.action
            for cls, b in placed
            if b.action != mine[0].action
            and key in keys_of(b)
            # On the app, a keymap entry takes its keys from the defaults that held them; elsewhere a screen's
            # or widget's binding wins over an app binding without priority.
            and ((b.id in keymap) if _is_app(cls) else not priority)
        ]
        if rivals:
            reasons.append(f"{key} is also {rivals[0]}'s key")
            continue
        working.append(key)
    return working, reasons


def keep_essential_keys(keymap: dict[str, str], classes: list[type]) -> tuple[dict[str, str], list[str]]:
    """The keymap with what would leave Quit, Help or the command palette without a working key taken out, and a
    sentence for each entry taken out. The essential action's own entry goes first (its default comes back);
    if its default keys are still taken, the entries that took them go."""
    keymap = dict(keymap)
    problems: list[str] = []
    for _ in range(len(keymap) + 1):  # each pass removes an entry or ends
        removed = False
        for binding_id, name in ESSENTIAL_ACTIONS.items():
            working, reasons = _working_keys(binding_id, keymap, classes)
            if working or not reasons:
                continue
            if binding_id in keymap:
                keys = keymap.pop(binding_id)
                defaults = [
                    k
                    for cls in classes
                    if _is_app(cls)
                    for b in own_bindings(cls)
                    if b.id == binding_id
                    for k in split_keys(b.key)
                ]
                problems.append(
                    f"{binding_id}: {keys} would leave {name} without a key that works in a browser terminal "
                    f"({'; '.join(reasons)}); its own keys are kept ({', '.join(defaults)})"
                )
                removed = True
                continue
            default_keys = set(_working_keys(binding_id, {}, classes)[0])
            for other in [i for i, v in keymap.items() if default_keys & set(split_keys(v))]:
                taken = sorted(default_keys & set(split_keys(keymap.pop(other))))
                problems.append(f"{other}: {', '.join(taken)} is {name}'s key; left out so that {name} keeps it")
                removed = True
        if not removed:
            break
    return keymap, problems


def load_user_keymap(path: Path | None = None) -> UserKeymap:
    """keymap.yaml as the app applies it: each entry checked (load_keymap), none leaving Quit, Help or the command
    palette without a working key (keep_essential_keys), and keys given to two actions of one screen said."""
    classes = ui_binding_classes()
    loaded, notes = _read_keymap(path or keymap_path(), {b.id for cls in classes for b in own_bindings(cls) if b.id})
    loaded.keymap, essential = keep_essential_keys(loaded.keymap, classes)
    loaded.problems += essential + [note for i, note in notes.items() if i in loaded.keymap]
    loaded.problems += keymap_clashes(loaded.keymap)
    return loaded


# -- every binding in the UI --------------------------------------------------------------------------
def ui_binding_classes() -> list[type]:
    """Every Screen/Widget/App class of rdeploy_tui.ui that declares its own BINDINGS (imports all ui modules)."""
    from textual.dom import DOMNode

    import rdeploy_tui.ui as ui_package

    classes: list[type] = []
    for info in pkgutil.walk_packages(ui_package.__path__, ui_package.__name__ + "."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, DOMNode)
                and obj.__module__ == module.__name__
                and "BINDINGS" in vars(obj)
            ):
                classes.append(obj)
    return classes


def own_bindings(cls: type) -> list[Binding]:
    from textual.binding import Binding

    return list(Binding.make_bindings(vars(cls)["BINDINGS"]))


def ui_binding_ids() -> set[str]:
    return {b.id for cls in ui_binding_classes() for b in own_bindings(cls) if b.id}


def keymap_clashes(keymap: dict[str, str]) -> list[str]:
    """Keys the keymap gives to one action while another of the same screen (or the app) keeps them.
    (Textual's own clash report misses a binding that has an id but is not in the keymap.)"""
    classes = ui_binding_classes()
    app_classes = [c for c in classes if c.__name__ == "RdeployApp"]
    clashes: list[str] = []
    for cls in classes:
        owners: dict[str, set[tuple[str, str]]] = {}
        for binding in [b for c in {cls, *app_classes} for b in own_bindings(c)]:
            new_keys = split_keys(keymap[binding.id]) if binding.id in keymap else [binding.key]
            for key in new_keys:
                owners.setdefault(key, set()).add((binding.action, binding.description or binding.action))
        for key, actions in owners.items():
            if len(actions) > 1 and any(k == key for i, v in keymap.items() for k in split_keys(v)):
                names = " and ".join(sorted(d for _, d in actions))
                note = f"{key}: bound to both {names} on {cls.__name__}"
                if note not in clashes:
                    clashes.append(note)
    return clashes


# -- what the current screen offers -------------------------------------------------------------------
@dataclass
class ScreenAction:
    """One action offered on a screen, with all its keys (after the user's keymap)."""

    node: DOMNode
    action: str
    description: str
    keys: list[str]
    binding_id: str | None
    enabled: bool


def screen_actions(screen: Screen) -> list[ScreenAction]:
    """Every action the keys of `screen` (its focused widget, the screen, the app) reach now,
    one entry per action with all its keys (the footer's first), the focused widget's first and the app's last."""
    found: dict[tuple[int, str], ScreenAction] = {}
    # The key the footer shows first, then its aliases.
    ordered = sorted(screen.active_bindings.items(), key=lambda item: not item[1].binding.show)
    for key, active in ordered:
        binding = active.binding
        entry = found.get((id(active.node), binding.action))
        if entry is None:
            found[(id(active.node), binding.action)] = ScreenAction(
                active.node,
                binding.action,
                binding.description or binding.action.replace("_", " "),
                [key],
                binding.id,
                active.enabled,
            )
        else:
            entry.keys.append(key)
            entry.description = entry.description or binding.description
    return list(found.values())


def key_label(app: Any, key: str) -> str:
    """How a key is shown (F2, ^s, esc ...): Textual's display, F-keys in capitals."""
    from textual.binding import Binding

    return app.get_key_display(Binding(key, ""))
