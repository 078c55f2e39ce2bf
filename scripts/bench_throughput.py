"""Join lifecycles per second through the real server on PostgreSQL.

Starts `memberflow serve` (gunicorn with threaded workers, the production server) on a
private PostgreSQL database, then drives whole member_join lifecycles (start + five tasks,
all approved) from a bounded number of client threads for a bounded time, each client on
its own keep-alive HTTP connection. Prints lifecycles per second, the p50/p95 request
latency, the error count, the commits per request the server made (PostgreSQL's own
counter, pg_stat_database.xact_commit; `bench_lifecycle.py` counts the statements), and the
CPU milliseconds per request of the server's processes, of the database's backends and of
this script's own client threads (read from /proc: steadier than the rate on a shared
machine), how busy the whole machine was, and the ceiling those costs allow: the
lifecycles per second with every core busy serving them, beside the CPU per request that
60/s would allow.

`--repo DIR` runs the server and the seeding from another checkout of this repository
(for example `git worktree add /tmp/before HEAD~3`), so two versions are measured side by
side by running the script twice in a row on the same machine.

Run:  python scripts/bench_throughput.py [--seconds 20] [--clients 8] [--workers 2]
          [--threads 8] [--repo DIR]
Target: >= 60 lifecycles/s on 2 cores with 0 errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection to the server, JSON in and out."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body=None, headers=None, raw=None, ctype=None):
        heads = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            heads["Content-Type"] = "application/json"
        elif ctype:
            heads["Content-Type"] = ctype
        try:
            self.conn.request(method, path, body=data, headers=heads)
            reply = self.conn.getresponse()
            payload = reply.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        return reply.status, (json.loads(payload) if payload else None)


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


def _cpu_seconds(pids) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc; 0 elsewhere)."""
    return _cpu_split(pids)[0]


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
    import sqlalchemy as sa

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
    import sqlalchemy as sa

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


def run(args, bl, url: str, work: Path) -> dict:
    app = bl.make_app(url, work)  # migrate and seed with the measured checkout's code
    with app.app_context():
        from service.db import db

        db.session.remove()
        db.engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(args.repo),
        "MEMBERFLOW_DATABASE_URL": url,
        "MEMBERFLOW_SECRET_KEY": "bench",
        "MEMBERFLOW_INSTANCE_DIR": str(work),
        "MEMBERFLOW_FILES_DIR": str(work / "files"),
        "MEMBERFLOW_JOIN_RATE_LIMIT": "1000000 per minute",
        "MEMBERFLOW_SIGNIN_ATTEMPTS": "1000000",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from service.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        cwd=args.repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "server.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        _wait_for(port, server)
        setup = Client(port)
        heads = {}
        for role, username in bl.USERS.items():
            status, body = setup.call(
                "POST", "/api/v1/auth/token", {"username": username, "password": bl.PASSWORD}
            )
            assert status == 200, (status, body)
            heads[role] = {"Authorization": f"Bearer {body['access_token']}"}
        ids = {}
        for name in (*bl.MATERIALS, "fee_voucher"):
            raw, ctype = _multipart(f"{name}.png", bl.png_bytes())
            status, body = setup.call(
                "POST", "/api/v1/files", headers=heads["unit_admin"], raw=raw, ctype=ctype
            )
            assert status == 201, (status, body)
            ids[name] = body["id"]
        lock = threading.Lock()
        latencies: list[float] = []
        errors: list[str] = []
        done = [0]
        stop_at = [0.0]

        def lifecycle(client: Client, mine: list[float]) -> bool:
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
                errors.append(f"start {status}: {view}")
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
                    errors.append(f"{task['task_name']} {status}: {view}")
                    return False
            return True

        def worker() -> None:
            client = Client(port)
            mine: list[float] = []
            count = 0
            while time.perf_counter() < stop_at[0]:
                try:
                    if lifecycle(client, mine):
                        count += 1
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    errors.append(repr(exc))
            with lock:
                latencies.extend(mine)
                done[0] += count

        # warm up every worker process and thread before measuring
        stop_at[0] = time.perf_counter() + min(3.0, args.seconds / 4)
        warm = [threading.Thread(target=worker) for _ in range(args.clients)]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        latencies.clear()
        errors.clear()
        done[0] = 0
        before = _pg_counters(url)
        server_pids, backends = _server_pids(server.pid), _backend_pids(url)
        server_before, kernel_before = _cpu_split(server_pids)
        cpu_before = (server_before, _cpu_seconds(backends), time.process_time())
        machine_before = _machine_ticks()
        started = time.perf_counter()
        stop_at[0] = started + args.seconds
        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_after, kernel_after = _cpu_split(server_pids)
        cpu_after = (server_after, _cpu_seconds(backends), time.process_time())
        machine_after = _machine_ticks()
        after = _pg_counters(url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    requests = len(latencies)
    result = {
        "lifecycles": done[0],
        "seconds": elapsed,
        "per_second": done[0] / elapsed,
        "requests": requests,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else float("nan"),
        "errors": len(errors),
        "first_errors": errors[:3],
        "commits_per_request": (after["commits"] - before["commits"]) / max(requests, 1),
        # CPU per request: steadier than requests per second on a shared machine
        "server_cpu_ms": (cpu_after[0] - cpu_before[0]) * 1000 / max(requests, 1),
        # of which in the kernel (system time: sockets, mostly)
        "server_kernel_ms": (kernel_after - kernel_before) * 1000 / max(requests, 1),
        "database_cpu_ms": (cpu_after[1] - cpu_before[1]) * 1000 / max(requests, 1),
        # the load generator (this process's client threads) shares the cores it measures
        "client_cpu_ms": (cpu_after[2] - cpu_before[2]) * 1000 / max(requests, 1),
        "machine_busy": (machine_after[0] - machine_before[0])
        / max(machine_after[1] - machine_before[1], 1),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument(
        "--repo", type=Path, default=HERE.parent, help="the checkout whose server is measured"
    )
    args = parser.parse_args(argv)
    args.repo = args.repo.resolve()
    sys.path[:0] = [str(args.repo), str(args.repo / "scripts")]
    import bench_lifecycle as bl  # the measured checkout's seeding and payloads

    print(
        f"server: {args.repo} — {args.workers} workers × {args.threads} threads; "
        f"{args.clients} clients for {args.seconds:.0f} s; {os.cpu_count()} cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="memberflow-throughput-") as tmp:
        result = bl.with_pg_database(lambda url: run(args, bl, url, Path(tmp)))
    if result is None:
        return 1
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
    return 0 if result["errors"] == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
