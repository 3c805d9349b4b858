"""Judging a /score response: is it JSON, is it JSON inside a string, were its numbers rounded.

Pure functions (no R, no HTTP) so each finding is unit-tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rdeploy_tui.bounded_read import parse_json

PLUMBER_DEFAULT_DIGITS = 4  # plumber's json serializer rounds to 4 decimal places unless told digits = NA
DOUBLE_ENCODING_FIX = (
    "return the data.frame (or list) itself from the handler, not jsonlite::toJSON(...): plumber encodes the "
    "return value as JSON, so a JSON string gets encoded a second time"
)
ROUNDING_FIX = "declare the handler's serializer with full precision: #* @serializer json list(digits = NA)"


@dataclass(frozen=True)
class Finding:
    status: str  # "ok" | "warn" | "fail"
    message: str
    next_step: str | None = None


def parse_body(body: bytes) -> tuple[bool, object]:
    """(True, value) when body is JSON; (False, None) otherwise."""
    try:
        return True, parse_json(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):  # ContentError too: nested too deep, a number too long
        return False, None


def double_encoded(value: object) -> object:
    """The inner value when `value` is JSON text wrapped in a JSON string (plumber boxes it: ["[...]"])."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:1] not in ("[", "{"):
        return None
    try:
        return parse_json(text)
    except ValueError:
        return None


def numbers(value: object) -> list[float]:
    """Every number in a JSON value, in document order (booleans are not numbers)."""
    found: list[float] = []

    def walk(v: object) -> None:
        if isinstance(v, bool):
            return
        if isinstance(v, (int, float)):
            found.append(float(v))
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


def decimals(x: float) -> int:
    """Decimal places in the shortest text of x (782.2776 -> 4, 1e-05 -> 5, 12.0 -> 0)."""
    exponent = Decimal(repr(x)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _same(a: float, b: float) -> bool:
    # Full-precision JSON (digits = NA) carries 15 significant digits; anything coarser is a change.
    return a == b or abs(a - b) <= 1e-13 * max(abs(a), abs(b))


def _rounded_to_default(full: float, got: float) -> bool:
    return decimals(got) <= PLUMBER_DEFAULT_DIGITS and abs(got - full) <= 0.5 * 10**-PLUMBER_DEFAULT_DIGITS * (1 + 1e-9)


def precision_finding(reference: object, response: object) -> Finding:
    """Compare the response's numbers with the crate's own full-precision result (`reference`, the
    crate called directly in R; None when that was not possible)."""
    got = numbers(response)
    if not got:
        return Finding("ok", "the response holds no numbers to check")
    # What plumber's default rounding leaves: no number longer than 4 places, and some exactly 4 long.
    looks_rounded = all(decimals(g) <= PLUMBER_DEFAULT_DIGITS for g in got) and any(
        decimals(g) == PLUMBER_DEFAULT_DIGITS for g in got
    )
    if reference is not None:
        ref = numbers(reference)
        if len(ref) == len(got):
            changed = [(r, g) for r, g in zip(ref, got, strict=True) if not _same(r, g)]
            if not changed:
                return Finding("ok", f"all {len(got)} numbers match the crate's own result at full precision")
            r, g = changed[0]
            if all(_rounded_to_default(r, g) for r, g in changed):
                return Finding(
                    "warn",
                    f"{len(changed)} of {len(got)} numbers were rounded to {PLUMBER_DEFAULT_DIGITS} decimal places "
                    f"(the crate returned {r!r}, the API answered {g!r})",
                    ROUNDING_FIX,
                )
            return Finding(
                "warn",
                f"{len(changed)} of {len(got)} numbers differ from the crate's own result (e.g. {r!r} became {g!r})",
                "check that the scoring script changes the model's numbers on purpose",
            )
        if looks_rounded and any(decimals(r) > PLUMBER_DEFAULT_DIGITS for r in ref):
            return Finding(
                "warn",
                f"no number in the response has more than {PLUMBER_DEFAULT_DIGITS} decimal places, while the crate "
                "returns more: they look rounded",
                ROUNDING_FIX,
            )
        return Finding("ok", "the scoring script reshapes the crate's result; no sign of rounding")
    if looks_rounded:
        return Finding(
            "warn",
            f"every number has at most {PLUMBER_DEFAULT_DIGITS} decimal places, as plumber's default rounding "
            "leaves them (the crate could not be run directly to compare)",
            ROUNDING_FIX + " -- unless the model really returns such numbers",
        )
    return Finding("ok", "numbers carry more than 4 decimal places (the crate could not be run directly to compare)")


def answers_differ(a: object, b: object, tolerance: float = 1e-6) -> bool:
    """Whether two parsed answers differ: numbers beyond a relative `tolerance`, anything else at all
    (the rollout's comparison of the old and the new deployment on the same request)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a != b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) > tolerance * max(1.0, abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) != len(b) or any(answers_differ(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(answers_differ(a[k], b[k], tolerance) for k in a)
    return a != b
