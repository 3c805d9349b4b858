"""The one reader of files a user or another process may have written (rdeploy_tui/bounded_read.py): real files,
a real FIFO and real devices; every refusal names the file and says what is wrong, and nothing blocks."""

from __future__ import annotations

import os
import threading

import pytest

from rdeploy_tui import bounded_read as br
from rdeploy_tui.errors import RdeployError

SMALL = br.FileKind("test file", 1024, "give a small file")


def _refusal(fn, *args) -> br.FileRefused:
    """Run fn(*args) in a thread (a read that blocks would otherwise stop the suite) and return its refusal."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(fn(*args))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)  # a safety net only: the assertion is on what came back
    assert not thread.is_alive(), f"{fn.__name__}{args} blocked"
    assert isinstance(outcome[0], br.FileRefused), f"expected a refusal, got {outcome[0]!r}"
    return outcome[0]


def test_a_fifo_nobody_writes_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "keymap.yaml"
    os.mkfifo(fifo)
    refusal = _refusal(br.read_text, fifo, SMALL)
    assert str(fifo) in refusal.what and "named pipe (FIFO)" in refusal.what and "not a regular file" in refusal.what
    assert refusal.next_step == "Give a small file."
    assert isinstance(refusal, RdeployError)  # the CLI and the wizard show it as any explained failure


def test_a_symlink_to_a_fifo_names_both(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "keymap.yaml"
    link.symlink_to(fifo)
    refusal = _refusal(br.read_yaml, link, SMALL)
    assert str(link) in refusal.what and f"it links to {fifo}" in refusal.what


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused_before_a_byte_is_read(device):
    refusal = _refusal(br.read_bytes, device, SMALL)
    assert "character device" in refusal.what and device in refusal.what


def test_a_folder_is_refused(tmp_path):
    assert "is a folder, not a test file" in _refusal(br.read_bytes, tmp_path, SMALL).what


def test_a_missing_file_is_left_to_the_caller(tmp_path):
    with pytest.raises(FileNotFoundError):
        br.read_bytes(tmp_path / "none", SMALL)


def test_size_is_capped_per_kind(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 1025)
    assert "is 1,025 bytes; a test file may be at most 1,024" in _refusal(br.read_bytes, path, SMALL).what
    path.write_bytes(b"x" * 1024)
    assert br.read_bytes(path, SMALL) == b"x" * 1024


def test_utf8_with_or_without_a_bom(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert br.read_json(path, SMALL) == {"a": 1}
    path.write_bytes(b'{"a": "\xff"}')
    refusal = _refusal(br.read_json, path, SMALL)
    assert "is not UTF-8 text (byte 7 cannot be decoded)" in refusal.what


def test_deep_json_is_refused_before_parsing(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    refusal = _refusal(br.read_json, path, br.REQUEST_BODY)
    assert f"is nested more than {br.MAX_DEPTH} levels deep (line 1, column {br.MAX_DEPTH + 1})" in refusal.what
    assert br.parse_json("[" * br.MAX_DEPTH + "]" * br.MAX_DEPTH) is not None


def test_brackets_and_digits_inside_json_strings_do_not_count():
    text = '{"a": "' + "[" * 500 + "9" * 5000 + '\\"]"}'
    assert br.parse_json(text) == {"a": "[" * 500 + "9" * 5000 + '"]'}


def test_a_5000_digit_json_number_is_refused_with_its_place():
    with pytest.raises(br.ContentError) as caught:
        br.parse_json('{"x":\n  [' + "1" * 5000 + "]}")
    assert caught.value.message == "holds a number of 5,000 digits; at most 1,000 are read (line 2, column 4)"
    assert br.parse_json("1" * br.MAX_INT_DIGITS) == int("1" * br.MAX_INT_DIGITS)


def test_invalid_json_says_where():
    with pytest.raises(br.ContentError) as caught:
        br.parse_json('{"a": }')
    assert caught.value.message == "is not valid JSON (line 1, column 7): Expecting value"


def test_deep_yaml_is_refused_at_the_limit_not_at_pythons(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested more than 64 levels deep" in _refusal(br.read_yaml, flow, br.SPEC).what
    block = tmp_path / "block.yaml"
    block.write_text("".join("  " * i + f"k{i}:\n" for i in range(300)))
    assert "nested more than 64 levels deep" in _refusal(br.read_yaml, block, br.SPEC).what


def test_a_long_yaml_integer_names_its_field():
    with pytest.raises(br.ContentError) as caught:
        br.parse_yaml("deployment:\n  probes: [1, 2]\n  instance_count: " + "7" * 5000 + "\n")
    error = caught.value
    assert error.field == "deployment.instance_count" and error.line == 3
    assert error.problem == "holds a number of 5,000 digits; at most 1,000 are read"
    with pytest.raises(br.ContentError) as caught:
        br.parse_yaml("a: {b: [0, 0x" + "f" * 1001 + "]}")
    assert caught.value.field == "a.b[1]"


def test_yaml_aliases_are_counted_as_expanded():
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 10)}]\n" for a, b in zip("abcd", "bcde", strict=True)
    )
    with pytest.raises(br.ContentError) as caught:
        br.parse_yaml(laughs)
    assert "aliases expand to more than 100,000 values" in caught.value.message


def test_a_bad_yaml_date_is_a_content_error_not_a_crash():
    with pytest.raises(br.ContentError):
        br.parse_yaml("when: 2001-13-45\n")


def test_printable_shows_control_characters_as_escapes():
    host = "build-01\x1b]0;pwned\x07\u202e"
    shown = br.printable(host)
    assert shown == "build-01\\x1b]0;pwned\\x07\\u202e"
    assert all(ch.isprintable() for ch in shown)
    assert br.printable("x" * 100, 10) == "x" * 10 + "..."
    assert br.printable("plain host-1") == "plain host-1"


def test_shown_quotes_what_is_not_a_plain_name():
    assert br.shown("blue") == "blue"
    assert br.shown("\x1b[2J") == '"\\x1b[2J"'
