"""Against servers written to misbehave (real sockets, loopback): credentials stay with their
host, one account's odd answer stays its own, every walk is bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dlt
import pytest

from scm_source import ScmAccountsFailed, load, scm_source
from scm_source.simulator import Dataset, Simulator

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
    return dlt.pipeline(name, destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                        dataset_name="scm", pipelines_dir=str(tmp_path / "pipelines"))  # fmt: skip


# -- credentials stay with their host -------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_from_scm_is_not_followed(tmp_path: Path, status: int) -> None:
    with hostile(lambda *_: _json(200, {"certificates": [], "total_count": 0})) as elsewhere:
        moved = f"{elsewhere.url}/v3/scm/certificates"
        with hostile(lambda *_: (status, {"Location": moved}, b"")) as scm:
            token = "token-that-must-stay-0123456789abcdef"
            source = scm_source(credentials={"auth_token": token}, endpoint=scm.url)
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
            credentials = {"username": "reporter", "password": "pa55-must-stay",
                           "domain_name": "acme", "iam_endpoint": iam.url}  # fmt: skip
            source = scm_source(credentials=credentials, endpoint=iam.url)
            with pytest.raises(ScmAccountsFailed, match=r"POST .* answered HTTP 307 redirecting"):
                load(_pipeline(tmp_path), source.with_resources("csr_list"))
    assert elsewhere.log == [] and [entry[0] for entry in iam.log] == ["POST"]


NOT_LOOPBACK = [
    ({"endpoint": "http://scm.example.test"}, "endpoint='http://scm.example.test' is plain http"),
    ({"endpoint": "http://10.1.2.3:8080"}, "endpoint='http://10.1.2.3:8080' is plain http"),
    ({"endpoint": "https://scm.example.test",
      "credentials": {"username": "u", "password": "p", "domain_name": "d",
                      "iam_endpoint": "http://iam.example.test"}},
     "iam_endpoint='http://iam.example.test' is plain http"),
]  # fmt: skip


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
        ["unshare", "-n", "sh", "-c", namespaced, sys.executable, "-c", script, json.dumps(settings)],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(message) and "use https://" in result.stdout


def test_loopback_http_stays_allowed(tmp_path: Path) -> None:
    dataset = Dataset.generate(certificates=12, csrs=3, seed=4)
    with Simulator(dataset) as sim:
        endpoint = sim.url.replace("127.0.0.1", "localhost")
        pipeline = _pipeline(tmp_path)
        load(pipeline, scm_source(credentials={"auth_token": sim.token}, endpoint=endpoint))
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM csr_list") == [(3,)]


# -- one account's trouble stays its own ----------------------------------------------------------


def _certificate(index: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"scs{index:013d}", "name": f"cert-{index}", "status": "ISSUED",
            "expire_time": "2030-01-01 00:00:00.0", **fields}  # fmt: skip


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
    ("int64", _listing([_certificate(1, domain_count=2**70)]), "field `domain_count` of object id='scs0000000000001' is 1180591620717411303424, which no warehouse column"),
    ("surrogate", _raw(b'{"certificates": [{"id": "scs1", "name": "a\\ud800b"}], "total_count": 1}'), "field `name` of object id='scs1' is 'a\\ud800b', which no warehouse column"),
    ("nested", _raw(DEEP), "GET /v3/scm/certificates: an answer could not be loaded (RecursionError"),
    ("deep field", _listing([_certificate(1, extra=json.loads("[" * 300 + "]" * 300))]), "GET /v3/scm/certificates: an answer could not be loaded ("),
    ("more rows than limit", _listing([_certificate(i) for i in range(60)], page=60), "answer has 60 rows, more than the limit"),
]  # fmt: skip


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
            load(pipeline, scm_source(accounts=accounts, page_size=50))
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
        load(pipeline, scm_source(credentials={"auth_token": "t" * 32}, endpoint=odd.url))
    with pipeline.sql_client() as client:
        loaded = dict(client.execute_sql("SELECT id, later FROM certificates"))
    assert loaded == {"scs0000000000001": "5", "scs0000000000002": '"five"',
                      "scs0000000000003": '[1,"x"]'}  # fmt: skip


@pytest.mark.parametrize("total", [10**8, 10**15])
def test_a_total_the_rows_never_reach_ends_at_the_first_empty_page(
    tmp_path: Path, total: int
) -> None:
    rows = [_certificate(i) for i in range(100)]
    with hostile(_listing(rows, total=total)) as odd:
        pipeline = _pipeline(tmp_path)
        load(pipeline, scm_source(credentials={"auth_token": "t" * 32}, endpoint=odd.url,
                                  offset_mode="record"))  # fmt: skip
    listing = [entry for entry in odd.log if entry[1].startswith("/v3/scm/certificates")]
    # 2 pages of rows, then an empty one ends it; those already in flight (at most 2 x the
    # limit's ceiling of 32) are all that may follow
    assert len(listing) <= 3 + 2 * 32
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM certificates") == [(100,)]
