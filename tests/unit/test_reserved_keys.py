"""Every action of the UI has a key that reaches the app in a browser terminal (xterm.js in Chrome,
Edge, Firefox) and in VS Code's terminal: none is bound only to a key those keep (ui/keys.py).
Headless browsers cannot show their own shortcuts, so this table is what guards them."""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from typing import ClassVar

import pytest
from textual.binding import Binding
from textual.screen import Screen

from rdeploy_tui.ui import keys
from rdeploy_tui.ui.app import RdeployApp


def _bindings_by_action(cls) -> dict[str, list]:
    by_action: dict[str, list] = defaultdict(list)
    for binding in keys.own_bindings(cls):
        by_action[binding.action].append(binding)
    return by_action


def test_the_walk_finds_every_screen_widget_and_the_app():
    names = {cls.__name__ for cls in keys.ui_binding_classes()}
    assert {
        "RdeployApp",
        "WizardStep",
        "DeployScreen",
        "ScoringScreen",
        "ScoringPanel",
        "ManageScreen",
        "ManageScoringScreen",
        "SignInScreen",
        "ConfirmDialog",
        "HelpScreen",
    } <= names


def bound_only_to_reserved(classes) -> list[str]:
    only_reserved = []
    for cls in classes:
        for action, bindings in _bindings_by_action(cls).items():
            if all(keys.reserved_reason(b.key) for b in bindings):
                only_reserved.append(
                    f"{cls.__name__}.{action}: {[b.key for b in bindings]} ({keys.reserved_reason(bindings[0].key)})"
                )
    return only_reserved


def test_no_action_is_bound_only_to_a_key_browsers_or_vscode_keep():
    assert bound_only_to_reserved(keys.ui_binding_classes()) == []


def test_the_check_catches_the_old_bindings():
    class Before(Screen):  # the wizard's keys before they were chosen for browser terminals (issue 14)
        BINDINGS: ClassVar = [
            Binding("ctrl+n", "next", "Next"),
            Binding("escape", "back", "Back"),
            Binding("ctrl+t", "toggle_view", "Table/JSON"),
            Binding("ctrl+s,f9", "send", "Send"),
        ]

    found = bound_only_to_reserved([Before])
    assert [f.split(":")[0] for f in found] == ["Before.next", "Before.toggle_view"]
    assert "new window" in found[0]


def test_textual_defaults_the_app_keeps_have_an_arriving_key_too():
    # Textual's own App bindings (ctrl+q quit, ctrl+p palette) are inherited: ours add F10 and F3.
    app_keys = defaultdict(list)
    for cls in RdeployApp.__mro__:
        if "BINDINGS" in vars(cls):
            for binding in keys.own_bindings(cls):
                app_keys[binding.action].append(binding.key)
    app_keys["command_palette"].append(RdeployApp.COMMAND_PALETTE_BINDING)
    for action in ("quit", "command_palette", "help"):
        assert any(not keys.reserved_reason(k) for k in app_keys[action]), (action, app_keys[action])
    assert not keys.reserved_reason(RdeployApp.COMMAND_PALETTE_BINDING)


def test_every_binding_has_an_id_for_the_keymap():
    missing = [
        f"{cls.__name__}: {b.key} -> {b.action}"
        for cls in keys.ui_binding_classes()
        for b in keys.own_bindings(cls)
        if not b.id
    ]
    assert missing == []


def test_one_id_means_one_action():
    actions: dict[str, set[str]] = defaultdict(set)
    for cls in keys.ui_binding_classes():
        for b in keys.own_bindings(cls):
            actions[b.id].add(b.action)
    assert {i: a for i, a in actions.items() if len(a) > 1} == {}


def test_every_reserved_key_names_its_source_and_is_a_real_key():
    for key, reason in keys.RESERVED_KEYS.items():
        assert keys.key_problem(key) is None, key
        assert "[" in reason and ("http" in reason or ".cc" in reason), (key, reason)


def test_the_old_keys_are_reserved():
    # What the wizard advertised before its keys were chosen for browser terminals (issue 14); each did nothing (or
    # closed the browser) in a browser tab.
    for key in ("ctrl+n", "ctrl+q", "ctrl+t", "ctrl+w", "ctrl+p", "f5", "f11", "f12"):
        assert keys.reserved_reason(key), key
    for key in ("f2", "f3", "f4", "f8", "f9", "f10", "alt+n", "escape", "ctrl+s", "ctrl+x", "question_mark"):
        assert keys.reserved_reason(key) is None, key


def test_keymap_file_overrides_and_reports_bad_entries(tmp_path):
    path = tmp_path / "keymap.yaml"
    path.write_text(
        "next: f4\n"
        "send: [f9, alt+s]\n"
        "quit: ctrl+q\n"  # only a reserved key: applied, but said
        "nosuch: f6\n"  # unknown id
        "back: ctrl+nokey\n"  # not a key
        "help: 12\n",  # not a key string
        encoding="utf-8",
    )
    known = {"next", "send", "quit", "back", "help"}
    loaded = keys.load_keymap(path, known)
    assert loaded.keymap == {"next": "f4", "send": "f9,alt+s", "quit": "ctrl+q"}
    problems = "\n".join(loaded.problems)
    assert "nosuch: no such binding id" in problems
    assert "back: unknown key nokey" in problems
    assert "help: give a key" in problems
    assert "quit: ctrl+q may never arrive in a browser terminal" in problems


def test_keymap_file_missing_empty_or_broken(tmp_path):
    assert keys.load_keymap(tmp_path / "none.yaml").keymap == {}
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert keys.load_keymap(empty).problems == []
    broken = tmp_path / "broken.yaml"
    broken.write_text("next: [f4\n", encoding="utf-8")
    loaded = keys.load_keymap(broken)
    assert loaded.keymap == {} and "not valid YAML" in loaded.problems[0]
    listed = tmp_path / "list.yaml"
    listed.write_text("- f4\n", encoding="utf-8")
    assert "must map binding ids" in keys.load_keymap(listed).problems[0]


def test_keymap_path_follows_rdeploy_home(monkeypatch, tmp_path):
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path))
    assert keys.keymap_path() == tmp_path / "keymap.yaml"


def test_every_alt_letter_textual_reads_as_another_key_is_in_the_table():
    """xterm.js sends alt+LETTER as ESC LETTER; what Textual's own parser makes of each decides which alt keys an
    app can bind. A letter it reads as another key (ESC f is ctrl+right) must be in RESERVED_KEYS."""
    import string

    from textual import events
    from textual._xterm_parser import XTermParser

    misread = set()
    for letter in string.ascii_lowercase:
        parser = XTermParser()
        decoded = [e.key for e in [*parser.feed("\x1b" + letter), *parser.feed("")] if isinstance(e, events.Key)]
        if decoded != [f"alt+{letter}"]:
            misread.add(f"alt+{letter}")
    assert misread and misread <= set(keys.RESERVED_KEYS), misread - set(keys.RESERVED_KEYS)


def test_a_character_no_keyboard_sends_is_not_a_key():
    assert "U+1F34C, which no keyboard sends" in keys.key_problem("banana")
    assert "U+2603" in keys.key_problem("ctrl+snowman")
    for key in ("question_mark", "euro_sign", "degree_sign", "section_sign", "f4", "alt+n", "ctrl+s", "a", "5"):
        assert keys.key_problem(key) is None, key


@pytest.mark.parametrize(
    ("entries", "kept", "said"),
    [
        ({"quit": "banana"}, {}, "quit: banana would leave Quit without a key that works"),
        ({"quit": "f5"}, {}, "(f5: browsers reload the page); its own keys are kept (f10, ctrl+q)"),
        ({"quit": "ctrl+q"}, {}, "quit: ctrl+q would leave Quit without a key that works"),
        ({"help": "f10"}, {}, "help: f10 is Quit's key; left out so that Quit keeps it"),
        ({"command_palette": "f10"}, {}, "command_palette: f10 is Quit's key"),
        ({"help": "f2"}, {}, "help: f2 would leave Help without a key that works in a browser terminal (f2 is also"),
        ({"next": "question_mark"}, {}, "next: question_mark is Help's key; left out so that Help keeps it"),
        ({"command_palette": "ctrl+p"}, {}, "would leave the command palette without a key that works"),
        # Swaps and moves that leave every essential action a key are the user's to make.
        # F2 is also the deploy screen's Resume (deploy.resume): a swap moves it too, else Help has no key there.
        (
            {"help": "f2", "next": "question_mark", "deploy.resume": "question_mark"},
            {"help": "f2", "next": "question_mark", "deploy.resume": "question_mark"},
            None,
        ),
        ({"quit": "f6", "next": "f4"}, {"quit": "f6", "next": "f4"}, None),
        ({"quit": "f6,ctrl+q"}, {"quit": "f6,ctrl+q"}, None),
    ],
)
def test_no_keymap_leaves_quit_help_or_the_palette_without_a_working_key(entries, kept, said):
    keymap, problems = keys.keep_essential_keys(entries, keys.ui_binding_classes())
    assert keymap == kept
    if said is None:
        assert problems == []
    else:
        assert len(problems) == 1 and said in problems[0], problems


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "deep", "digits"])
def test_a_keymap_that_cannot_be_read_is_a_problem_not_a_hang(tmp_path, special):
    path = tmp_path / "keymap.yaml"
    if special == "fifo":
        os.mkfifo(path)
    elif special == "deep":
        path.write_text("next: " + "[" * 3000 + "]" * 3000 + "\n")
    elif special == "digits":
        path.write_text("next: f4\nquit: " + "1" * 5000 + "\n")
    else:
        path.symlink_to(special)
    loaded: list = []
    reader = threading.Thread(target=lambda: loaded.append(keys.load_keymap(path)), daemon=True)
    reader.start()
    reader.join(60)  # a safety net: the assertions are on what came back
    assert loaded, "reading keymap.yaml blocked"
    assert loaded[0].keymap == {}
    (problem,) = loaded[0].problems
    assert str(path) in problem and "none of it was applied" in problem
    assert {"fifo": "named pipe", "/dev/zero": "character device", "deep": "nested", "digits": "5,000 digits"}[
        special
    ] in problem
