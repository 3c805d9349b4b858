"""Reading a file that a user or another process may have written: bounded, checked, never blocking.

Every file rdeploy-tui reads back goes through here (issue 25): the deploy spec and the wizard's last run, keymap.yaml,
the resume state, a deploy lock's holder note, the prices cache, `endpoints score --file`, a rollout's requests file,
a scoring script, a CA bundle, the az CLI's profile, a sandbox deployment's pid file.

- Only regular files: a FIFO, a device such as /dev/zero, a socket or a folder is refused before it is opened
  (stat), and the file is then opened with O_NONBLOCK (a FIFO swapped in meanwhile opens at once instead of
  blocking) and checked again with fstat on that descriptor (what is read is what was checked).
- At most `kind.max_bytes`, checked on the size and again while reading (a file may grow between the two).
- UTF-8 text, with or without a byte order mark (the az CLI and Windows editors write one).
- JSON and YAML are checked before any Python object is built: nesting depth (json and PyYAML recurse per level
  and raise RecursionError near 1,000), integers of more than MAX_INT_DIGITS digits (Python 3.11 refuses to convert
  more than 4,300 with a ValueError from deep inside the parser), YAML aliases counted as if expanded ("billion
  laughs"), a YAML key given twice.
- `printable()` for anything read back and shown: control characters (escape sequences that retitle or clear the
  terminal) are shown as escapes, never sent to the terminal.

A refusal is a FileRefused (an RdeployError): its message names the file, says what is wrong and what to do.
Content checks on text that is not a file (`--data`, an editor) raise ContentError, which names no file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdeploy_tui.errors import RdeployError

if TYPE_CHECKING:
    import yaml

MAX_DEPTH = 64  # mappings/lists inside each other: a spec needs 4 or 5, a request body rarely 10
MAX_INT_DIGITS = 1000  # far past any real value, and well under Python's 4,300 so every number can be printed
MAX_EXPANDED_NODES = 100_000  # YAML values after alias expansion: a large sample request has a few thousand
KiB = 1024
MiB = 1024 * KiB
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class FileKind:
    """One kind of file the tool reads: what to call it, the most it may hold, and what to do when it is refused."""

    what: str
    max_bytes: int
    remedy: str


# Caps per kind: each is far above what the tool or a person writes, and small enough to read at once.
SPEC = FileKind("deploy spec", 1 * MiB, "give the path of a YAML deploy spec (rdeploy-tui init --out DIR writes one)")
LAST_RUN = FileKind("wizard's last-run spec", 1 * MiB, "delete it to start the wizard from the defaults")
KEYMAP = FileKind("keymap", 64 * KiB, "make it a small YAML file of `binding id: key` lines, or delete it")
RESUME_STATE = FileKind("resume file", 1 * MiB, "move it away; the deploy then starts again from the beginning")
LOCK_NOTE = FileKind("deploy lock's holder note", 4 * KiB, "delete it; it only names who holds the lock")
PRICES_CACHE = FileKind("prices cache", 4 * MiB, "delete it; prices are fetched again")
REQUEST_BODY = FileKind(
    "request body", 16 * MiB, "give a JSON file of at most 16 MiB (larger inputs belong in a batch job)"
)
REQUESTS_FILE = FileKind(
    "rollout requests file", 16 * MiB, "give --requests (or rollout.requests_file) a JSON list of request bodies"
)
SCORING_SCRIPT = FileKind("scoring script", 1 * MiB, "give the path of your plumber .R file")
CA_BUNDLE = FileKind("CA bundle", 4 * MiB, "give a PEM file with the CA certificate(s)")
AZ_PROFILE = FileKind("az CLI profile", 4 * MiB, "run `az login` again to rewrite it")
AZ_CONFIG = FileKind("az CLI config", 64 * KiB, "fix it with `az configure`, or delete it")
WORKSPACE_CONFIG = FileKind("workspace config.json", 64 * KiB, "download config.json again from the Azure portal")
PID_FILE = FileKind("pid file", 4 * KiB, "delete it")


class ContentError(ValueError):
    """Text that cannot be taken as it is: `problem` says why; `line`/`column` (1-based) and `field` (a dotted path
    such as deployment.instance_count) say where, when known; `detail` is the parser's own words, if any."""

    def __init__(
        self,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.problem, self.line, self.column, self.field, self.detail = problem, line, column, field, detail
        super().__init__(self.message)

    @property
    def where(self) -> str:
        parts = [f"line {self.line}" + (f", column {self.column}" if self.column else "")] if self.line else []
        if self.field:
            parts.insert(0, self.field)
        return f" ({'; '.join(parts)})" if parts else ""

    @property
    def message(self) -> str:
        """The problem, where, and the parser's words: 'is not valid YAML (line 2, column 1): expected ...'."""
        return self.problem + self.where + (f": {self.detail}" if self.detail else "")


class FileRefused(RdeployError):
    """A file that cannot be read as the kind it should be. `what` names the file and the reason; `next_step` says
    what to do. `content` is the ContentError behind it, when the bytes were read but their content refused."""

    def __init__(self, path: Path | str, problem: str, kind: FileKind, content: ContentError | None = None) -> None:
        self.path, self.problem, self.kind, self.content = Path(path), problem, kind, content
        remedy = kind.remedy[:1].upper() + kind.remedy[1:] + "."
        super().__init__(f"{printable(str(path), 200)} {problem}", remedy, code="FileRefused")


# ----- bytes and text -------------------------------------------------------------------------------------------
def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _check_type(path: Path, mode: int, kind: FileKind) -> None:
    if stat.S_ISDIR(mode):
        raise FileRefused(path, f"is a folder, not a {kind.what}", kind)
    if not stat.S_ISREG(mode):
        target = f" (it links to {printable(os.path.realpath(path), 200)})" if path.is_symlink() else ""
        raise FileRefused(path, f"is {_file_type(mode)}, not a regular file{target}", kind)


def read_bytes(path: Path | str, kind: FileKind) -> bytes:
    """The file's bytes. FileNotFoundError when it does not exist (callers decide whether that is normal);
    FileRefused for anything else that keeps it from being read as a regular file of at most kind.max_bytes."""
    path = Path(path)
    try:
        _check_type(path, os.stat(path).st_mode, kind)  # a device is refused without being opened at all
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror or exc})", kind) from None
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO swapped in since the stat opens at once instead of waiting
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror or exc})", kind) from None
    try:
        info = os.fstat(fd)  # what is read is what is checked
        _check_type(path, info.st_mode, kind)
        if info.st_size > kind.max_bytes:
            raise FileRefused(path, f"is {info.st_size:,} bytes; a {kind.what} may be at most {kind.max_bytes:,}", kind)
        chunks: list[bytes] = []
        size = 0
        while size <= kind.max_bytes:  # the size above may be stale: the file can grow while it is read
            chunk = os.read(fd, min(kind.max_bytes + 1 - size, 1 * MiB))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror or exc})", kind) from None
    finally:
        os.close(fd)
    if size > kind.max_bytes:
        raise FileRefused(path, f"is larger than {kind.max_bytes:,} bytes, the most a {kind.what} may be", kind)
    return b"".join(chunks)


def decode_text(data: bytes) -> str:
    """UTF-8, a leading byte order mark dropped; ContentError naming the first byte that is not UTF-8."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(f"is not UTF-8 text (byte {exc.start:,} cannot be decoded); save it as UTF-8") from None


def read_text(path: Path | str, kind: FileKind) -> str:
    """The file as UTF-8 text (read_bytes' checks, then decode_text's)."""
    data = read_bytes(path, kind)
    try:
        return decode_text(data)
    except ContentError as exc:
        raise FileRefused(path, exc.message, kind, exc) from None


# ----- JSON -----------------------------------------------------------------------------------------------------
# Strings are skipped whole (possessive: no backtracking on an unterminated one), brackets counted, and a run of
# more than MAX_INT_DIGITS digits found where it starts; a linear scan in C, before json builds anything.
_JSON_SCAN = re.compile(
    r'"(?:[^"\\]++|\\.)*+"?|[\[{]|[\]}]|(?<![0-9])[0-9]{' + str(MAX_INT_DIGITS + 1) + "}", re.DOTALL
)


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _digits_problem(count: int | None = None) -> str:
    size = f"{count:,} digits" if count else f"more than {MAX_INT_DIGITS:,} digits"
    return f"holds a number of {size}; at most {MAX_INT_DIGITS:,} are read"


def check_json_text(text: str) -> None:
    """ContentError when `text` nests deeper than MAX_DEPTH or holds a number longer than MAX_INT_DIGITS."""
    depth = 0
    for match in _JSON_SCAN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line, column = _position(text, match.start())
                raise ContentError(f"is nested more than {MAX_DEPTH} levels deep", line=line, column=column)
        elif token in "]}":
            depth -= 1
        elif token[0] != '"':
            line, column = _position(text, match.start())
            end = match.start()
            while end < len(text) and text[end].isdigit():
                end += 1
            raise ContentError(_digits_problem(end - match.start()), line=line, column=column)


def parse_json(text: str) -> object:
    """json.loads after check_json_text; ContentError (with line and column) for anything json refuses. What a file
    holds is unknown until its caller checks its shape: hence `object`, narrowed there."""
    check_json_text(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContentError("is not valid JSON", line=exc.lineno, column=exc.colno, detail=exc.msg) from None
    except (ValueError, RecursionError) as exc:  # checked above; kept so no parser limit ever escapes as a crash
        raise ContentError(f"cannot be read as JSON: {exc}") from None


def read_json(path: Path | str, kind: FileKind) -> object:
    """A JSON file: read_text's checks, then parse_json's."""
    text = read_text(path, kind)
    try:
        return parse_json(text)
    except ContentError as exc:
        raise FileRefused(path, exc.message, kind, exc) from None


# ----- YAML -----------------------------------------------------------------------------------------------------
_INT_TAG = "tag:yaml.org,2002:int"


def _bounded_loader() -> type[yaml.SafeLoader]:
    """yaml.SafeLoader with the checks above (built on first use: PyYAML is imported only by those who read YAML)."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        _depth = 0

        def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
            # The composer recurses once per level: stop at MAX_DEPTH rather than at Python's recursion limit.
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise ContentError(
                        f"is nested more than {MAX_DEPTH} levels deep", line=mark.line + 1, column=mark.column + 1
                    )
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_document(self, node: yaml.Node) -> object:
            _check_node_graph(node)
            return super().construct_document(node)

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, object]:
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        again = key_node.start_mark.line + 1
                        name = shown(key_node.value)
                        raise ContentError(
                            f"is refused: the key {name} is given twice (again on line {again}); keep one",
                            line=key_node.start_mark.line + 1,
                            column=key_node.start_mark.column + 1,
                        )
                    seen.add(key_node.value)
            return super().construct_mapping(node, deep=deep)

    return BoundedLoader


_loader: type[yaml.SafeLoader] | None = None


def _children(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    """(the child's part of a dotted path, the child) for a mapping's keys and values, or a list's items."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        found: list[tuple[str, yaml.Node]] = []
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            found += [(name, key), (name, value)]
        return found
    if isinstance(node, yaml.SequenceNode):
        return [(f"[{i}]", child) for i, child in enumerate(node.value)]
    return []


def _int_digits(text: str) -> int:
    body = text.replace("_", "").lstrip("+-")
    if body[:2].lower() in ("0x", "0o", "0b"):
        body = body[2:]
    return sum(ch.isalnum() for ch in body)


def _check_node_graph(root: yaml.Node) -> None:
    """Before building: count the values as if every alias were copied out, and refuse an alias to its own
    ancestor (a cycle JSON cannot carry) and an integer longer than MAX_INT_DIGITS, naming its dotted path.
    Iterative, memoised per node (an alias shares its node)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "", False)]
    while stack:
        node, where, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for _, c in children)
            if size[key] > MAX_EXPANDED_NODES:
                raise _node_error(
                    node,
                    where,
                    f"is refused: its aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                    '(a "billion laughs" file?)',
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise _node_error(node, where, "is refused: an alias refers to a mapping or list that contains it")
        if node.tag == _INT_TAG and (digits := _int_digits(str(node.value))) > MAX_INT_DIGITS:
            raise _node_error(node, where, _digits_problem(digits))
        on_path.add(key)
        stack.append((node, where, True))
        for part, child in reversed(children):
            if id(child) not in size:
                stack.append((child, part if not where else where + (part if part[0] == "[" else "." + part), False))


def _node_error(node: yaml.Node, where: str, problem: str) -> ContentError:
    mark = node.start_mark
    return ContentError(problem, line=mark.line + 1, column=mark.column + 1, field=where or None)


def parse_yaml(text: str) -> object:
    """yaml.safe_load with the checks above; ContentError (with line, column and, when known, the dotted field)."""
    import yaml

    global _loader
    if _loader is None:
        _loader = _bounded_loader()
    try:
        return yaml.load(text, Loader=_loader)
    except ContentError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContentError(
            "is not valid YAML",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            detail=printable(problem, 200),
        ) from None
    except (ValueError, RecursionError) as exc:  # checked above; kept so no parser limit ever escapes as a crash
        raise ContentError(f"cannot be read as YAML: {printable(str(exc), 120)}") from None


def read_yaml(path: Path | str, kind: FileKind) -> object:
    """A YAML file: read_text's checks, then parse_yaml's."""
    text = read_text(path, kind)
    try:
        return parse_yaml(text)
    except ContentError as exc:
        raise FileRefused(path, exc.message, kind, exc) from None


# ----- showing what was read ------------------------------------------------------------------------------------
def _unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls (ESC starts every terminal sequence); Cf: format characters such as the bidi overrides
    # that reorder what is shown; Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def printable(value: object, limit: int = 80) -> str:
    """Text read from a file (or another process), safe to show on a terminal: control and format characters as
    visible escapes (\\x1b, \\u202e), cut to `limit` characters with "..."."""
    text = str(value)
    cut = len(text) > limit
    text = text[:limit]
    if any(_unsafe(ch) for ch in text):
        text = "".join(ch.encode("unicode_escape").decode("ascii") if _unsafe(ch) else ch for ch in text)
    return text + ("..." if cut else "")


_PLAIN = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def shown(value: object, limit: int = 40) -> str:
    """A value from a file, for a message: a plain short name as it is, anything else quoted with every non-ASCII
    or control character escaped and cut (a spec symlinked to a secret must not echo its lines)."""
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text
    cut = len(text) > limit
    text = text[:limit].encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{text}{"..." if cut else ""}"'
