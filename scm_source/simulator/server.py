"""The SCM simulator's HTTP side: auth, paging, the documented error bodies, throttling, faults.

A `ThreadingHTTPServer` on loopback: no framework, because the point is to answer exactly what the
gateway answers, byte for byte where the docs say so, and to be started from a test in milliseconds.
"""

from __future__ import annotations

import json
import random
import re
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scm_source.auth import signing
from scm_source.http.allowed import ALLOWED_CALLS, AllowedCall
from scm_source.objects.certificate_deployments import PATH as DEPLOYED_PATH
from scm_source.paging.pages import DOCS_MAX_OFFSET, MAX_TOTAL
from scm_source.simulator.dataset import SIMULATED_LISTS, Dataset
from scm_source.simulator.gateway import AccessKey, Gateway, IamUser, Reply
from scm_source.simulator.lists import SimulatedList
from scm_source.simulator.organization import (
    ORGANIZATION_PATH,
    ORGANIZATIONS_ACCOUNTS_PATH,
    SECURITY_TOKENS_PATH,
    Member,
    Organization,
)
from scm_source.simulator.queries import BadParameter, page_window

IAM_TOKENS_PATH = "/v3/auth/tokens"
# Not Huawei's: changes the simulated inventory between runs (POST, loopback only).
CHURN_PATH = "/simulator/churn"
OTHER_SERVICES = "other services"  # the in-flight count of requests not to SCM
OTHER_SERVICES_PATHS = frozenset(
    {
        IAM_TOKENS_PATH,
        SECURITY_TOKENS_PATH,
        ORGANIZATION_PATH,
        ORGANIZATIONS_ACCOUNTS_PATH,
        CHURN_PATH,
    }
)
DEFAULT_TOKEN = "simulator-token-0123456789abcdef0123456789"


@dataclass
class Faults:
    """Injected trouble: shares of requests answered 429 or 500, and extra random latency."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    extra_latency_seconds: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int


@dataclass
class SimulatorOptions:
    tokens: frozenset[str] = frozenset({DEFAULT_TOKEN})
    forbidden_tokens: frozenset[str] = frozenset()
    offset_mode: str = "record"
    latency_seconds: float = 0.0
    max_in_flight: int | None = None
    retry_after: str | None = None
    # The current docs' bounds on one query (scm-api.md), on as they describe them; None lifts
    # one: `offset` at most this (400 SCM.0005 past it), and a query lists at most `max_total`
    # rows (the rest are not listed by it, and its total says `max_total`).
    max_offset: int | None = DOCS_MAX_OFFSET
    max_total: int | None = MAX_TOTAL
    faults: Faults = field(default_factory=Faults)
    users: tuple[IamUser, ...] = ()
    access_keys: tuple[AccessKey, ...] = ()
    token_lifetime_seconds: float = 86_400.0
    revoke_tokens_at_request: int | None = None  # the Nth SCM request finds its token revoked
    outage_from_request: int | None = None  # the Nth SCM request and all after it get a 503
    # Every request after the first `hold_after` waits until this is set: a run held
    # mid-extract at a known point, for tests of what happens meanwhile (a second run, a signal).
    hold: threading.Event | None = None
    hold_after: int = 1
    # Each page after the first starts with this many rows of the page before, as when objects
    # are added at the head of the listing while a client pages through it.
    repeat_rows: int = 0
    # Answers that break the documented shape: html, no_list, no_total, wrong_type, bad_time.
    malformed: str | None = None
    extra_total: int = 0  # reported totals exceed the rows, as when objects vanish mid-run
    tls: tuple[str, str] | None = None  # (certificate file, key file): serve https
    # Calls answered 500 whatever is asked (by AllowedCall.name, e.g. "GET /v3/scm/csr").
    failing_calls: frozenset[str] = frozenset()
    # An organization behind the endpoint: its accounts list, assume_role, and an inventory
    # and a `max_in_flight` of their own for each member read with its temporary keys.
    organization: Organization | None = None


class Simulator:
    """Serves a `Dataset` on 127.0.0.1; use as a context manager or start()/stop().

    `accounts` puts more accounts behind the same endpoint, as a Huawei region serves every
    account: each is reached with its own static token. Everything else (the options' tokens,
    IAM tokens, access keys) reaches `dataset`, or with an organization its management
    account's. Throttling (`max_in_flight`) counts the requests of all of them together, and of
    each organization member (its temporary keys) alone."""

    def __init__(
        self,
        dataset: Dataset,
        options: SimulatorOptions | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        accounts: Mapping[str, Dataset] | None = None,
    ) -> None:
        self.dataset = dataset
        self.accounts = dict(accounts or {})
        self.options = options or SimulatorOptions()
        self.requests: list[LoggedRequest] = []
        self.refused: list[tuple[str, str]] = []  # calls outside the allow-list, refused
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)
        self._in_flight: dict[str, int] = {}  # by member id ("" for every other caller)
        self.peak_members_in_flight = 0  # organization members read at once, at most
        self._entered = 0  # requests received, answered or not
        self._random = random.Random(self.options.faults.seed)
        self.gateway = Gateway(
            self.options.tokens | self.options.forbidden_tokens | frozenset(self.accounts),
            self.options.users,
            self.options.access_keys,
            self.options.token_lifetime_seconds,
        )
        self._scm_requests = 0
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        if self.options.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.options.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an IP socket's address, not a Unix socket's path
        return f"{'https' if self.options.tls else 'http'}://{host}:{port}"

    @property
    def token(self) -> str:
        return sorted(self.options.tokens)[0]

    def start(self) -> Simulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Blocks until `count` requests have been answered: tests act on events, not time."""
        with self._logged:
            return self._logged.wait_for(lambda: len(self.requests) >= count, timeout)

    def wait_for_received(self, count: int, timeout: float) -> bool:
        """Blocks until `count` requests have arrived, answered or not (held ones too)."""
        with self._logged:
            return self._logged.wait_for(lambda: self._entered >= count, timeout)

    def clear_log(self) -> None:
        """Forgets the requests so far: counts and `hold_after` start again from zero."""
        with self._lock:
            self.requests.clear()
            self._entered = 0

    # -- one request ----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Reply:
        """Status, extra headers and JSON body for one request, in the gateway's order of checks."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = parts.path.rstrip("/")
        member = self._member(headers)
        # IAM and Organizations are services of their own, with their own gateways' limits;
        # so is CCM (served here too, or under CCM_PREFIX as if it were another host).
        account = member.id if member else ""
        if path in OTHER_SERVICES_PATHS:
            account = OTHER_SERVICES
        elif _ccm_path(path):
            account = f"{account}{CCM_SERVICE}"
        with self._lock:
            self._in_flight[account] = self._in_flight.get(account, 0) + 1
            busy = sum(
                1
                for key, count in self._in_flight.items()
                if key not in ("", OTHER_SERVICES) and not key.endswith(CCM_SERVICE) and count
            )
            self.peak_members_in_flight = max(self.peak_members_in_flight, busy)
            self._entered += 1
            self._logged.notify_all()
            held = self.options.hold is not None and self._entered > self.options.hold_after
            over_limit = self.options.max_in_flight is not None and (
                self._in_flight[account] > self.options.max_in_flight
            )
            roll = self._random.random()
            extra = self._random.uniform(0, self.options.faults.extra_latency_seconds)
        try:
            if (method, path) == ("POST", IAM_TOKENS_PATH):
                status, extra_headers, answer = self.gateway.issue_token(body)
            elif path in (SECURITY_TOKENS_PATH, ORGANIZATIONS_ACCOUNTS_PATH, ORGANIZATION_PATH):
                time.sleep(self.options.latency_seconds + extra)
                status, extra_headers, answer = self._organization(
                    method, path, parts.query, headers, body
                )
            elif (method, path) == ("POST", CHURN_PATH):
                status, extra_headers, answer = self._churn(query)
            else:
                time.sleep(self.options.latency_seconds + extra)
                if held and self.options.hold is not None:
                    self.options.hold.wait()
                status, extra_headers, answer = self._scm(
                    method, path, parts.query, headers, over_limit, roll, body
                )
        finally:
            with self._lock:
                self._in_flight[account] -= 1
                self.requests.append(LoggedRequest(method, path, query, headers, status))
                self._logged.notify_all()
        return status, extra_headers, answer

    def _member(self, headers: dict[str, str]) -> Member | None:
        """The organization member whose temporary keys signed the request, if any."""
        organization = self.options.organization
        parsed = signing.parse_authorization(headers.get("authorization", ""))
        return organization.member_of(parsed[0]) if organization and parsed else None

    def _organization(
        self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        """The organization, its accounts list and IAM's assume_role, for the management
        account."""
        organization = self.options.organization
        expected = "POST" if path == SECURITY_TOKENS_PATH else "GET"
        if organization is None or method != expected:
            return _error(404, "APIG.0101", "The API does not exist")
        denied = self.gateway.check(method, path, raw_query, headers, body)
        if denied is not None:
            return denied
        if self._member(headers):
            return _error(403, "Organizations.1001", "Only the management account may call this")
        if path == SECURITY_TOKENS_PATH:
            return organization.assume_role(body, self.gateway)
        if path == ORGANIZATION_PATH:
            return organization.show()
        return organization.list_accounts(dict(parse_qsl(raw_query, keep_blank_values=True)))

    def _scm(
        self,
        method: str,
        path: str,
        raw_query: str,
        headers: dict[str, str],
        over_limit: bool,
        roll: float,
        body: bytes,
    ) -> Reply:
        """SCM's and CCM's read calls, after the gateway's checks; what the connector's
        allow-list holds is served, known APIs outside it (exports, private keys, writes) are
        refused with 403 and logged in `refused`, anything else is 404."""
        served = path.removeprefix(CCM_PREFIX) if _ccm_path(path) else path
        route = _route(method, served)
        if route is None:
            if _known_api(served):
                with self._lock:
                    self.refused.append((method, path))
                return _error(403, "SCM.0403", f"{method} {served}: refused by this simulator")
            return _error(
                404,
                "APIG.0101",
                "The API does not exist or has not been published in the environment",
            )
        with self._lock:
            self._scm_requests += 1
            revoke = self._scm_requests == self.options.revoke_tokens_at_request
            outage_from = self.options.outage_from_request
            outage = outage_from is not None and self._scm_requests >= outage_from
        if revoke:
            self.gateway.revoke_issued_tokens()
        if outage:
            return _error(503, "APIG.0201", "Backend unavailable")
        denied = self.gateway.check(method, path, raw_query, headers, body)
        if denied is not None:
            return denied
        member = self._member(headers)
        if member and headers.get("x-domain-id") != member.id:
            return _error(403, "SCM.0403", "Access denied: X-Domain-Id is not the key's account")
        if headers.get("x-auth-token") in self.options.forbidden_tokens:
            return _error(403, "SCM.0403", "Access denied: the user lacks permission scm:cert:list")
        faults = self.options.faults
        if over_limit or roll < faults.rate_429:
            return _error(
                429,
                "APIG.0308",
                "The throttling threshold has been reached: policy user over ratelimit",
                self._retry_after(),
            )
        if roll < faults.rate_429 + faults.rate_500:
            return _error(500, "SCM.0500", "Internal server error")
        dataset = self._dataset_for(headers, member)
        if self.options.failing_calls and route.call.name in self.options.failing_calls:
            return _error(500, "SCM.0500", f"Internal server error ({route.call.name})")
        try:
            if route.simulated is not None:
                return self._list(route.simulated, dataset, raw_query, body)
            if route.call.pattern == DETAIL_PATH:
                found = dataset.detail(served.rsplit("/", 1)[1])
                if found is None:
                    return _error(400, "SCM.0020", "Incorrect certificate ID")
                return 200, {}, found
            return 200, {}, dataset.deployed(body)
        except BadParameter as bad:
            return _error(400, "SCM.0005", f"Invalid parameter: {bad}")

    def _list(
        self, simulated: SimulatedList, dataset: Dataset, raw_query: str, body: bytes
    ) -> Reply:
        """One page of a list: its parameters in the query, or (a POST list) in the body."""
        declaration = simulated.declaration
        if declaration.endpoint.method == "POST":
            query = _body_query(body)
        else:
            query = dict(parse_qsl(raw_query, keep_blank_values=True))
        bounded = simulated.bounded
        max_total = self.options.max_total if bounded else None
        max_offset = self.options.max_offset if bounded else None
        try:
            rows = dataset.listing(declaration.name, query)[:max_total]
            window = page_window(query, self.options.offset_mode, max_offset, simulated.max_limit)
        except BadParameter as bad:
            code = "SCM.0005" if bounded else "PCA.00020001"
            return _error(400, code, f"Invalid parameter: {bad}")
        page = _with_repeats(rows, window, self.options.repeat_rows)
        total = len(rows) + self.options.extra_total
        endpoint = declaration.endpoint
        answer = {endpoint.list_key: page, endpoint.total_key: total}
        if self.options.malformed:
            return _malformed(answer, simulated, self.options.malformed)
        return 200, {}, answer

    def _dataset_for(self, headers: dict[str, str], member: Member | None) -> Dataset:
        """A member's own inventory for its temporary keys, an account's for its token, else
        the management account's (with an organization) or the simulator's."""
        if member is not None:
            return member.dataset
        organization = self.options.organization
        default = organization.management.dataset if organization else self.dataset
        return self.accounts.get(headers.get("x-auth-token", ""), default)

    def _churn(self, query: dict[str, str]) -> Reply:
        count, seed = query.get("count", "10"), query.get("seed", "0")
        if not (count.isdigit() and seed.isdigit()):
            return _error(400, "SCM.0005", "Invalid parameter: count and seed are whole numbers")
        with self._lock:
            changed = self.dataset.churn(int(count), int(seed))
        return 200, {}, changed

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": self.options.retry_after} if self.options.retry_after else {}


def _with_repeats(rows: list[dict[str, Any]], window: slice, repeats: int) -> list[dict[str, Any]]:
    """The window over a listing in which every page after the first repeats `repeats` rows."""
    if not repeats:
        return rows[window]
    limit = window.stop - window.start
    fresh = limit - repeats
    virtual: list[dict[str, Any]] = []
    for start in range(0, len(rows), fresh):
        virtual.extend(rows[max(0, start - repeats) : start] + rows[start : start + fresh])
        if len(virtual) >= window.stop:
            break
    return virtual[window]


CCM_PREFIX = "/ccm"  # CCM's calls under it, as if `ccm_endpoint` were another host
CCM_SERVICE = "/ccm"  # the in-flight count of an account's CCM calls, apart from SCM's
DETAIL_PATH = "/v3/scm/certificates/{id}"
_LISTS = {
    (each.declaration.endpoint.method, each.declaration.endpoint.path): each
    for each in SIMULATED_LISTS.values()
}
# Huawei APIs this simulator knows but refuses: outside the connector's allow-list (exports,
# the CSR's private key, writes, the reads the connector does not make).
_KNOWN_APIS = re.compile(
    r"/v3/scm/(certificates|csr)(/[^/]+){0,2}|/v3/scm/[^/]+/tags(/action)?|/v3/scm/tags"
    r"|/v3/scm/deployed-resources|/v3/scm/resource_instances/action"
    r"|/v1/private-certificate(-authoritie)?s(/.*)?|/v2/[^/]+/scm/cert(/.*)?"
)


@dataclass(frozen=True)
class _Route:
    call: AllowedCall
    simulated: SimulatedList | None  # a list's, or None for the detail and the deployments


def _route(method: str, path: str) -> _Route | None:
    """What serves an allowed SCM or CCM call (IAM's and Organizations' are served apart)."""
    for call in ALLOWED_CALLS:
        if call.matches(method, path) and (
            (method, path) in _LISTS or call.pattern in (DETAIL_PATH, DEPLOYED_PATH)
        ):
            return _Route(call, _LISTS.get((method, path)))
    return None


def _known_api(path: str) -> bool:
    return _KNOWN_APIS.fullmatch(path) is not None


def _ccm_path(path: str) -> bool:
    return path.removeprefix(CCM_PREFIX).startswith("/v1/private-")


def _body_query(body: bytes) -> dict[str, str]:
    """A POST list's body as the query parameters its listing reads."""
    try:
        asked = json.loads(body)
    except ValueError:
        raise BadParameter("body") from None
    if not isinstance(asked, dict) or asked.get("action", "filter") != "filter":
        raise BadParameter("action")
    query = {key: str(asked[key]) for key in ("limit", "offset") if key in asked}
    for match in asked.get("matches") or []:
        if not isinstance(match, dict) or match.get("key") != "resource_name":
            raise BadParameter("matches")
        query["resource_name"] = str(match.get("value", ""))
    return query


def _malformed(body: dict[str, Any], simulated: SimulatedList, how: str) -> Reply:
    """A 200 answer broken the way proxies and API changes break them."""
    list_key = simulated.declaration.endpoint.list_key
    rows = [dict(row) for row in body[list_key]]
    if how == "html":
        return (
            200,
            {"Content-Type": "text/html"},
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    if how == "no_list":
        return 200, {}, {k: v for k, v in body.items() if k != list_key}
    if how == "no_total":
        return 200, {}, {list_key: rows}
    if how == "wrong_type" and rows:
        rows[0][simulated.wrong_type] = "yes"
    if how == "bad_time" and rows:
        field_name, value = simulated.bad_time
        rows[0][field_name] = value
    return 200, {}, {**body, list_key: rows}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return status, headers or {}, {"error_code": code, "error_msg": message}


def _handler_for(simulator: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra_headers, body = simulator.answer(
                self.command, self.path, headers, received
            )
            request_id = uuid.uuid4().hex
            if status >= 400 and "error_code" in body:
                body = {**body, "request_id": request_id}
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            if "Content-Type" not in extra_headers:
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Request-Id", request_id)
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            """Quiet: the request log is `Simulator.requests`."""

    return Handler
