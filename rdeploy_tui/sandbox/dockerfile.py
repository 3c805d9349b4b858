"""Reading a Dockerfile the way `docker build` does, as far as the sandbox's build simulation needs.

Pure functions: instructions with their line numbers, the exec/shell forms of ENTRYPOINT/CMD, the
sources of COPY/ADD, and the R packages a RUN line installs.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

KNOWN_INSTRUCTIONS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line the instruction starts on
    keyword: str  # upper case, as docker prints it in "Step i/N : ..."
    args: str  # arguments with continuation lines joined

    def __str__(self) -> str:
        return f"{self.keyword} {self.args}".rstrip()


def parse(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions: comments dropped, `\\` continuations joined."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # docker drops comment lines inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        instructions.append(_instruction(start, " ".join(part for part in pending if part)))
        pending = []
    if pending:
        instructions.append(_instruction(start, " ".join(part for part in pending if part)))
    return instructions


def _instruction(line: int, text: str) -> Instruction:
    keyword, _, args = text.partition(" ")
    return Instruction(line, keyword.upper(), args.strip())


def exec_form(args: str) -> list[str] | None:
    """The JSON-array form of ENTRYPOINT/CMD/RUN/COPY, or None for the shell form."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def command(args: str) -> list[str]:
    """ENTRYPOINT/CMD as the argv docker would run (the shell form goes through /bin/sh -c)."""
    form = exec_form(args)
    return form if form is not None else ["/bin/sh", "-c", args]


def copy_sources(args: str) -> tuple[list[str], str]:
    """COPY/ADD sources and destination, flags (--chown=..., --from=...) left out."""
    form = exec_form(args)
    if form is not None:
        words = form
    else:
        try:
            words = shlex.split(args)
        except ValueError:
            words = args.split()
    words = [word for word in words if not word.startswith("--")]
    if len(words) < 2:
        return [], words[0] if words else ""
    return words[:-1], words[-1]


def copy_from_stage(args: str) -> bool:
    """COPY --from=... reads another stage or image, not the build context."""
    return any(word.startswith("--from=") for word in args.split())


# --- R packages --------------------------------------------------------------------------


@dataclass(frozen=True)
class RInstall:
    """What one RUN line asks R to install."""

    packages: tuple[str, ...]
    checked: bool  # the script itself exits non-zero when a package did not install
    failure_text: str | None  # the message the script prints before exiting, when it says one
    failure_is_error: bool  # printed by stop(): R adds "Error: " and "Execution halted"
    echoes_code: bool  # `R -e` echoes each expression (`> code`); Rscript does not
    code: str  # the R code, shell quoting removed
    call: str  # the install call as R names it in warnings, e.g. install.packages(todo)
    tool: str = "install.packages"  # or "pak" (installs system requirements too) or "install2.r"
    load_checked: bool = False  # the script loads the packages afterwards and exits non-zero when one fails
    load_failure_text: str | None = None  # what it prints before the failing names


_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")
_INSTALL_CALL = re.compile(r"(?:\butils::)?\binstall\.packages\s*\(|\bpak::(?:pkg_install|pak)\s*\(")
_LOAD_CHECK = re.compile(r"\b(?:loadNamespace|requireNamespace|library|require)\s*\(")
_CHECK = re.compile(r"\bq(?:uit)?\s*\([^)]*status\s*=\s*[1-9]|\bq(?:uit)?\s*\(\s*['\"]no['\"]\s*,\s*[1-9]|\bstop\s*\(")
_INSTALL2 = re.compile(r"\binstall2\.r\b((?:\s+[-\w.=]+)+)")


def r_install(run_args: str, script: str | None = None) -> RInstall | None:
    """The R packages a RUN instruction installs, or None when it installs none.

    Understands `install.packages("x")`, `install.packages(c("x", "y"))`, a variable holding such a
    vector (`pkgs <- c(...); install.packages(pkgs)`), `pkgs=` named arguments, and littler's
    `install2.r x y`, and `pak::pkg_install()`. `script` is the text of the R file the RUN line runs
    (`Rscript /tmp/install_packages.R`), when the build copied one. Good enough for the Dockerfiles rdeploy-tui and
    Microsoft's how-to write.
    """
    code = script if script is not None else _r_code(run_args)
    littler = _INSTALL2.search(run_args)
    if littler:
        words = littler.group(1).split()
        named = tuple(word for word in words if not word.startswith("-"))
        # install2.r stops the build on a failed install only with --error / -e
        checked = any(word in ("--error", "-e") for word in words)
        return RInstall(named, checked, None, False, False, run_args, "install2.r") if named else None
    packages: list[str] = []
    call = None
    for found in _INSTALL_CALL.finditer(code):  # e.g. install.packages("pak") then pak::pkg_install(todo)
        arguments = _balanced(code, found.end() - 1)
        first = _first_package_argument(arguments)
        names = _resolve_packages(first, code[: found.start()]) if first else ()
        if names:
            packages += [name for name in names if name not in packages]
            call = (found, arguments)
    if call is None:
        return None
    found, arguments = call
    after = code[found.end() :]
    checked = bool(_CHECK.search(after))
    failure_text, is_error = _failure_text(after) if checked else (None, False)
    call_text = code[found.start() : found.end()] + arguments + ")"
    tool = "pak" if found.group(0).startswith("pak::") else "install.packages"
    load = _LOAD_CHECK.search(after)
    load_rest = after[load.end() :] if load is not None else ""
    load_checked = load is not None and bool(_CHECK.search(load_rest))
    load_failure = _failure_text(load_rest)[0] if load_checked else None
    if tool == "pak":
        checked = True  # pak stops with an error when it cannot install a package
        failure_text, is_error = None, True
    return RInstall(
        tuple(packages),
        checked,
        failure_text,
        is_error,
        _runs_r_console(run_args),
        code,
        call_text,
        tool,
        load_checked,
        load_failure,
    )


def rscript_file(run_args: str) -> str | None:
    """The file a RUN line hands to Rscript (`Rscript /tmp/install_packages.R`), or None."""
    form = exec_form(run_args)
    try:
        words = form if form is not None else shlex.split(run_args)
    except ValueError:
        return None
    if (
        len(words) >= 2
        and posix_basename(words[0]) == "Rscript"
        and words[-1].endswith((".R", ".r"))
        and "-e" not in words
    ):
        return words[-1]
    return None


def posix_basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _r_code(run_args: str) -> str:
    """The R expression(s) handed to `Rscript -e` / `R -e`, with one level of shell quoting removed."""
    form = exec_form(run_args)
    if form is not None:
        return " ".join(form)
    try:
        return " ".join(shlex.split(run_args))
    except ValueError:  # unbalanced quotes: read it as written
        return run_args


def _runs_r_console(run_args: str) -> bool:
    return bool(re.search(r"(^|[\s/])R\s+(--\S+\s+)*-e\b", run_args))


def _balanced(code: str, open_at: int) -> str:
    """The text between the parenthesis at `open_at` and its match, skipping strings."""
    depth = 0
    index = open_at
    quote = ""
    while index < len(code):
        char = code[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return code[open_at + 1 : index]
        index += 1
    return code[open_at + 1 :]


def _code_chars(text: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth after it) for each character of R code outside string literals."""
    depth = 0
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
            continue
        if char in "\"'":
            quote = char
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        yield index, char, depth


def _split_top_level(arguments: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for index, char, depth in _code_chars(arguments):
        if char == "," and depth == 0:
            parts.append(arguments[start:index].strip())
            start = index + 1
    if arguments[start:].strip():
        parts.append(arguments[start:].strip())
    return parts


def _first_package_argument(arguments: str) -> str | None:
    parts = _split_top_level(arguments)
    for part in parts:
        named = re.match(r"pkgs\s*=\s*(.*)\Z", part, re.DOTALL)
        if named:
            return named.group(1).strip()
    positional = [part for part in parts if not re.match(r"[\w.]+\s*=[^=]", part)]
    return positional[0] if positional else None


def _resolve_packages(expression: str, code_before: str, depth: int = 0) -> tuple[str, ...]:
    """Follow literals, variables and wrapping calls (setdiff(pkgs, ...), unique(...)) to the names."""
    expression = expression.strip()
    if depth > 5 or not expression:
        return ()
    if expression.startswith(('"', "'")) or re.match(r"c\s*\(", expression):
        return tuple(_strings(_leading_expression(expression)))
    if re.fullmatch(r"[A-Za-z.][\w.]*", expression):
        assignments = list(re.finditer(rf"(?<![\w.$]){re.escape(expression)}\s*(?:<-|=(?!=))\s*", code_before))
        if assignments:
            found = assignments[-1]
            value = _leading_expression(code_before[found.end() :])
            return _resolve_packages(value, code_before[: found.start()], depth + 1)
        return ()
    call = re.match(r"[\w.:]+\s*\(", expression)
    if call:
        arguments = _split_top_level(_balanced(expression, call.end() - 1))
        if arguments:
            return _resolve_packages(arguments[0], code_before, depth + 1)
    return ()


def _leading_expression(text: str) -> str:
    """The expression at the start of `text`, up to a top-level `;` or newline."""
    for index, char, depth in _code_chars(text):
        if depth < 0 or (char in ";\n" and depth == 0):
            return text[:index].strip()
    return text.strip()


def _strings(expression: str) -> list[str]:
    return [double or single for double, single in _STRING.findall(expression)]


def _failure_text(code_after: str) -> tuple[str | None, bool]:
    """The literal text the script prints when an install failed (e.g. "failed to install: "), and
    whether it is printed by stop()."""
    for call in re.finditer(r"\b(message|stop|cat|print)\s*\(", code_after):
        strings = _strings(_balanced(code_after, call.end() - 1))
        if strings:
            return strings[0], call.group(1) == "stop"
    return None, False
