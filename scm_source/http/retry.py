"""Retrying one HTTP exchange: backoff with jitter on 429, 5xx and dropped connections.

tenacity wraps the whole exchange (not `Session.send`, as dlt's requests helper does) so that auth
runs again on every attempt: a retried AK/SK request gets a fresh date and signature.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from dlt.sources.helpers.requests.retry import wait_exponential_retry_after
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_random,
)
from tenacity.stop import stop_base

from scm_source.errors import ExchangeFailed, ScmConfigError, ScmError
from scm_source.http.transport import Response
from scm_source.redaction import redact

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for retrying throttled (429), failing (5xx) and dropped requests."""

    max_attempts: int = 5
    max_retry_seconds: float = 120.0
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    request_timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ScmConfigError(
                f"http.max_attempts={self.max_attempts} must be at least 1"
                " (sources.scm_source.http.max_attempts)"
            )
        for name in (
            "max_retry_seconds",
            "backoff_seconds",
            "max_backoff_seconds",
            "request_timeout_seconds",
        ):
            value = getattr(self, name)
            positive = name == "request_timeout_seconds"  # 0 would mean "no answer ever comes"
            if not math.isfinite(value) or value < 0 or (positive and value == 0):
                bound = "a positive number" if positive else "a number, 0 or more"
                raise ScmConfigError(
                    f"http.{name}={value} must be {bound} of seconds"
                    f" (sources.scm_source.http.{name})"
                )


def _transient(error: BaseException) -> bool:
    """Dropped connections and timeouts may pass; a certificate that fails verification won't."""
    return isinstance(error, ExchangeFailed) and error.retryable


class _RefusedTwice(stop_base):
    """A connection refused is tried once more, not `max_attempts` times: nothing listens there
    (a wrong or dead endpoint), and a user waits for the one line that says so."""

    def __call__(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        return isinstance(error, ExchangeFailed) and error.refused and state.attempt_number >= 2


class _WaitRetryAfter(wait_exponential_retry_after):
    """dlt's backoff that honours Retry-After, reading it from our answers (dlt's reads only
    requests' responses)."""

    def _get_retry_after(self, retry_state: RetryCallState) -> float | None:
        outcome = retry_state.outcome
        answer = None if outcome is None or outcome.failed else outcome.result()
        seconds = answer.retry_after() if isinstance(answer, Response) else None
        return max(self.min, min(self.max, seconds)) if seconds else None


def send_with_retries(
    send: Callable[[], Response],
    policy: RetryPolicy,
    what: str,
    on_retry: Callable[[], None] | None = None,
) -> Response:
    """The last response once it is not retryable or attempts run out; `what` names the request
    in log lines and errors (method and URL, never a credential); `on_retry` counts retries."""

    def give_up(state: RetryCallState) -> Response:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            raise ScmError(
                f"{what} failed after {state.attempt_number} attempts: {outcome.exception()}"
            ) from None
        return outcome.result()

    def log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        assert outcome is not None
        reason = (
            type(outcome.exception()).__name__
            if outcome.failed
            else f"HTTP {outcome.result().status}"
        )
        delay = state.next_action.sleep if state.next_action else 0.0
        if on_retry is not None:
            on_retry()
        logger.info(  # what a retry saw is the run's to say, if it gives up: not a warning
            "retrying %s after %s (attempt %d, waiting %.1f s)",
            redact(what),
            reason,
            state.attempt_number,
            delay,
        )

    retrying = Retrying(
        retry=retry_if_result(lambda answer: answer.status in RETRY_STATUSES)
        | retry_if_exception(_transient),
        wait=_WaitRetryAfter(multiplier=policy.backoff_seconds, max=policy.max_backoff_seconds)
        + wait_random(0, policy.backoff_seconds),
        stop=stop_after_attempt(policy.max_attempts)
        | stop_after_delay(policy.max_retry_seconds)
        | _RefusedTwice(),
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )
    try:
        return retrying(send)
    except ExchangeFailed as exc:  # one that is not worth retrying (TLS refused)
        raise ScmError(f"{what} failed: {exc}") from None
