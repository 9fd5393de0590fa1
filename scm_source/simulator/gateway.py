"""What Huawei's API gateway and IAM check before SCM sees a request: issued, unexpired tokens;
AK/SK signatures recomputed from the request as received; the signing date within 15 minutes;
security tokens of temporary keys; and the lock after 5 bad signatures in a row."""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

from scm_source.auth import signing

Reply = tuple[int, dict[str, str], Any]  # status, extra headers, JSON body

_BAD_SIGNATURES_BEFORE_LOCK = 5
_LOCK_SECONDS = 300.0


@dataclass(frozen=True)
class IamUser:
    domain_name: str
    name: str
    password: str


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    secret_key: str
    security_token: str | None = None  # set for temporary credentials


def _denied(message: str, code: str = "APIG.0301") -> Reply:
    return (
        401,
        {},
        {"error_code": code, "error_msg": f"Incorrect IAM authentication information: {message}"},
    )


class Gateway:
    def __init__(
        self,
        static_tokens: frozenset[str],
        users: tuple[IamUser, ...],
        access_keys: tuple[AccessKey, ...],
        token_lifetime_seconds: float,
        max_clock_skew_seconds: float = 900.0,
    ) -> None:
        self._static_tokens = static_tokens
        self._users = {(user.domain_name, user.name): user for user in users}
        self._keys = {key.access_key: key for key in access_keys}
        self.token_lifetime_seconds = token_lifetime_seconds
        self._max_skew = max_clock_skew_seconds
        self._lock = threading.Lock()
        self.issued: dict[str, float] = {}  # token -> monotonic expiry
        self.ever_issued: list[str] = []  # for tests that look for leaked tokens
        self._bad_signatures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._key_expiry: dict[str, float] = {}  # temporary access key -> monotonic expiry

    def issue_token(self, body: bytes) -> Reply:
        """POST /v3/auth/tokens with the password method and a domain scope."""
        try:
            auth = json.loads(body)["auth"]
            user = auth["identity"]["password"]["user"]
            key = (user["domain"]["name"], user["name"])
            password = user["password"]
        except (ValueError, KeyError, TypeError):
            return (
                400,
                {},
                {
                    "error": {
                        "code": "IAM.0003",
                        "message": "The request body is invalid.",
                        "title": "Bad Request",
                    }
                },
            )
        known = self._users.get(key)
        if known is None or not hmac.compare_digest(known.password, str(password)):
            return (
                401,
                {},
                {
                    "error": {
                        "code": "IAM.0004",
                        "message": "The username or password is wrong.",
                        "title": "Unauthorized",
                    }
                },
            )
        token = "MIIT" + secrets.token_urlsafe(1536)  # real ones are several KB
        issued = datetime.now(timezone.utc)
        expires = issued + timedelta(seconds=self.token_lifetime_seconds)
        with self._lock:
            self.issued[token] = time.monotonic() + self.token_lifetime_seconds
            self.ever_issued.append(token)
        user = {"name": known.name, "domain": {"name": known.domain_name}}
        answer = {
            "token": {
                "methods": ["password"],
                "issued_at": issued.isoformat(),
                "expires_at": expires.isoformat().replace("+00:00", "Z"),
                "user": user,
            }
        }
        return 201, {"X-Subject-Token": token}, answer

    def revoke_issued_tokens(self) -> None:
        with self._lock:
            self.issued.clear()

    def check(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes = b""
    ) -> Reply | None:
        """None when the request may pass; otherwise the gateway's answer."""
        token = headers.get("x-auth-token")
        if token is not None:
            return self._check_token(token)
        if "authorization" in headers:
            return self._check_signature(method, path, query, headers, body)
        return _denied("x-auth-token not found")

    def issue_temporary_key(self, lifetime_seconds: float) -> tuple[AccessKey, datetime]:
        """Temporary keys with a security token, as IAM's assume_role issues them; the gateway
        refuses them once `lifetime_seconds` have passed."""
        key = AccessKey(
            "TMP" + secrets.token_hex(8).upper(),
            secrets.token_urlsafe(30),
            "gQ" + secrets.token_urlsafe(600),  # real ones are long
        )
        with self._lock:
            self._keys[key.access_key] = key
            self._key_expiry[key.access_key] = time.monotonic() + lifetime_seconds
            self.ever_issued.extend((key.secret_key, key.security_token or ""))
        return key, datetime.now(timezone.utc) + timedelta(seconds=lifetime_seconds)

    def _check_token(self, token: str) -> Reply | None:
        if token in self._static_tokens:
            return None
        with self._lock:
            expiry = self.issued.get(token)
        if expiry is None:
            return _denied("verify token failed")
        if time.monotonic() >= expiry:
            return _denied("the token expires")
        return None

    def _check_signature(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Reply | None:
        parsed = signing.parse_authorization(headers["authorization"])
        if parsed is None:
            return _denied("unsupported authorization algorithm")
        access_key, signed_headers, given = parsed
        with self._lock:
            if self._locked_until.get(access_key, 0) > time.monotonic():
                return _denied(
                    "the access key is locked after repeated signature failures", "APIG.0307"
                )
        key = self._keys.get(access_key)
        if key is None:
            return _denied("access key not found")
        date = headers.get(signing.DATE_HEADER.lower(), "")
        try:
            skew = abs((datetime.now(timezone.utc) - signing.parse_sdk_date(date)).total_seconds())
        except ValueError:
            return _denied("x-sdk-date missing or malformed")
        if skew > self._max_skew:
            return _denied("the request date is more than 15 minutes off")
        if (
            not {"host", "x-sdk-date"} <= set(signed_headers)
            or not set(signed_headers) <= headers.keys()
        ):
            return _denied("signed headers incomplete")
        pairs = parse_qsl(query, keep_blank_values=True)
        canonical = signing.canonical_request(method, path, pairs, headers, signed_headers, body)
        expected = signing.signature(key.secret_key, date, canonical)
        if not hmac.compare_digest(expected, given):
            with self._lock:
                failures = self._bad_signatures.get(access_key, 0) + 1
                self._bad_signatures[access_key] = failures
                if failures >= _BAD_SIGNATURES_BEFORE_LOCK:
                    self._locked_until[access_key] = time.monotonic() + _LOCK_SECONDS
            return _denied("verify aksk signature fail")
        with self._lock:
            self._bad_signatures[access_key] = 0
        if key.security_token is not None and headers.get("x-security-token") != key.security_token:
            return _denied("security token invalid or missing")
        with self._lock:
            expiry = self._key_expiry.get(access_key)
        if expiry is not None and time.monotonic() >= expiry:
            return _denied("the security token expires")
        return None
