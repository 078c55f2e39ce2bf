"""Join lifecycles per second through the real server on PostgreSQL.

Starts `memberflow serve` (gunicorn with threaded workers, the production server) on a
private PostgreSQL database, then drives whole member_join lifecycles (start + five tasks,
all approved) from a bounded number of client threads for a bounded time, each client on
its own keep-alive HTTP connection. Prints lifecycles per second, the p50/p95 request
latency, the error count, the commits per request the server made (PostgreSQL's own
counter, pg_stat_database.xact_commit; `bench_lifecycle.py` counts the statements), and the
CPU milliseconds per request of the server's processes, of the database's backends and of
this script's own client threads (read from /proc: steadier than the rate on a shared
machine), each server process's share of a core (a worker's Python runs one thread at a
time: a worker near a whole core holds its requests back), how busy the whole machine
was, and the ceiling those costs allow: the lifecycles per second with every core busy
serving them, beside the CPU per request that 60/s would allow.

Each client uploads its own materials and fee voucher once and names them in each of its
lifecycles (a start locks the rows of the files it names until it commits: clients sharing
one set waited on each other, as applicants never do). Before each measured window every
database is settled by VACUUM ANALYZE, as autovacuum keeps a production one: this
machine's PostgreSQL runs without autovacuum, and a database filled by the run was planned
without statistics.

`--repo DIR` runs the server and the seeding from another checkout of this repository
(for example `git worktree add /tmp/before HEAD~3`). `--against DIR` serves a second
checkout at the same time, each on its own private database: every client thread takes the
two servers in turns, a whole lifecycle each, so a neighbour's load falls on both alike, and
the two servers' figures are printed side by side with their ratio (each server's CPU from
its own processes and its own database's backends; the clients' CPU shared out by requests).
With two servers each gets about half of the machine: compare their ratio, not the figures
of a server run alone.

`--db-host HOST`, given once per server (A, then B), names how that server reaches
PostgreSQL: an address, or the folder of its Unix socket (`/var/run/postgresql`); by
default, the host of MEMBERFLOW_BENCH_PG_URL (127.0.0.1, over TCP). `--against` the same
checkout with `--db-host 127.0.0.1 --db-host /var/run/postgresql` measures the socket
against TCP side by side.

`--python PATH`, given once per server (A, then B), names the interpreter that server runs on
(a virtualenv's python with the project installed; by default this script's own). `--against`
the same checkout with two of them measures two interpreters side by side.

`--rounds N` measures N windows of `--seconds` one after the other on the same servers (warmed
up once) and prints a line per round, then the median of each figure over the rounds (the
lifecycles, requests and errors summed): the rate on a shared machine drifts from one
window to the next by more than most changes measured here.

Run:  python scripts/bench_throughput.py [--seconds 20] [--clients 8] [--workers 2]
          [--threads 8] [--rounds 1] [--repo DIR] [--against DIR] [--db-host HOST ...]
          [--python PATH ...]
Target: >= 60 lifecycles/s on 2 cores with 0 errors.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_workbench import settle  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP/1.1 connection to the server, JSON in and out.

    Written on a bare socket: the load generator shares the cores it measures, and
    http.client (its reply's headers parsed by the email package) cost about 2.7 times the
    CPU per request (266 against 99 µs on a canned 3 KB reply, 5 December 2026). Each
    request goes out in one send; a reply is read by its Content-Length (chunked, or to the
    end of a closed connection, where it has none)."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def call(self, method: str, path: str, body=None, headers=None, raw=None, ctype=None):
        data = raw or b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if body is not None:
            data = orjson.dumps(body)
            ctype = "application/json"
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(data)}")
        try:
            sock = self.sock or self._connect()
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
            status, payload = self._reply(sock)
        except (OSError, ValueError):
            self.close()
            raise
        return status, (orjson.loads(payload) if payload else None)

    def _more(self, sock: socket.socket) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def _reply(self, sock: socket.socket) -> tuple[int, bytes]:
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._more(sock)
        head = buffer[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        rest = buffer[end + 4 :]
        if "content-length" in fields:
            length = int(fields["content-length"])
            while len(rest) < length:
                rest += self._more(sock)
            payload, self.buffer = rest[:length], rest[length:]
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            payload = b""
            while True:
                while (eol := rest.find(b"\r\n")) < 0:
                    rest += self._more(sock)
                size = int(rest[:eol].split(b";")[0], 16)
                while len(rest) < eol + 2 + size + 2:
                    rest += self._more(sock)
                payload += rest[eol + 2 : eol + 2 + size]
                rest = rest[eol + 2 + size + 2 :]
                if size == 0:
                    break
            self.buffer = rest
        else:  # no length: the reply ends with the connection
            while chunk := sock.recv(65536):
                rest += chunk
            self.close()
            return status, rest
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, payload


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _wait_for(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit {proc.returncode})")
        try:
            status, _ = Client(port).call("GET", "/api/v1/openapi.json")
            if status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within a minute")


def _cpu_split(pids) -> tuple[float, float]:
    """(user + system, system) CPU seconds the processes have used so far, read once
    (Linux /proc; zeros elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = kernel = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone, or not Linux
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        kernel += int(fields[12])
    return total / tick, kernel / tick


def _cpu_by_pid(pids) -> dict[int, float]:
    """Each process's user + system CPU seconds so far (Linux /proc; none elsewhere)."""
    return {pid: _cpu_split([pid])[0] for pid in pids}


def _backends_cpu(url: str, before: dict[int, float]) -> float:
    """The CPU seconds the database's backends used since `before` (`_cpu_by_pid` of its
    backends then): a backend the server's pool opened since counts from its start."""
    now = _cpu_by_pid(set(before) | set(_backend_pids(url)))
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine so far, every core (Linux /proc/stat;
    zeros elsewhere): idle and iowait are not busy."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


def _server_pids(root: int) -> list[int]:
    """The server process and its descendants (gunicorn's master and workers)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except OSError:
            continue
    return found


def _backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's database (the server's pool)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            )
    finally:
        engine.dispose()


def _pg_counters(url: str) -> dict:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            commits = conn.scalar(
                sa.text(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                )
            )
    finally:
        engine.dispose()
    return {"commits": commits}


@dataclass
class Server:
    """One measured server: its checkout, its private database and what the clients use."""

    repo: Path
    url: str
    work: Path
    python: str = sys.executable  # the interpreter the server runs on
    port: int = 0
    proc: subprocess.Popen | None = None
    heads: dict = field(default_factory=dict)
    uploads: list[dict] = field(default_factory=list)  # each client's own file ids, by name
    # what the measured run saw
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: int = 0


def _seed(server: Server) -> None:
    """Migrate and seed the server's database with its own checkout's code (two checkouts
    cannot share this process), as bench_lifecycle seeds it."""
    code = (
        "import sys; from pathlib import Path; "
        f"sys.path[:0] = [{str(server.repo)!r}, {str(server.repo / 'scripts')!r}]; "
        "import bench_lifecycle as bl; "
        f"app = bl.make_app({server.url!r}, Path({str(server.work)!r})); "
        "from service.db import db; ctx = app.app_context(); ctx.push(); "
        "db.session.remove(); db.engine.dispose()"
    )
    env = {**os.environ, "PYTHONPATH": str(server.repo)}
    subprocess.run([sys.executable, "-c", code], cwd=server.repo, env=env, check=True)


def _start(args, bl, server: Server) -> None:
    """Seed the database, start `memberflow serve` on it, sign in and upload the files."""
    server.work.mkdir(parents=True, exist_ok=True)
    _seed(server)
    server.port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(server.repo),
        "MEMBERFLOW_DATABASE_URL": server.url,
        "MEMBERFLOW_SECRET_KEY": "bench",
        "MEMBERFLOW_INSTANCE_DIR": str(server.work),
        "MEMBERFLOW_FILES_DIR": str(server.work / "files"),
        "MEMBERFLOW_JOIN_RATE_LIMIT": "1000000 per minute",
        "MEMBERFLOW_SIGNIN_ATTEMPTS": "1000000",
    }
    server.proc = subprocess.Popen(
        [
            server.python,
            "-c",
            "from service.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        cwd=server.repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(server.work / "server.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    _wait_for(server.port, server.proc)
    setup = Client(server.port)
    for role, username in bl.USERS.items():
        status, body = setup.call(
            "POST", "/api/v1/auth/token", {"username": username, "password": bl.PASSWORD}
        )
        assert status == 200, (status, body)
        server.heads[role] = {"Authorization": f"Bearer {body['access_token']}"}
    # each client its own uploads, as each applicant has: a start locks the rows of the
    # files it names until it commits, so clients sharing them waited on each other
    for _client in range(args.clients):
        ids = {}
        for name in (*bl.MATERIALS, "fee_voucher"):
            raw, ctype = _multipart(f"{name}.png", bl.png_bytes())
            status, body = setup.call(
                "POST", "/api/v1/files", headers=server.heads["unit_admin"], raw=raw, ctype=ctype
            )
            assert status == 201, (status, body)
            ids[name] = body["id"]
        server.uploads.append(ids)


def _stop(server: Server) -> None:
    if server.proc is None:
        return
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def run(args, bl, servers: list[Server]) -> list[list[dict]]:
    """Drive lifecycles through every server at once, each client thread taking them in
    turns (so that a neighbour's load falls on both alike); each round's figures of each
    server."""
    lock = threading.Lock()
    stop_at = [0.0]

    def lifecycle(server: Server, client: Client, mine: list[float], ids: dict) -> bool:
        heads = server.heads
        with lock:
            data = bl.application(ids)
        t0 = time.perf_counter()
        status, view = client.call(
            "POST",
            "/api/v1/processes/member_join/instances",
            {"data": data},
            heads["unit_admin"],
        )
        mine.append((time.perf_counter() - t0) * 1000)
        if status != 201:
            server.errors.append(f"start {status}: {view}")
            return False
        while not view["finished"]:
            task = view["open_tasks"][0]
            t0 = time.perf_counter()
            status, view = client.call(
                "POST",
                f"/api/v1/tasks/{task['id']}/complete",
                {"data": bl.payload(task["task_name"], ids["fee_voucher"], data)},
                heads[task["role"]],
            )
            mine.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                server.errors.append(f"{task['task_name']} {status}: {view}")
                return False
        return True

    def worker(first: int) -> None:
        clients = [Client(server.port) for server in servers]
        mine: list[list[float]] = [[] for _ in servers]
        counts = [0] * len(servers)
        turn = first
        while time.perf_counter() < stop_at[0]:
            i = turn % len(servers)
            turn += 1
            try:
                if lifecycle(servers[i], clients[i], mine[i], servers[i].uploads[first]):
                    counts[i] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                servers[i].errors.append(repr(exc))
        with lock:
            for server, times, count in zip(servers, mine, counts, strict=True):
                server.latencies.extend(times)
                server.done += count

    def drive(seconds: float) -> float:
        started = time.perf_counter()
        stop_at[0] = started + seconds
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started

    drive(min(3.0, args.seconds / 4))  # warm up every worker process and thread first
    rounds = []
    for _ in range(args.rounds):
        for server in servers:
            settle(server.url)  # as autovacuum keeps a production database
        rounds.append(measure(servers, drive, args.seconds))
    return rounds


def measure(servers: list[Server], drive, seconds: float) -> list[dict]:
    """One measured window of `seconds`: each server's figures."""
    for server in servers:
        server.latencies.clear()
        server.errors.clear()
        server.done = 0
    before = [_pg_counters(server.url) for server in servers]
    pids = [_server_pids(s.proc.pid) for s in servers]
    backends = [_cpu_by_pid(_backend_pids(s.url)) for s in servers]
    cpu_before = [_cpu_split(p) for p in pids]
    each_before = [_cpu_by_pid(p) for p in pids]
    client_before = time.process_time()
    machine_before = _machine_ticks()
    elapsed = drive(seconds)
    cpu_after = [_cpu_split(p) for p in pids]
    each_after = [_cpu_by_pid(p) for p in pids]
    db_cpu = [_backends_cpu(s.url, b) for s, b in zip(servers, backends, strict=True)]
    client_after = time.process_time()
    machine_after = _machine_ticks()
    after = [_pg_counters(server.url) for server in servers]
    all_requests = sum(len(server.latencies) for server in servers)
    results = []
    for n, server in enumerate(servers):
        requests = len(server.latencies)
        per = max(requests, 1)
        server_b, kernel_b = cpu_before[n]
        server_a, kernel_a = cpu_after[n]
        results.append(
            {
                "lifecycles": server.done,
                "seconds": elapsed,
                "per_second": server.done / elapsed,
                "requests": requests,
                "p50": statistics.median(server.latencies) if server.latencies else float("nan"),
                "p95": statistics.quantiles(server.latencies, n=20)[-1]
                if requests > 1
                else float("nan"),
                "errors": len(server.errors),
                "first_errors": server.errors[:3],
                "commits_per_request": (after[n]["commits"] - before[n]["commits"]) / per,
                # CPU per request: steadier than requests per second on a shared machine
                "server_cpu_ms": (server_a - server_b) * 1000 / per,
                # of which in the kernel (system time: sockets, mostly)
                "server_kernel_ms": (kernel_a - kernel_b) * 1000 / per,
                "database_cpu_ms": db_cpu[n] * 1000 / per,
                # each process's share of one core (the workers, busiest first; the master
                # and any process under 1 % left out): a worker's Python runs one thread at a
                # time, so a worker near 1.0 holds its requests back however idle the rest
                "process_cores": sorted(
                    (
                        cores
                        for pid, cpu in each_after[n].items()
                        if (cores := (cpu - each_before[n].get(pid, cpu)) / elapsed) >= 0.01
                    ),
                    reverse=True,
                ),
                # the load generator (this process's client threads) shares the cores it
                # measures; its CPU is shared out by requests
                "client_cpu_ms": (client_after - client_before) * 1000 / max(all_requests, 1),
                "machine_busy": (machine_after[0] - machine_before[0])
                / max(machine_after[1] - machine_before[1], 1),
            }
        )
    return results


# a round's figures whose median over the rounds is reported (the counts are summed)
_MEDIANS = (
    "per_second",
    "p50",
    "p95",
    "commits_per_request",
    "server_cpu_ms",
    "server_kernel_ms",
    "database_cpu_ms",
    "client_cpu_ms",
    "machine_busy",
)


def _median(rounds: list[dict]) -> dict:
    """One server's rounds as one result: the median of each figure, the counts summed,
    each process's share of a core from the round whose rate is the median's (the lower
    middle one for an even count)."""
    middle = sorted(rounds, key=lambda r: r["per_second"])[(len(rounds) - 1) // 2]
    result = {key: statistics.median(r[key] for r in rounds) for key in _MEDIANS}
    result.update(
        {key: sum(r[key] for r in rounds) for key in ("lifecycles", "seconds", "requests")},
        errors=sum(r["errors"] for r in rounds),
        first_errors=[line for r in rounds for line in r["first_errors"]][:3],
        process_cores=middle["process_cores"],
    )
    return result


def _rounds(rounds: list[list[dict]]) -> None:
    """A line per round, before the medians' report."""
    for n, results in enumerate(rounds, 1):
        if len(results) == 1:
            r = results[0]
            print(
                f"round {n}: {r['per_second']:5.1f} lifecycles/s, p95 {r['p95']:.1f} ms, "
                f"{r['errors']} errors; CPU ms/request: server {r['server_cpu_ms']:.2f}, "
                f"database {r['database_cpu_ms']:.2f}; machine {r['machine_busy'] * 100:.1f}% busy"
            )
        else:
            a, b = results
            print(
                f"round {n}: {a['lifecycles']} and {b['lifecycles']} lifecycles; server CPU "
                f"ms/request {a['server_cpu_ms']:.2f} and {b['server_cpu_ms']:.2f} "
                f"(B ÷ A {b['server_cpu_ms'] / a['server_cpu_ms']:.2f}), database "
                f"{a['database_cpu_ms']:.2f} and {b['database_cpu_ms']:.2f} "
                f"({b['database_cpu_ms'] / a['database_cpu_ms']:.2f}); "
                f"{a['errors'] + b['errors']} errors"
            )
    print(f"medians of {len(rounds)} rounds (counts summed):")


def _report(result: dict) -> None:
    print(f"lifecycles per second   {result['per_second']:8.1f}   (target >= 60)")
    print(f"lifecycles              {result['lifecycles']:8d}   in {result['seconds']:.1f} s")
    print(f"requests                {result['requests']:8d}")
    print(f"request latency p50 ms  {result['p50']:8.1f}")
    print(f"request latency p95 ms  {result['p95']:8.1f}")
    print(f"errors                  {result['errors']:8d}   (target 0)")
    print(f"commits per request     {result['commits_per_request']:8.2f}")
    print(
        f"server CPU ms/request   {result['server_cpu_ms']:8.2f}   (gunicorn's processes; "
        f"{result['server_kernel_ms']:.2f} of it in the kernel)"
    )
    print(f"database CPU ms/request {result['database_cpu_ms']:8.2f}   (its PostgreSQL backends)")
    print(
        f"client CPU ms/request   {result['client_cpu_ms']:8.2f}   (this script's client threads)"
    )
    print(
        f"machine CPU busy        {result['machine_busy'] * 100:7.1f}%   (all cores, every process)"
    )
    shares = ", ".join(f"{cores:.2f}" for cores in result["process_cores"])
    print(f"server processes' cores {shares:>8s}   (each one's share of a core, busiest first)")
    # what the measured costs allow: every core busy with the server, the database and the
    # clients alone, and what 60/s would allow them (six requests per lifecycle)
    cores = os.cpu_count() or 1
    spent = result["server_cpu_ms"] + result["database_cpu_ms"] + result["client_cpu_ms"]
    if spent > 0:
        print(
            f"ceiling at these costs  {cores * 1000 / (spent * 6):8.1f}   lifecycles/s with every "
            f"core busy; 60/s needs <= {cores * 1000 / (60 * 6):.2f} ms of CPU per request in all "
            f"(now {spent:.2f})"
        )
    for line in result["first_errors"]:
        print("  error:", line[:300])


def _compare(repos: list[Path], results: list[dict]) -> None:
    """Both servers' figures side by side, and the second's over the first's."""
    rows = [
        ("request latency p50 ms", "p50", "{:.1f}"),
        ("request latency p95 ms", "p95", "{:.1f}"),
        ("errors", "errors", "{:d}"),
        ("commits per request", "commits_per_request", "{:.2f}"),
        ("server CPU ms/request", "server_cpu_ms", "{:.2f}"),
        ("database CPU ms/request", "database_cpu_ms", "{:.2f}"),
    ]
    print(f"A: {repos[0]}\nB: {repos[1]}")
    print(
        f"lifecycles: {results[0]['lifecycles']} and {results[1]['lifecycles']} in "
        f"{results[0]['seconds']:.1f} s (the clients take the servers in turns: their counts "
        "match by design; compare the latency and the CPU)"
    )
    print(f"{'':26s} {'A':>9s} {'B':>9s} {'B ÷ A':>7s}")
    for label, key, form in rows:
        a, b = results[0][key], results[1][key]
        ratio = f"{b / a:7.2f}" if a else "      -"
        print(f"{label:26s} {form.format(a):>9s} {form.format(b):>9s} {ratio}")
    for name, result in zip("AB", results, strict=True):
        for line in result["first_errors"]:
            print(f"  error ({name}):", line[:300])


def _interpreter(path: str) -> str:
    """An interpreter as its path and version (the servers' interpreters may differ)."""
    version = subprocess.run(
        [path, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return f"{path} ({version})"


def _through(url: str, host: str | None) -> str:
    """`url` reaching its server at `host`: an address, or a socket's folder (libpq's
    `host` parameter, which takes both); unchanged when `host` is None."""
    if host is None:
        return url
    parsed = sa.make_url(url).set(host=None, port=None)
    return parsed.update_query_dict({"host": host}).render_as_string(hide_password=False)


def _reached(url: str) -> str:
    """How a server reaches PostgreSQL, for the report: its socket's folder or its address."""
    parsed = sa.make_url(url)
    host = parsed.query.get("host") or parsed.host or "/var/run/postgresql"
    if host.startswith("/"):
        return f"Unix socket in {host}"
    return f"TCP {host}:{parsed.port or 5432}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument(
        "--repo", type=Path, default=HERE.parent, help="the checkout whose server is measured"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="a second checkout, served at the same time: the clients take the two servers "
        "in turns, and the figures are printed side by side",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measured windows of --seconds each, one after the other on the same servers: "
        "a line per round, then the median of each figure",
    )
    parser.add_argument(
        "--db-host",
        action="append",
        default=[],
        metavar="HOST",
        help="how each server in turn (A, then B) reaches PostgreSQL: an address, or the "
        "folder of its Unix socket; default: MEMBERFLOW_BENCH_PG_URL's host",
    )
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="the interpreter each server in turn (A, then B) runs on, with the project "
        "installed (a virtualenv's python); default: this script's",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    repos = [args.repo.resolve()] + ([args.against.resolve()] if args.against else [])
    for option, given in (("--db-host", args.db_host), ("--python", args.python)):
        if len(given) > len(repos):
            parser.error(f"{option} given {len(given)} times for {len(repos)} server(s)")
    # the clients' payloads and seeding helpers: this checkout's (the API is the same)
    sys.path[:0] = [str(HERE.parent), str(HERE)]
    import bench_lifecycle as bl

    print(
        f"server{'s' if len(repos) > 1 else ''}: {', '.join(map(str, repos))} — "
        f"{args.workers} workers × {args.threads} threads each; "
        f"{args.clients} clients for {args.seconds:.0f} s; {os.cpu_count()} cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="memberflow-throughput-") as tmp:
        with bl.pg_databases(len(repos)) as urls:
            if urls is None:
                return 1
            urls = [_through(url, host) for url, host in itertools.zip_longest(urls, args.db_host)]
            print("database: " + ", ".join(_reached(url) for url in urls), flush=True)
            pythons = [  # absolute: each server starts in its own checkout
                os.path.abspath(path) if path else sys.executable
                for path, _ in itertools.zip_longest(args.python, repos)
            ]
            print("python: " + ", ".join(_interpreter(path) for path in pythons), flush=True)
            servers = [
                Server(repo, url, Path(tmp) / f"s{n}", python)
                for n, (repo, url, python) in enumerate(zip(repos, urls, pythons, strict=True))
            ]
            try:
                for server in servers:
                    _start(args, bl, server)
                rounds = run(args, bl, servers)
            finally:
                for server in servers:
                    _stop(server)
    if len(rounds) > 1:
        _rounds(rounds)
    results = [_median(list(each)) for each in zip(*rounds, strict=True)]
    if len(results) == 1:
        _report(results[0])
    else:
        _compare(repos, results)
    return 0 if all(result["errors"] == 0 for result in results) else 2


if __name__ == "__main__":
    sys.exit(main())
