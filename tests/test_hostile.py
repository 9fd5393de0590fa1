"""Against servers written to misbehave (real sockets, loopback): credentials stay with their
host, one account's odd answer stays its own, every walk is bounded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import dlt
import pytest

from scm_source import ScmAccountsFailed, load
from scm_source.http.deadlines import Watchdog
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import lists_source, scm_export, unconfigured_environment

Answer = tuple[int, dict[str, str], bytes]
Respond = Callable[[str, str, dict[str, str]], Answer]


class Hostile:
    """A loopback HTTP server answering with `respond(method, path, headers)`; keeps a log."""

    def __init__(self, respond: Respond) -> None:
        self.log: list[tuple[str, str, dict[str, str]]] = []
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                hostile.log.append((self.command, self.path, headers))
                status, extra, body = respond(self.command, self.path, headers)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **extra}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def hostile(respond: Respond) -> Iterator[Hostile]:
    server = Hostile(respond)
    try:
        yield server
    finally:
        server.close()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def _pipeline(tmp_path: Path, name: str = "hostile") -> dlt.Pipeline:
    return dlt.pipeline(
        name,
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name="scm",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


# -- credentials stay with their host -------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_from_scm_is_not_followed(tmp_path: Path, status: int) -> None:
    with hostile(lambda *_: _json(200, {"certificates": [], "total_count": 0})) as elsewhere:
        moved = f"{elsewhere.url}/v3/scm/certificates"
        with hostile(lambda *_: (status, {"Location": moved}, b"")) as scm:
            token = "token-that-must-stay-0123456789abcdef"
            source = lists_source(credentials={"auth_token": token}, endpoint=scm.url)
            with pytest.raises(ScmAccountsFailed) as failed:
                load(_pipeline(tmp_path), source.with_resources("certificates"))
    assert elsewhere.log == []
    assert str(failed.value) == (
        f"GET {scm.url}/v3/scm/certificates answered HTTP {status} redirecting to"
        f" {elsewhere.url.removeprefix('http://')}: not followed, so that credentials stay with"
        " the configured host; set the endpoint to the URL that answers without a redirect"
    )


def test_a_redirect_from_iam_does_not_carry_the_password(tmp_path: Path) -> None:
    issued = _json(201, {"token": {"expires_at": "2099-01-01T00:00:00Z"}}, {"X-Subject-Token": "x"})
    with hostile(lambda *_: issued) as elsewhere:
        moved = (307, {"Location": f"{elsewhere.url}/v3/auth/tokens"}, b"")
        with hostile(lambda *_: moved) as iam:
            credentials = {
                "username": "reporter",
                "password": "pa55-must-stay",
                "domain_name": "acme",
                "iam_endpoint": iam.url,
            }
            source = lists_source(credentials=credentials, endpoint=iam.url)
            with pytest.raises(ScmAccountsFailed, match=r"POST .* answered HTTP 307 redirecting"):
                load(_pipeline(tmp_path), source.with_resources("csr_list"))
    assert elsewhere.log == [] and [entry[0] for entry in iam.log] == ["POST"]


NOT_LOOPBACK = [
    ({"endpoint": "http://scm.example.test"}, "endpoint='http://scm.example.test' is plain http"),
    ({"endpoint": "http://10.1.2.3:8080"}, "endpoint='http://10.1.2.3:8080' is plain http"),
    (
        {
            "endpoint": "https://scm.example.test",
            "credentials": {
                "username": "u",
                "password": "p",
                "domain_name": "d",
                "iam_endpoint": "http://iam.example.test",
            },
        },
        "iam_endpoint='http://iam.example.test' is plain http",
    ),
]


@pytest.mark.parametrize(("settings", "message"), NOT_LOOPBACK)
def test_credentials_never_go_over_plain_http_to_another_machine(
    tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    """Refused before any request; run in a network namespace of its own, where a connection to
    another machine fails at once if the refusal ever broke."""
    settings = {"credentials": {"auth_token": "t" * 32}, **settings}
    script = (
        "import json, sys, dlt\n"
        "from scm_source import ScmConfigError, scm_source\n"
        "try:\n"
        "    list(scm_source(**json.loads(sys.argv[1])).resources['csr_list'])\n"
        "except ScmConfigError as error:\n"
        "    print(error)\n"
    )
    namespaced = 'ip link set lo up && exec "$0" "$@"'
    result = subprocess.run(
        [
            "unshare",
            "-n",
            "sh",
            "-c",
            namespaced,
            sys.executable,
            "-c",
            script,
            json.dumps(settings),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(message) and "use https://" in result.stdout


def test_loopback_http_stays_allowed(tmp_path: Path) -> None:
    dataset = Dataset.generate(certificates=12, csrs=3, seed=4)
    with Simulator(dataset) as sim:
        endpoint = sim.url.replace("127.0.0.1", "localhost")
        pipeline = _pipeline(tmp_path)
        load(pipeline, lists_source(credentials={"auth_token": sim.token}, endpoint=endpoint))
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM csr_list") == [(3,)]


# -- one account's trouble stays its own ----------------------------------------------------------


def _certificate(index: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"scs{index:013d}",
        "name": f"cert-{index}",
        "status": "ISSUED",
        "expire_time": "2030-01-01 00:00:00.0",
        **fields,
    }


def _listing(rows: list[dict[str, Any]], total: int | None = None, page: int = 0) -> Respond:
    """Pages over `rows` with record offsets, reporting `total` (default: their number); pages
    of `page` rows whatever the limit asked, when given."""

    def respond(method: str, path: str, headers: dict[str, str]) -> Answer:
        query = dict(part.split("=", 1) for part in path.partition("?")[2].split("&") if part)
        offset, limit = int(query.get("offset", 0)), page or int(query.get("limit", 10))
        if path.startswith("/v3/scm/csr"):
            return _json(200, {"csr_list": [], "total": 0})
        listed = rows[offset : offset + limit]
        return _json(
            200, {"certificates": listed, "total_count": len(rows) if total is None else total}
        )

    return respond


def _raw(body: bytes) -> Respond:
    """`body` for the certificate list, an empty CSR list."""

    def respond(method: str, path: str, headers: dict[str, str]) -> Answer:
        if path.startswith("/v3/scm/csr"):
            return _json(200, {"csr_list": [], "total": 0})
        return 200, {"Content-Type": "application/json"}, body

    return respond


DEEP = b'{"certificates": [' + b"[" * 200_000 + b"]" * 200_000 + b'], "total_count": 1}'
FAILING = [
    (
        "int64",
        _listing([_certificate(1, domain_count=2**70)]),
        "field `domain_count` of object id='scs0000000000001' is 1180591620717411303424, which no warehouse column",
    ),
    (
        "surrogate",
        _raw(b'{"certificates": [{"id": "scs1", "name": "a\\ud800b"}], "total_count": 1}'),
        "field `name` of object id='scs1' is 'a\\ud800b', which no warehouse column",
    ),
    (
        "nul",
        _listing([_certificate(1, name="a\x00b")]),
        "field `name` of object id='scs0000000000001' is 'a\\x00b', which no warehouse column",
    ),
    (
        "nested",
        _raw(DEEP),
        "GET /v3/scm/certificates: an answer could not be loaded (RecursionError",
    ),
    (
        "deep field",
        _listing([_certificate(1, extra=json.loads("[" * 300 + "]" * 300))]),
        "GET /v3/scm/certificates: an answer could not be loaded (",
    ),
    (
        "more rows than limit",
        _listing([_certificate(i) for i in range(60)], page=60),
        "answer has 60 rows, more than the limit",
    ),
]


@pytest.mark.parametrize(("case", "respond", "message"), FAILING, ids=[c[0] for c in FAILING])
def test_an_odd_answer_fails_its_account_alone(
    tmp_path: Path, case: str, respond: Respond, message: str
) -> None:
    dataset = Dataset.generate(certificates=20, csrs=4, seed=9)
    with Simulator(dataset) as sim, hostile(respond) as odd:
        accounts = [
            {"alias": "alpha", "credentials": {"auth_token": sim.token}, "endpoint": sim.url},
            {"alias": "beta", "credentials": {"auth_token": "b" * 32}, "endpoint": odd.url},
        ]
        pipeline = _pipeline(tmp_path)
        with pytest.raises(ScmAccountsFailed) as failed:
            load(pipeline, lists_source(accounts=accounts))
    [failure] = failed.value.failures
    assert failure["account"] == "beta" and failure["resource"] == "certificates"
    assert message in failure["error"], failure["error"]
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT account, count(*) FROM certificates GROUP BY 1")
    assert rows == [("alpha", sum(r.owned_by_self for r in dataset.certificates))]


def test_undeclared_fields_of_mixed_types_load_as_json_text(tmp_path: Path) -> None:
    rows = [
        _certificate(1, later=5),
        _certificate(2, later="five"),
        _certificate(3, later=[1, "x"]),
    ]
    with hostile(_listing(rows)) as odd:
        pipeline = _pipeline(tmp_path)
        load(pipeline, lists_source(credentials={"auth_token": "t" * 32}, endpoint=odd.url))
    with pipeline.sql_client() as client:
        loaded = dict(client.execute_sql("SELECT id, later FROM certificates"))
    assert loaded == {
        "scs0000000000001": "5",
        "scs0000000000002": '"five"',
        "scs0000000000003": '[1,"x"]',
    }


@pytest.mark.parametrize("total", [10**8, 10**15])
def test_a_total_the_rows_never_reach_ends_at_the_first_empty_page(
    tmp_path: Path, total: int
) -> None:
    rows = [_certificate(i) for i in range(100)]
    with hostile(_listing(rows, total=total)) as odd:
        pipeline = _pipeline(tmp_path)
        source = lists_source(
            credentials={"auth_token": "t" * 32},
            endpoint=odd.url,
            certificates={"offset_mode": "record"},
        )
        load(pipeline, source)
    listing = [entry for entry in odd.log if entry[1].startswith("/v3/scm/certificates")]
    # 2 pages of rows, then an empty one ends it; those already in flight (at most 2 x the
    # limit's ceiling of 32) are all that may follow
    assert len(listing) <= 3 + 2 * 32
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM certificates") == [(100,)]


# -- every request is bounded ---------------------------------------------------------------------


class _Drip(BaseHTTPRequestHandler):
    """Announces a body and sends it a byte at a time, slower than any deadline."""

    protocol_version = "HTTP/1.1"
    requests_seen: ClassVar[list[str]] = []
    release = threading.Event()

    def do_GET(self) -> None:
        type(self).requests_seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for byte in b'{"certificates": [' * 10_000:
            if type(self).release.wait(0.05):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up: the point of the test
                return

    def log_message(self, *args: Any) -> None:
        """Quiet."""


class _DripHeaders(BaseHTTPRequestHandler):
    """Answers a status line, then a header line every 0.2 s, for ever (until released)."""

    protocol_version = "HTTP/1.1"
    requests_seen: ClassVar[list[str]] = []
    release = threading.Event()

    def do_GET(self) -> None:
        type(self).requests_seen.append(self.path)
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not type(self).release.wait(0.2):
            try:
                self.wfile.write(b"X-Drip: .\r\n")
                self.wfile.flush()
            except OSError:  # the client gave up: the point of the test
                return

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.mark.parametrize("drip", [_Drip, _DripHeaders], ids=["body", "headers"])
def test_a_dripping_answer_meets_the_deadline(
    tmp_path: Path, drip: type[_Drip] | type[_DripHeaders]
) -> None:
    """A socket's read timeout restarts with every byte: without a deadline on the whole answer,
    headers included, such a server holds the run for as long as it keeps dripping."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        source = lists_source(
            credentials={"auth_token": "t" * 32},
            endpoint=url,
            http={"request_timeout_seconds": 1, "max_attempts": 2, "backoff_seconds": 0},
        )
        with pytest.raises(ScmAccountsFailed) as failed:
            load(_pipeline(tmp_path), source.with_resources("certificates"))
    finally:
        drip.release.set()
        server.shutdown()
        server.server_close()
    assert len(drip.requests_seen) == 2  # each attempt cut at its deadline, then given up
    assert str(failed.value) == (
        f"GET {url}/v3/scm/certificates failed after 2 attempts: the whole answer did not arrive"
        " within 1 s"
    )


def test_one_watchdog_expires_only_the_answers_still_being_read_at_their_deadline() -> None:
    """The deadlines of every answer share one thread: those read in time never expire, nor
    pile up (a run sends thousands), and the one still being read does, once."""
    watchdog = Watchdog()
    fired: list[int] = []
    done = threading.Event()
    soon = time.monotonic() + 0.05
    for number in range(1000):
        watchdog.watch(soon, lambda number=number: fired.append(number)).cancel()
    late = watchdog.watch(soon, lambda: (fired.append(-1), done.set()))
    assert done.wait(5)
    late.cancel()
    time.sleep(0.1)
    assert fired == [-1]
    assert len(watchdog._due) <= 1  # the answers read in time left as the next one came


def test_once_stopped_the_watchdog_cuts_off_what_is_under_way_and_what_begins_after() -> None:
    """Ctrl-C: an exchange that began as the run stopped (its watch registered just after the
    stop swept the others) must be cut off too, not read until its deadline (60 s by default:
    the interrupted run hung that long, 1 time in 10 under load)."""
    watchdog = Watchdog()
    fired: list[str] = []
    far = time.monotonic() + 3600
    watchdog.watch(far, lambda: fired.append("under way"))
    watchdog.stop()
    assert fired == ["under way"]
    watchdog.watch(far, lambda: fired.append("began after"))
    assert fired == ["under way", "began after"]  # at once, not in an hour


def test_a_body_beyond_the_size_cap_is_refused(tmp_path: Path) -> None:
    huge = b'{"certificates": [], "total_count": 0, "padding": "' + b"x" * (9 * 2**20) + b'"}'
    with hostile(_raw(huge)) as odd:
        source = lists_source(credentials={"auth_token": "t" * 32}, endpoint=odd.url)
        with pytest.raises(ScmAccountsFailed) as failed:
            load(_pipeline(tmp_path), source.with_resources("certificates"))
    assert str(failed.value) == (
        f"GET {odd.url}/v3/scm/certificates answered more than 8 MB: far beyond any page the API"
        " documents"
    )


# -- secrets are never stored, even when a server echoes them -------------------------------------


def _echo(method: str, path: str, headers: dict[str, str]) -> Answer:
    """Echoes the credentials it received: in error_msg (CSR list) and in an HTML page."""
    echoed = headers.get("x-auth-token") or headers.get("x-security-token", "")
    if path.startswith("/v3/scm/csr"):
        return _json(401, {"error_code": "APIG.0301", "error_msg": f"bad token {echoed}"})
    return 403, {"Content-Type": "text/html"}, f"<html>denied for {echoed}</html>".encode()


@pytest.mark.parametrize("way", ["auth_token", "temporary_access_key"])
def test_secrets_a_server_echoes_are_stored_nowhere(tmp_path: Path, way: str) -> None:
    from tests.test_secrets import file_texts, warehouse_text

    token, secret, security = (
        "echoed-token-0123456789abcdef",
        "sk-0123456789abcdef",
        "st-9876543210",
    )
    with Simulator(Dataset.generate(8, 2, seed=3)) as sim, hostile(_echo) as odd:
        credentials = (
            {"AUTH_TOKEN": token}
            if way == "auth_token"
            else {"ACCESS_KEY": "AKECHO0123", "SECRET_KEY": secret, "SECURITY_TOKEN": security}
        )
        env = {
            "SOURCES__SCM_SOURCE__ACCOUNTS": '["good", "odd"]',
            "SOURCES__SCM_SOURCE__GOOD__ENDPOINT": sim.url,
            "SOURCES__SCM_SOURCE__GOOD__CREDENTIALS__AUTH_TOKEN": sim.token,
            "SOURCES__SCM_SOURCE__ODD__ENDPOINT": odd.url,
            **{f"SOURCES__SCM_SOURCE__ODD__CREDENTIALS__{k}": v for k, v in credentials.items()},
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "echo.duckdb"),
            "RUNTIME__LOG_LEVEL": "DEBUG",
        }
        result = scm_export("-v", "run", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    assert "answered HTTP 401" in result.stderr and "bad token ***" in result.stderr
    assert "answered HTTP 403" in result.stderr and "denied for ***" in result.stderr
    files, warehouse = file_texts(tmp_path), warehouse_text(tmp_path / "echo.duckdb")
    assert "bad token ***" in warehouse  # the sync log keeps the error, masked
    for value in (token, secret, security):
        assert value not in result.stdout + result.stderr and value not in warehouse
        assert not [path for path, text in files.items() if value.encode() in text]


# -- resources and concurrent runs ----------------------------------------------------------------


def test_descriptors_do_not_grow_with_the_number_of_accounts(tmp_path: Path) -> None:
    """200 accounts under `ulimit -n 256`: each account's connections close when it is done."""
    tokens = {f"token-{n:03d}-0123456789abcdef": Dataset.generate(3, 1, seed=n) for n in range(200)}
    with Simulator(Dataset.generate(1, 1), accounts=tokens) as sim:
        aliases = [f"a{n:03d}" for n in range(200)]
        env = {
            "SOURCES__SCM_SOURCE__ACCOUNTS": json.dumps(aliases),
            "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "many.duckdb"),
        }
        for alias, token in zip(aliases, tokens, strict=True):
            env[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = token
        result = subprocess.run(
            ["bash", "-c", 'ulimit -n 256 && exec "$0" -m scm_export.cli run', sys.executable],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")},
                "DLT_DATA_DIR": str(tmp_path / "dlt"),
                **env,
            },
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count(" rows  (") == 200 * 7  # every object: two hosts an account


def test_a_second_run_of_a_pipeline_stops_at_once_and_the_first_loads(tmp_path: Path) -> None:
    dataset = Dataset.generate(certificates=300, csrs=5, seed=8)
    hold = threading.Event()
    with Simulator(dataset, SimulatorOptions(hold=hold)) as sim:
        env = {
            **unconfigured_environment(),
            "DLT_DATA_DIR": str(tmp_path / "dlt"),
            "SOURCES__SCM_SOURCE__HTTP__MAX_CONCURRENCY": "1",
            "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
        }
        command = [sys.executable, "-m", "scm_export.cli", "run", "--endpoint", sim.url]
        first = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert sim.wait_for_requests(1, timeout=60)  # the first run holds the pipeline now
        second = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        hold.set()
        stdout, stderr = first.communicate(timeout=300)
    lock = tmp_path / "dlt" / "scm_export_locks" / "scm_export.lock"
    assert (second.returncode, second.stderr) == (
        1,
        (
            f"scm-export: error: another run holds pipeline 'scm_export' ({lock}): wait for it to"
            " finish, or give this run another --pipeline-name\n"
        ),
    )
    assert first.returncode == 0, stderr
    listed = sum(r.owned_by_self for r in dataset.certificates)
    assert re.search(rf"^  default +certificates +{listed} rows", stdout, re.MULTILINE)


@pytest.mark.parametrize(
    ("env", "args", "line"),
    [
        (
            {},
            ["--endpoint", "http://user:Pr0xyPassw0rd@127.0.0.1:9"],
            "endpoint carries user:password@: dlt would keep it in its trace, and it would go to every host; give a proxy's credentials in HTTPS_PROXY (sources.scm_source.endpoint)",
        ),
        (
            {
                "SOURCES__SCM_SOURCE__ACCOUNTS": '[{"alias": "a", "credentials": {"auth_token": "Pr0xyPassw0rd-in-config"}}]'
            },
            [],
            "accounts holds credentials: dlt keeps that setting in its trace in clear; give each account's credentials in [sources.scm_source.<alias>.credentials] (secrets.toml)",
        ),
    ],
)
def test_secrets_in_plain_settings_are_refused_and_stored_nowhere(
    tmp_path: Path, env: dict[str, str], args: list[str], line: str
) -> None:
    from tests.test_secrets import file_texts

    env = env or {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": "t" * 32}
    result = scm_export("run", *args, cwd=tmp_path, env=env)
    assert (result.returncode, result.stderr) == (2, f"scm-export: error: {line}\n")
    assert "Pr0xyPassw0rd" not in result.stdout
    assert not [path for path, text in file_texts(tmp_path).items() if b"Pr0xyPassw0rd" in text]


def test_a_total_that_keeps_growing_buys_no_more_than_the_docs_bound(tmp_path: Path) -> None:
    """Every page full of new rows and a total always one page ahead: the walk stops at twice
    the pages the docs' 10,000 rows need, instead of paging forever."""
    served = {"pages": 0}

    def growing(method: str, path: str, headers: dict[str, str]) -> Answer:
        if path.startswith("/v3/scm/csr"):
            return _json(200, {"csr_list": [], "total": 0})
        served["pages"] += 1
        page = served["pages"]
        rows = [_certificate(page * 100 + i) for i in range(50)]
        return _json(200, {"certificates": rows, "total_count": (page + 1) * 50})

    with hostile(growing) as odd:
        pipeline = _pipeline(tmp_path)
        source = lists_source(
            credentials={"auth_token": "t" * 32},
            endpoint=odd.url,
            certificates={"offset_mode": "record"},
        )
        load(pipeline, source)
    assert served["pages"] == 2 * 10_000 // 50 + 2


def test_a_run_that_never_reaches_its_total_retires_no_earlier_row(tmp_path: Path) -> None:
    """The issue's case: `evil` first lists 3 certificates; the next run answers every page with
    fresh rows and a total that keeps growing. The walk stops at the docs' cap, and the three
    earlier certificates (maybe among the rows no query reached) stay live, history open."""
    first = [_certificate(index) for index in range(3)]
    served = {"run": 1}

    def evil(method: str, path: str, headers: dict[str, str]) -> Answer:
        if served["run"] == 1:
            return _listing(first)(method, path, headers)
        if path.startswith("/v3/scm/csr"):
            return _json(200, {"csr_list": [], "total": 0})
        query = dict(part.split("=", 1) for part in path.partition("?")[2].split("&") if part)
        offset = int(query.get("offset", 0))
        rows = [_certificate(1_000_000 + offset + i) for i in range(int(query["limit"]))]
        return _json(200, {"certificates": rows, "total_count": offset + 1_000_000})

    with hostile(evil) as odd:
        pipeline = _pipeline(tmp_path)
        source = lists_source(credentials={"auth_token": "t" * 32}, endpoint=odd.url)
        load(pipeline, source)
        served["run"] = 2
        load(pipeline, lists_source(credentials={"auth_token": "t" * 32}, endpoint=odd.url))
    with pipeline.sql_client() as client:
        live = client.execute_sql("SELECT id FROM scm.certificates WHERE id < 'scs00000000010'")
        open_versions = client.execute_sql(
            "SELECT id FROM scm.certificates_history WHERE valid_to IS NULL AND id < 'scs00000000010'"
        )
        [sync] = client.execute_sql(
            "SELECT read_in_full, retired, kept_unverified, rows FROM scm.sync_log"
            " WHERE resource = 'certificates' ORDER BY started_at DESC LIMIT 1"
        )
    expected = sorted(row["id"] for row in first)
    assert sorted(row[0] for row in live) == sorted(row[0] for row in open_versions) == expected
    assert sync[:3] == (False, 0, 3) and sync[3] >= 10_000
