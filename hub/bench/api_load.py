"""The API under load: customer lookups by email and audience member paging from many concurrent clients.

Issue 11 asks for the throughput and p99 latency of both through the API with 50 concurrent clients on
loopback (goal: a lookup under 50 ms at p99). This stage serves an already built hub with ``hub api serve``
in a process of its own (so that the clients' Python does not share the server's interpreter lock), and
runs one phase per endpoint: ``clients`` threads, each with its own keep-alive connection, ask one request
after another for ``seconds``. Every client is closed-loop (it waits for its answer before asking again),
so throughput and latency are tied by Little's law: 50 clients at 1,000 requests a second wait 50 ms.

The clients are registered through the audited ``manage_api_clients`` action and revoked afterwards. The
emails to look up are read through the API itself, by the customer-service client for its purpose, so the
stage sees only what that role may see, and nothing personal leaves it: it prints counts and times only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hub import api_clients, storage
from hub.access.acting import Actor, authorised
from hub.config import Settings, load_settings

LOOKUP = ("customer_service", "customer_service")  # role, purpose: sees emails in clear, may look people up
PAGING = ("marketing", "email_marketing")  # a marketing tool pulling an audience, only those who consented
PAGE_SIZE = 100
EMAIL_SAMPLE = 1000
STARTUP_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 60


@dataclass
class Phase:
    """What one endpoint did under load: every answer's latency (seconds) and the statuses that were not 200."""

    endpoint: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    server_cpu_seconds: float | None = None

    def percentile(self, share: float) -> float:
        """The latency below which ``share`` of the answers came (nearest rank), in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    def summary(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": len(self.latencies),
            "failed": sum(self.failures.values()),
            "failures": self.failures,
            "per_second": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(self.percentile(0.50), 1),
            "p99_ms": round(self.percentile(0.99), 1),
            "max_ms": round(self.percentile(1.0), 1),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_seconds / len(self.latencies), 2)
            if self.server_cpu_seconds is not None and self.latencies
            else None,
        }


def environment(settings: Settings) -> dict[str, str]:
    """The settings as the ``HUB_*`` variables ``load_settings`` reads, for the server's process."""
    given = {f"HUB_{spec.name.upper()}": getattr(settings, spec.name) for spec in fields(Settings)}
    return {**os.environ, **{name: str(value) for name, value in given.items() if value is not None}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """The API's process: where it listens, and the processor time it has used."""

    host: str
    port: int
    pid: int

    def cpu_seconds(self) -> float | None:
        """User and system time of the server's process and its worker processes so far, from Linux's /proc
        (None elsewhere). Per request it is what an answer costs the server, however busy the machine: the
        latencies are not, as the clients and any other load share its processors."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            return sum(_cpu_seconds(pid) for pid in [self.pid, *map(int, children)])
        except OSError:
            return None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _served(settings: Settings, workers: int = 1) -> Iterator[Server]:
    """``hub api serve`` (with ``workers`` processes) on a free loopback port in its own process, until the block
    ends."""
    port = _free_port()
    command = [str(Path(sys.executable).with_name("hub")), "api", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = subprocess.Popen(command, env=environment(settings), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the API server stopped during start-up (exit {server.returncode})")
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                if _get(probe, "/health", {})[0] == 200:
                    break
            except OSError:
                pass
            finally:
                probe.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield Server("127.0.0.1", port, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _get(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read()


@contextmanager
def _clients(settings: Settings) -> Iterator[dict[str, dict[str, str]]]:
    """A client per role of the stage, registered as the administrator would; revoked when the block ends.
    Yields the request headers of each role (its bearer token and purpose)."""
    suffix = secrets.token_hex(4)
    bench = Actor("bench", "admin")
    headers = {}
    with authorised(settings, bench, "manage_api_clients") as (connection, detail):
        for role, purpose in (LOOKUP, PAGING):
            token = api_clients.add(connection, f"bench-{role}-{suffix}", role)
            headers[role] = {"Authorization": f"Bearer {token}", "X-Purpose": purpose}
        detail.update(clients=len(headers), change="added for the API load benchmark")
    storage.engine(settings.database_url).dispose()  # the server's process must be able to open an embedded file
    try:
        yield headers
    finally:
        with authorised(settings, bench, "manage_api_clients") as (connection, detail):
            for role in headers:
                api_clients.revoke(connection, f"bench-{role}-{suffix}")
            detail.update(clients=len(headers), change="revoked after the API load benchmark")


def _json(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> dict:
    status, body = _get(connection, path, headers)
    if status != 200:
        raise RuntimeError(f"GET {path.split('?')[0]} answered {status} while preparing the load")
    return json.loads(body)


def _targets(server: Server, headers: dict[str, dict[str, str]]) -> tuple[list[str], str]:
    """Emails to look up (read through the API by the customer-service client) and the audience to page: the
    one with the most members."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT_SECONDS)
    rows = _json(connection, f"/tables/mdm.golden_customer?limit={EMAIL_SAMPLE}", headers[LOOKUP[0]])["rows"]
    emails = [row["email"] for row in rows if row.get("email")]
    listed = _json(connection, "/audiences", headers[PAGING[0]])["audiences"]
    connection.close()
    if not emails or not listed:
        raise RuntimeError("the hub has no customers with an email or no audiences: build it first")
    return emails, max(listed, key=lambda a: (a["included"], a["name"]))["name"]


Request = Callable[[int, http.client.HTTPConnection], int]  # (the client's request count, its connection) -> status


def _run_phase(server: Server, endpoint: str, clients: int, seconds: float, make: Callable[[int], Request]) -> Phase:
    """``clients`` threads asking one request after another until ``seconds`` have passed."""
    phase = Phase(endpoint, clients)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(number: int) -> None:
        ask = make(number)
        connection = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT_SECONDS)
        latencies, failures, count = [], {}, 0
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                status = ask(count, connection)
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
                connection.close()  # http.client reconnects on the next request
            if status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                failures[str(status)] = failures.get(str(status), 0) + 1
            count += 1
        connection.close()
        with lock:
            phase.latencies += latencies
            for status, n in failures.items():
                phase.failures[status] = phase.failures.get(status, 0) + n

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = server.cpu_seconds()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    cpu_after = server.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        phase.server_cpu_seconds = cpu_after - cpu_before
    return phase


def _lookups(emails: list[str], headers: dict[str, str]) -> Callable[[int], Request]:
    """Each client looks up the sample's emails in turn, starting at a place of its own."""

    def make(number: int) -> Request:
        def ask(count: int, connection: http.client.HTTPConnection) -> int:
            email = emails[(number * 37 + count) % len(emails)]
            status, _ = _get(connection, f"/customers?{urllib.parse.urlencode({'email': email})}", headers)
            return status

        return ask

    return make


def _paging(audience: str, headers: dict[str, str]) -> Callable[[int], Request]:
    """Each client pages through the audience with its cursor, and starts again after the last page."""

    def make(_: int) -> Request:
        cursor: list[str | None] = [None]

        def ask(_: int, connection: http.client.HTTPConnection) -> int:
            query = {"limit": PAGE_SIZE} | ({"cursor": cursor[0]} if cursor[0] else {})
            status, body = _get(connection, f"/audiences/{audience}/members?{urllib.parse.urlencode(query)}", headers)
            if status == 200:
                cursor[0] = json.loads(body)["next_cursor"]
            return status

        return ask

    return make


def measure_api(
    settings: Settings, clients: int = 50, seconds: float = 20.0, console: Console | None = None, workers: int = 1
) -> dict:
    """Serve the hub's API (``workers`` processes: PostgreSQL only) and load it, one phase per endpoint; print and
    return each phase's figures."""
    console = console or Console()
    backend = storage.database_url(settings.database_url).get_backend_name()
    console.rule(f"API under load: {clients} clients, {seconds:g} s per endpoint, {backend}, {workers} server procs")
    with _clients(settings) as headers, _served(settings, workers) as server:
        emails, audience = _targets(server, headers)
        phases = [
            _run_phase(server, "lookup by email", clients, seconds, _lookups(emails, headers[LOOKUP[0]])),
            _run_phase(server, "member paging", clients, seconds, _paging(audience, headers[PAGING[0]])),
        ]
    figures = {"backend": backend, "workers": workers, "phases": [phase.summary() for phase in phases]}
    _print(figures, console)
    return figures


def _print(figures: dict, console: Console) -> None:
    table = Table(
        title=f"API latency on loopback ({figures['backend']}, {figures['workers']} server procs), closed-loop clients",
        caption="server CPU ms/req: the server process's processor time per answer, whatever else runs",
    )
    columns = ("endpoint", "clients", "requests", "failed", "req/s", "p50 ms", "p99 ms", "max ms", "server CPU ms/req")
    for column in columns:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for p in figures["phases"]:
        table.add_row(
            p["endpoint"],
            str(p["clients"]),
            f"{p['requests']:,}",
            f"{p['failed']:,}",
            f"{p['per_second']:,.1f}",
            f"{p['p50_ms']:,.1f}",
            f"{p['p99_ms']:,.1f}",
            f"{p['max_ms']:,.1f}",
            "" if p["server_cpu_ms_per_request"] is None else f"{p['server_cpu_ms_per_request']:.2f}",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    """``python -m hub.bench.api_load``: load the API of the hub the ``HUB_*`` variables name."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    given = parser.parse_args(argv)
    figures = measure_api(load_settings(), given.clients, given.seconds, workers=given.workers)
    if given.json:
        given.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
