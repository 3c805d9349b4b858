r"""Storage's Shared Key scheme, checked as the Blob service checks it: an HMAC-SHA256 of a canonical string, keyed
by the storage account's key.

Source: "Authorize with Shared Key" (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key), for
service version 2009-09-19 and later (each field followed by \n):

    StringToSign = VERB, Content-Encoding, Content-Language, Content-Length, Content-MD5, Content-Type, Date,
                   If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range,
                   then CanonicalizedHeaders + CanonicalizedResource
    Authorization: SharedKey <account>:<base64 HMAC-SHA256(base64-decoded account key, UTF-8 StringToSign)>

- Content-Length is the empty string when it is 0 (version 2015-02-21 and later).
- Date is the Date header as sent; clients send x-ms-date instead and leave it empty (either is accepted here).
- CanonicalizedHeaders: every x-ms-* header, name lower-cased, sorted by name, `name:value\n`, the value trimmed
  and its folded white space made one space.
- CanonicalizedResource: `/` + account + the resource's encoded URI path; then, per query parameter sorted by
  lower-cased name, `\nname:value` with name and value URL-decoded (several values: sorted, comma-separated). With
  path-style URLs (the storage emulator, and the sandbox) the path starts with the account again: `/a/a/container/blob`.
- Shared Key Lite (the same page): VERB, Content-MD5, Content-Type, Date (each followed by \n), CanonicalizedHeaders
  and the resource with only its `comp` parameter (`?comp=list`).
- "The storage services ensure that a request is no older than 15 minutes by the time it reaches the service"; an
  older (or missing) date is refused with 403.

Pure functions: the blob service (blob.py) decides what the request may do and how a refusal is worded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

MAX_SKEW_S = 15 * 60
_STANDARD_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)
_FOLDED = re.compile(r"\s*\r?\n\s*")


class SharedKeyError(Exception):
    """Why a Shared Key request is refused: Storage's AuthenticationErrorDetail text."""


def account_key(secret_mac: str) -> str:
    """A storage account key in Azure's shape (64 random-looking bytes, base64: 88 characters) from a MAC of the
    sandbox's secret, so the key survives restarts and differs per sandbox folder."""
    seed = secret_mac.encode()
    return base64.b64encode(hashlib.sha512(seed).digest()).decode()


def parse_authorization(header: str) -> tuple[str, str, str] | None:
    """(scheme, account, signature) of `SharedKey acct:sig` / `SharedKeyLite acct:sig`, or None for another scheme."""
    scheme, _, credential = header.partition(" ")
    if scheme not in ("SharedKey", "SharedKeyLite"):
        return None
    account, sep, signature = credential.strip().rpartition(":")
    if not sep or not account or not signature:
        raise SharedKeyError(f"The Authorization header '{header}' is not in the form '{scheme} account:signature'.")
    return scheme, account, signature


def string_to_sign(
    scheme: str,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    account: str,
    *,
    date: str | None = None,
) -> str:
    """The canonical string the client signed. `raw_path` is the path as sent (percent-encoded), `query` the raw
    (name, value) pairs, `headers` with lower-case names; `date` overrides the Date slot."""
    date_value = headers.get("date", "") if date is None else date
    canonical_headers = _canonical_headers(headers)
    resource = f"/{account}{raw_path}"
    if scheme == "SharedKeyLite":
        comp = [unquote(value) for name, value in query if unquote(name).lower() == "comp"]
        lite_resource = resource + (f"?comp={comp[0]}" if comp else "")
        lite = [method, headers.get("content-md5", ""), headers.get("content-type", ""), date_value]
        return "\n".join(lite) + "\n" + canonical_headers + lite_resource
    values = []
    for name in _STANDARD_HEADERS:
        value = headers.get(name, "")
        if name == "content-length" and value == "0":
            value = ""
        if name == "date":
            value = date_value
        values.append(value)
    return "\n".join([method, *values]) + "\n" + canonical_headers + resource + _canonical_query(query)


def sign(key_b64: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(
    key_b64: str,
    scheme: str,
    signature: str,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    account: str,
    now: float,
) -> None:
    """Raise SharedKeyError unless `signature` is the request's MAC and its date is within 15 minutes of `now`."""
    stamp = headers.get("x-ms-date") or headers.get("date")
    if not stamp:
        raise SharedKeyError("Request date header not specified.")
    try:
        sent = parsedate_to_datetime(stamp).timestamp()
    except (TypeError, ValueError):
        raise SharedKeyError(f"The date header in the request is incorrect: '{stamp}'.") from None
    if abs(now - sent) > MAX_SKEW_S:
        raise SharedKeyError(f"Request date header too old: '{stamp}'")
    candidates = [string_to_sign(scheme, method, raw_path, query, headers, account)]
    if headers.get("x-ms-date") and headers.get("date"):  # the Date slot may be left empty when x-ms-date is sent
        candidates.append(string_to_sign(scheme, method, raw_path, query, headers, account, date=""))
    if not any(hmac.compare_digest(sign(key_b64, text), signature) for text in candidates):
        shown = candidates[0].replace("\n", "\\n")
        raise SharedKeyError(
            f"The MAC signature found in the HTTP request '{signature}' is not the same as any computed signature. "
            f"Server used following string to sign: '{shown}'."
        )


def _canonical_headers(headers: Mapping[str, str]) -> str:
    pairs = sorted((name.lower(), value) for name, value in headers.items() if name.lower().startswith("x-ms-"))
    return "".join(f"{name}:{_FOLDED.sub(' ', value.strip())}\n" for name, value in pairs)


def _canonical_query(query: Sequence[tuple[str, str]]) -> str:
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(unquote(name).lower(), []).append(unquote(value))
    return "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(grouped.items()))
