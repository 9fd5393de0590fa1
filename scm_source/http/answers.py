"""What an answer that is not a success means: the API's error (SCM's and IAM's bodies), or a
redirect, which is never followed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from scm_source.errors import ScmApiError, ScmResponseError
from scm_source.http.transport import Response


def api_error(
    response: Response, credential: str, hints: Mapping[int, str] | None = None
) -> ScmApiError:
    """Reads SCM's `{"error_code", "error_msg"}` and IAM's `{"error": {"code", "message"}}`;
    `hints` says what to do about a status where the API called tells more than SCM's."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"error_msg": f"non-JSON body starting {response.text[:60]!r}"}
    error = body.get("error")
    nested: dict[str, Any] = error if isinstance(error, dict) else {}
    return ScmApiError(
        status=response.status,
        endpoint=response.request.base_url,
        error_code=body.get("error_code") or nested.get("code"),
        error_msg=body.get("error_msg") or nested.get("message"),
        request_id=body.get("request_id") or response.headers.get("X-Request-Id"),
        credential=credential,
        method=response.request.method,
        hint=(hints or {}).get(response.status),
    )


def refuse_redirect(response: Response) -> None:
    """Redirects are never followed: a client that follows them carries X-Auth-Token,
    X-Security-Token and X-Domain-Id (requests strips only Authorization) and a re-POSTed
    password to the new host."""
    if 300 <= response.status < 400:
        request = response.request
        location = urljoin(request.base_url, response.headers.get("Location", ""))
        target = urlsplit(location).netloc or "no Location"
        raise ScmResponseError(
            f"{request.named} answered HTTP {response.status} redirecting to {target}: not"
            " followed, so that credentials stay with the configured host; set the endpoint to"
            " the URL that answers without a redirect"
        )
