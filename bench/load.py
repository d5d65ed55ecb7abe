"""The load clients: closed-loop HTTP workers over aiohttp, with per-request latency.

Each worker sends its next request as soon as the previous answer is read, on a keep-alive
connection where the server keeps it (daphne, gunicorn gthread) and on a new connection per request
where it closes it (gunicorn sync workers answer ``Connection: close``; aiohttp reconnects, and the
connect is part of the measured latency). Workers are spread round-robin over the servers' ports
(one port for gunicorn: the kernel hands each connection to a free worker).
Every request names its citizen (``X-Session-Token``) and that citizen's address
(``X-Forwarded-For``, as the production proxy sets it), so rate limits see distinct phones.
"""

import asyncio
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from bench import infra

# A request: (method, path, body or None, headers, expected status); None = nothing left to send.
Request = tuple[str, str, bytes | None, dict[str, str], int]


def citizen_ip(uid: int) -> str:
    return f"10.{(uid >> 16) & 255}.{(uid >> 8) & 255}.{uid & 255}"


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


@dataclass
class Run:
    name: str
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    ok_times: list[float] = field(default_factory=list)  # monotonic time of each expected answer
    sample_errors: list[str] = field(default_factory=list)
    exhausted: bool = False
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0
    counter_cpu_s: float = 0.0
    machine_busy_pct: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.ok_times)

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok + sum(self.exceptions.values())

    def summary(self, cores: int) -> dict:
        lat = sorted(self.latencies_ms)
        wall = self.wall_s or float("nan")
        return {
            "requests": len(lat) + sum(self.exceptions.values()),
            "ok": self.ok,
            "per_s": round(self.ok / wall, 1),
            # Answers per second of server CPU: the per-core rate, robust to other load.
            "per_server_core_s": round(self.ok / self.server_cpu_s, 1)
            if self.server_cpu_s
            else None,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "exceptions": dict(self.exceptions),
            "sample_errors": self.sample_errors[:3],
            "p50_ms": round(percentile(lat, 0.50), 2),
            "p95_ms": round(percentile(lat, 0.95), 2),
            "p99_ms": round(percentile(lat, 0.99), 2),
            "max_ms": round(lat[-1], 2) if lat else None,
            "mean_ms": round(sum(lat) / len(lat), 3) if lat else None,
            "wall_s": round(self.wall_s, 2),
            "stopped_early_out_of_citizens": self.exhausted,
            "cpu": {
                "load_client_s": round(self.client_cpu_s, 2),
                "load_client_pct_of_one_core": round(100 * self.client_cpu_s / wall, 1),
                "servers_s": round(self.server_cpu_s, 2),
                "servers_pct_of_machine": round(100 * self.server_cpu_s / wall / cores, 1),
                "postgres_s": round(self.postgres_cpu_s, 2),
                "postgres_pct_of_machine": round(100 * self.postgres_cpu_s / wall / cores, 1),
                "counter_s": round(self.counter_cpu_s, 2),
                "counter_pct_of_one_core": round(100 * self.counter_cpu_s / wall, 1),
                "machine_busy_pct": round(self.machine_busy_pct, 1),
            },
        }


class Meter:
    """CPU of this process, of the servers, of the counter, of PostgreSQL and of the machine over
    a window.

    ``server_pids`` is called at both ends (gunicorn's workers are read from /proc each time); a
    process that appeared meanwhile counts from zero, one that exited meanwhile is missed."""

    def __init__(
        self,
        server_pids: Callable[[], list[int]] | list[int],
        counter_pids: Callable[[], list[int]] = list,
    ) -> None:
        self.server_pids = server_pids if callable(server_pids) else (lambda: list(server_pids))
        self.counter_pids = counter_pids

    def __enter__(self) -> "Meter":
        self.t0 = time.monotonic()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.c0 = usage.ru_utime + usage.ru_stime
        self.s0 = {p: infra.proc_cpu_seconds(p) for p in self.server_pids()}
        self.k0 = {p: infra.proc_cpu_seconds(p) for p in self.counter_pids()}
        self.p0 = infra.postgres_cpu_seconds()
        self.m0 = infra.machine_cpu()
        return self

    def __exit__(self, *exc) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.wall = time.monotonic() - self.t0
        self.client = usage.ru_utime + usage.ru_stime - self.c0
        self.server = sum(
            max(0.0, infra.proc_cpu_seconds(p) - self.s0.get(p, 0.0)) for p in self.server_pids()
        )
        self.counter = sum(
            max(0.0, infra.proc_cpu_seconds(p) - self.k0.get(p, 0.0)) for p in self.counter_pids()
        )
        # Processes alive at the end (backends that exited meanwhile are missed: a lower bound).
        self.postgres = sum(
            max(0.0, cpu - self.p0.get(pid, 0.0))
            for pid, cpu in infra.postgres_cpu_seconds().items()
        )
        busy, total = infra.machine_cpu()
        self.busy_pct = 100 * (busy - self.m0[0]) / max(1, total - self.m0[1])

    def fill(self, run: Run) -> None:
        run.client_cpu_s, run.server_cpu_s = self.client, self.server
        run.postgres_cpu_s, run.machine_busy_pct = self.postgres, self.busy_pct
        run.counter_cpu_s = self.counter


def session(clients: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=clients, limit_per_host=0, ttl_dns_cache=None),
        timeout=aiohttp.ClientTimeout(total=30),
        auto_decompress=False,
    )


async def closed_loop(
    name: str,
    ports: list[int],
    next_request: Callable[[], Request | None],
    *,
    clients: int,
    duration: float,
    server_pids: Callable[[], list[int]],
    cores: int,
    keep_body: Callable[[bytes], None] | None = None,
    counter_pids: Callable[[], list[int]] = list,
) -> Run:
    """``clients`` workers, each sending ``next_request()`` back to back for ``duration`` s."""
    run = Run(name)
    async with session(clients) as http:
        deadline = time.monotonic() + duration

        async def worker(i: int) -> None:
            base = f"http://127.0.0.1:{ports[i % len(ports)]}"
            while time.monotonic() < deadline:
                request = next_request()
                if request is None:
                    run.exhausted = True
                    return
                method, path, body, headers, expected = request
                t0 = time.monotonic()
                try:
                    async with http.request(method, base + path, data=body, headers=headers) as r:
                        payload = await r.read()
                        t1 = time.monotonic()
                        status = r.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    run.exceptions[type(exc).__name__] += 1
                    continue
                run.latencies_ms.append((t1 - t0) * 1000)
                run.statuses[status] += 1
                if status == expected:
                    run.ok_times.append(t1)
                    if keep_body is not None:
                        keep_body(payload)
                elif len(run.sample_errors) < 3:
                    run.sample_errors.append(f"{status} {payload[:200]!r}")

        with Meter(server_pids, counter_pids) as meter:
            await asyncio.gather(*(worker(i) for i in range(clients)))
        run.wall_s = meter.wall
        meter.fill(run)
    return run
