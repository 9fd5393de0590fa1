"""`[sources.scm_source.http]`: how requests are sent, for every object and account."""

from __future__ import annotations

from pathlib import Path

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

from scm_source.config.values import SECTION, whole_number_setting
from scm_source.errors import ScmConfigError
from scm_source.http.retry import RetryPolicy


@configspec
class HttpSettings(BaseConfiguration):
    """How requests are sent, for every list and account: `[sources.scm_source.http]`.
    `ca_bundle` is a CA file to verify TLS with instead of the system's (TLS is always verified);
    `max_concurrency` is the most requests in flight per account, which adapts below it to the
    gateway's throttling; `max_connections` bounds the requests in flight of every account
    together (the process's connections)."""

    max_attempts: int = 5
    max_retry_seconds: float = 120.0
    backoff_seconds: float = 1.0
    request_timeout_seconds: float = 60.0
    max_concurrency: int = 32
    max_connections: int = 64
    ca_bundle: str | None = None

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_retry_seconds=self.max_retry_seconds,
            backoff_seconds=self.backoff_seconds,
            request_timeout_seconds=self.request_timeout_seconds,
        )

    def verify(self) -> str | bool:
        """What TLS trusts: True (certifi's CAs) or a CA file; never False."""
        if self.ca_bundle is None or self.ca_bundle == "":
            return True
        if not Path(self.ca_bundle).is_file():
            raise ScmConfigError(
                f"http.ca_bundle={self.ca_bundle!r} is not a file ({SECTION}.http.ca_bundle)"
            )
        return str(self.ca_bundle)

    def concurrency(self) -> int:
        return whole_number_setting("http.max_concurrency", self.max_concurrency, 1, 64)

    def connections(self) -> int:
        return whole_number_setting("http.max_connections", self.max_connections, 1, 1024)
