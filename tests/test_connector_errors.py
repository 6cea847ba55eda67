"""Faults the simulator cannot cause: APIs that answer the wrong thing or nothing at all, an ERP out of reach.

Each must fail the step with an error naming the system and the endpoint or database, within a
bounded time, and without a query string, a response body or a secret anywhere in the traceback;
or, for single broken elements of a sound answer, quarantine them and land the rest.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import dlt
import pytest
import sqlalchemy as sa
from dlt.pipeline.exceptions import PipelineStepFailed

from hub import storage
from hub.ledger import account, latest_load_id
from hub.resources import landing_pipeline
from sources.erp import erp
from sources.esp import esp
from sources.http import HttpPolicy
from sources.webshop import webshop

SECRET = "s3cr3t-pw"
QUICK = HttpPolicy(attempts=2, connect_timeout=0.5, read_timeout=0.5, backoff=0.1, max_delay=0.2)
HTML = ("text/html; charset=utf-8", b"<html><body>Please log in</body></html>")
EMPTY = {
    "/wp-json/wc/v3/customers": ("application/json", b"[]"),
    "/wp-json/wc/v3/orders": ("application/json", b"[]"),
    "/3.0/lists/L1/members": ("application/json", b'{"members": [], "total_items": 0}'),
    "/3.0/campaigns": ("application/json", b'{"campaigns": [], "total_items": 0}'),
}


def as_json(value: object) -> tuple[str, bytes]:
    return "application/json", json.dumps(value).encode()


@contextmanager
def api_server(answers: dict[str, tuple[str, bytes]]) -> Iterator[str]:
    """A local API answering 200 with the given content type and body per path, and one page in all."""
    routes = {**EMPTY, **answers}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            content_type, body = routes.get(urlsplit(self.path).path, ("text/plain", b"not found"))
            self.send_response(200 if urlsplit(self.path).path in routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-WP-TotalPages", "1")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A server that accepts every connection and never answers: an API that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def source(system: str, url: str, http: HttpPolicy = QUICK):
    if system == "webshop":
        return webshop(base_url=url, consumer_key="ck_hub", consumer_secret=SECRET, http=http)
    return esp(base_url=f"{url}/3.0", api_key=SECRET, list_id="L1", http=http)


def extract_failure(tmp_path: Path, dlt_source) -> str:
    """The whole traceback of the failed extraction, every chained exception included."""
    pipeline = dlt.pipeline(pipeline_name="faults", destination="duckdb", pipelines_dir=str(tmp_path / "dlt"))
    with pytest.raises(PipelineStepFailed) as failure:
        pipeline.extract(dlt_source)
    return "".join(traceback.format_exception(failure.value))


def assert_nothing_secret(text: str) -> None:
    for leak in (SECRET, "per_page=", "count=", "Please log in"):
        assert leak not in text, leak


@pytest.mark.parametrize(
    ("system", "path", "answer", "message"),
    [
        ("webshop", "/wp-json/wc/v3/customers", HTML, "answered text/html, not a JSON list"),
        ("webshop", "/wp-json/wc/v3/customers", as_json({"id": 1}), "answered a JSON object, not a JSON list"),
        ("webshop", "/wp-json/wc/v3/orders", as_json("busy"), "answered a JSON string, not a JSON list"),
        ("esp", "/3.0/lists/L1/members", HTML, "answered text/html, not a JSON object with a 'members' list"),
        ("esp", "/3.0/lists/L1/members", as_json([1, 2]), "answered a JSON list, not a JSON object with a 'members'"),
        ("esp", "/3.0/campaigns", as_json({"campaigns": 3}), "answered a JSON object without a 'campaigns' list"),
    ],
)
def test_an_answer_of_the_wrong_shape_fails_naming_system_endpoint_and_what_arrived(
    tmp_path, system, path, answer, message
):
    with api_server({path: answer}) as url:
        failure = extract_failure(tmp_path, source(system, url))
    assert f"{system}: GET {path} {message}" in failure
    assert_nothing_secret(failure)


WEBSHOP_CUSTOMER = {
    "id": 17,
    "date_created_gmt": "2026-01-01T10:00:00",
    "date_modified_gmt": "2026-01-02T10:00:00",
    "email": "anna@example.fi",
    "first_name": "Anna",
    "last_name": "Virtanen",
    "meta_data": [],
}
ESP_MEMBER = {
    "id": "0" * 32,
    "email_address": "anna@example.fi",
    "status": "subscribed",
    "last_changed": "2026-01-02T10:00:00+00:00",
}


CAMPAIGN = {"id": "c1", "send_time": "2026-01-02T10:00:00+00:00"}
EMAIL_WITH_A_BROKEN_ACTION = {
    "email_address": "anna@example.fi",
    "activity": [{"action": "open", "timestamp": "2026-01-02T11:00:00+00:00"}, "oops"],
}


@pytest.mark.parametrize(
    ("system", "answers", "table", "broken"),
    [
        (
            "webshop",
            {"/wp-json/wc/v3/customers": [WEBSHOP_CUSTOMER, 5, "text", None, [1]]},
            "webshop_customer",
            [5, "text", None, [1]],
        ),
        ("esp", {"/3.0/lists/L1/members": {"members": [7, ESP_MEMBER, "x"], "total_items": 3}}, "esp_member", [7, "x"]),
        (
            "esp",
            {
                "/3.0/campaigns": {"campaigns": [CAMPAIGN], "total_items": 1},
                "/3.0/reports/c1/email-activity": {"emails": [4, EMAIL_WITH_A_BROKEN_ACTION], "total_items": 2},
            },
            "esp_email_activity",
            [4, "oops"],  # an element of the page, and an action inside an element
        ),
    ],
)
def test_elements_that_are_not_objects_are_quarantined_and_the_rest_lands(tmp_path, system, answers, table, broken):
    url = f"duckdb:///{tmp_path / 'hub.duckdb'}"
    with api_server({path: as_json(body) for path, body in answers.items()}) as api:
        landing_pipeline(system, url, tmp_path / "hub").run(source(system, api), loader_file_format="parquet")
    with storage.engine(url).connect() as connection:
        result = account(connection, system, table, latest_load_id(connection, system))
        held = connection.execute(
            sa.text("SELECT raw, checks FROM landing.quarantine WHERE table_name = :t"), {"t": table}
        ).all()
    storage.engine(url).dispose()
    assert (result.landed, result.quarantined) == (1, len(broken)) and result.balanced
    raws = [json.loads(raw) for raw, _ in held]
    assert sorted(json.dumps(raw.get("item", raw.get("activity"))) for raw in raws) == sorted(map(json.dumps, broken))
    assert {check["check"] for _, checks in held for check in json.loads(checks)} == {"a JSON object"}


@pytest.mark.parametrize("system", ["webshop", "esp"])
def test_an_api_that_stops_answering_fails_the_step_within_the_documented_bound(tmp_path, system):
    assert HttpPolicy().worst_case_seconds == 260  # the default, as sources/http.py documents it
    with silent_server() as (url, accepted):
        dlt_source = source(system, url)
        started = time.monotonic()
        failure = extract_failure(tmp_path, dlt_source)
        elapsed = time.monotonic() - started
    path = "/wp-json/wc/v3/customers" if system == "webshop" else "/3.0/lists/L1/members"
    assert f"{system}: GET {path} did not answer within 0.5 s (2 attempts)" in failure
    assert len(accepted) == QUICK.attempts
    assert QUICK.attempts * QUICK.read_timeout <= elapsed <= QUICK.worst_case_seconds + 2  # 2 s for dlt itself
    assert_nothing_secret(failure)


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("credentials", "where"),
    [
        (  # a port where nothing listens
            f"postgresql+psycopg://hub:{SECRET}@127.0.0.1:{{port}}/erp",
            "postgresql+psycopg on 127.0.0.1:{port}, database erp",
        ),
        ("sqlite:////nonexistent-folder/erp.sqlite", "sqlite, database /nonexistent-folder/erp.sqlite"),
    ],
)
def test_an_unreachable_erp_fails_naming_backend_and_host_never_the_password(tmp_path, credentials, where):
    port = closed_port()
    failure = extract_failure(tmp_path, erp(credentials=credentials.format(port=port)))
    assert f"erp: cannot connect to the ERP database ({where.format(port=port)}): " in failure
    assert SECRET not in failure


def test_an_erp_url_that_is_no_url_is_refused_without_repeating_it():
    with pytest.raises(ValueError, match="^erp: the ERP database URL is not a valid SQLAlchemy URL$") as refused:
        erp(credentials=f"postgresql+psycopg://hub:{SECRET}@127.0.0.1:port/erp")
    assert SECRET not in "".join(traceback.format_exception(refused.value))
