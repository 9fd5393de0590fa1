"""Exceptions a user sees as one line: each says what is wrong and what to do."""

from __future__ import annotations

from typing import Any

from scm_source.redaction import redact


class ScmError(Exception):
    """Base of every error scm-export reports to a person instead of a traceback. Its message
    never holds a secret value or URL userinfo (redaction.py), whatever a server echoed."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(arg) if isinstance(arg, str) else arg for arg in args))


class ExchangeFailed(Exception):
    """An HTTP exchange that did not complete (a connection refused or dropped, an answer cut
    short or late, TLS refused); retried when `retryable`, and once attempts run out its
    message becomes an ScmError's."""

    def __init__(self, message: str, retryable: bool = True, refused: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.refused = refused  # nothing listens there: tried once more, not `max_attempts`


class ScmConfigError(ScmError):
    """A setting the API would reject or cannot be used; raised before any request is sent."""


class ScmResponseError(ScmError):
    """An answer that is not what the API documents (not JSON, missing list or total, bad field)."""


class ScmAccountsFailed(ScmError):
    """Objects of some accounts did not load (the others did); `failures` are their sync log
    entries: account, resource, error, http_status, error_code, request_id. Its message is one
    line: the first failure in full, then the others by name (the sync log and the run's summary
    hold their errors)."""

    def __init__(self, failures: list[dict[str, Any]], default_alias: str) -> None:
        self.failures = failures

        def named(failure: dict[str, Any]) -> str:
            if failure["account"] == default_alias:
                return str(failure["resource"])
            return f"account {failure['account']!r}, {failure['resource']}"

        first, *others = failures
        line = (
            first["error"]
            if first["account"] == default_alias
            else (f"{named(first)}: {first['error']}")
        )
        if others:
            line += f"; also not loaded: {', '.join(named(failure) for failure in others)}"
        super().__init__(line)


class ScmApiError(ScmError):
    """The API answered with an error status; carries what Huawei support needs to trace it."""

    def __init__(
        self,
        *,
        status: int,
        endpoint: str,
        error_code: str | None,
        error_msg: str | None,
        request_id: str | None,
        credential: str,
        method: str = "GET",
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.hint = hint if hint is not None else _STATUS_HINTS.get(status, "")
        self.endpoint = endpoint
        self.error_code = redact(error_code) if error_code else error_code
        self.error_msg = redact(error_msg) if error_msg else error_msg
        self.request_id = request_id
        self.credential = credential
        self.method = method
        super().__init__(self._describe())

    def _describe(self) -> str:
        return (
            f"{self.method} {self.endpoint} answered HTTP {self.status}"
            f" (error_code={self.error_code or '-'}, error_msg={self.error_msg or '-'},"
            f" request_id={self.request_id or '-'}, credential={self.credential}){self.hint}"
        )


_STATUS_HINTS = {
    400: ": a query parameter was refused; check the source settings",
    401: ": authentication failed; renew or correct the credentials",
    403: ": access denied; grant the IAM user SCM read permission (e.g. SCM ReadOnlyAccess)",
    404: ": wrong path; check that `endpoint` is the SCM base URL without a path",
    429: ": still throttled after retrying; run later or lower the request rate",
}
