"""SDK-HMAC-SHA256 request signing, step for step as `huaweicloudsdkcore/signer/signer.py`.

The same functions build the signature (the connector) and check it (the simulator); tests pin
both to the official SDK's `Signer`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DATE_HEADER = "X-Sdk-Date"
_EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()


def sdk_date(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).strftime(DATE_FORMAT)


def parse_sdk_date(text: str) -> datetime:
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=timezone.utc)


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Each segment encoded; always ends in "/" although the request is sent without it."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(pairs))


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes = b"",
) -> str:
    """`headers` keyed by lower-case name; `signed_headers` lower-case and sorted."""
    lines = "".join(f"{name}:{str(headers[name]).strip()}\n" for name in signed_headers)
    body_hash = hashlib.sha256(body).hexdigest() if body else _EMPTY_BODY_HASH
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            lines,
            ";".join(signed_headers),
            body_hash,
        )
    )


def signature(secret_key: str, date: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(access_key: str, signed_headers: list[str], signed: str) -> str:
    names = ";".join(signed_headers)
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={names}, Signature={signed}"


def parse_authorization(value: str) -> tuple[str, list[str], str] | None:
    """(access key, signed header names, signature), or None when it is not SDK-HMAC-SHA256."""
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if not {"Access", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields["Access"], fields["SignedHeaders"].split(";"), fields["Signature"]
