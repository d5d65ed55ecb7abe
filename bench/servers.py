"""The servers under test: which program serves HTTP and which the WebSockets, started and stopped.

HTTP (``--http-server``): one master with W pre-forked workers on one loopback port (the kernel
hands each connection to a free worker, as behind nginx):

- ``gunicorn`` (default, as deployed): ``config.wsgi:application``, sync workers (or gthread);
- ``granian``: the same WSGI application on granian's Rust HTTP workers (keep-alive);
- ``uvicorn``: ``config.asgi:application`` on ``uvicorn --workers W`` (uvloop, httptools).

WebSockets (``--ws-server``): N single-process servers of ``config.asgi:application``, each on its
own port (the dashboards spread themselves over the ports): ``daphne`` (default, as deployed),
``uvicorn`` (websockets) or ``granian`` (ASGI, no lifespan: channels' router has none).

Beside the product's HTTP server runs a second one of the same kind, workers and flags, serving
``bench.bare_app`` (``bench/bare_settings.py``): the bare-Django ceiling, ``ceilings.bare``.
"""

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.infra import LOGS, ROOT, CounterService, _stop, children_of, free_port

HTTP_SERVERS = ("gunicorn", "granian", "uvicorn")
WS_SERVERS = ("daphne", "uvicorn", "granian")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http-server", choices=HTTP_SERVERS, default="gunicorn",
        help="HTTP server of the split layout: gunicorn (WSGI, default, as deployed), granian "
             "(WSGI, --http-threads blocking threads per worker) or uvicorn (ASGI, "
             "uvicorn --workers); same worker count (--http-workers) for each",
    )  # fmt: skip
    parser.add_argument(
        "--ws-server", choices=WS_SERVERS, default="daphne",
        help="WebSocket server, --processes single-process servers of config.asgi: daphne "
             "(default, as deployed), uvicorn or granian",
    )  # fmt: skip


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _wait_healthy(proc: subprocess.Popen, port: int, what: str, deadline: float) -> None:
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{what} on port {port} exited; see {LOGS}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} on port {port} did not answer /healthz") from None
            time.sleep(0.3)


def _workers_of(pid: int) -> list[int]:
    """The serving children of a master: multiprocessing's helper processes (spawn's resource
    tracker, under uvicorn and granian) serve nothing and are left out."""
    found = []
    for child in children_of(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            found.append(child)
    return found


def _spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    LOGS.mkdir(parents=True, exist_ok=True)
    out = open(log, "w")  # noqa: SIM115 — the child keeps it
    return subprocess.Popen(  # noqa: S603
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the harness, which stops them itself
    )  # fmt: skip


class HttpServer:
    """One master with ``workers`` pre-forked workers of ``app`` on one loopback port."""

    def __init__(
        self, kind: str, workers: int, env: dict[str, str], *, bare: bool = False,
        worker_class: str = "sync", threads: int = 1,
    ) -> None:  # fmt: skip
        self.kind, self.workers, self.bare = kind, workers, bare
        self.worker_class = worker_class if kind == "gunicorn" else kind
        self.threads = threads
        self.env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"} if bare else env
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = LOGS / f"{kind}{'-bare' if bare else ''}.log"

    @property
    def ports(self) -> list[int]:
        return [self.port]

    @property
    def app(self) -> str:
        if self.kind == "uvicorn":
            return "bench.bare_app:asgi" if self.bare else "config.asgi:application"
        return "bench.bare_app:wsgi" if self.bare else "config.wsgi:application"

    def command(self) -> list[str]:
        bind, workers = ["127.0.0.1", str(self.port)], str(self.workers)
        if self.kind == "granian":
            # Keep-alive is granian's default; WSGI views run on its blocking threads.
            return [
                _bin("granian"), "--interface", "wsgi", "--host", bind[0], "--port", bind[1],
                "--workers", workers, "--blocking-threads", str(self.threads),
                "--backlog", "2048", "--no-ws", "--log-level", "warning", self.app,
            ]  # fmt: skip
        if self.kind == "uvicorn":
            # ASGI: Django's ASGI handler, the product's API views offloaded to its thread pool
            # (core/offload.py), as under daphne. No lifespan: channels' router has none.
            return [
                _bin("uvicorn"), "--host", bind[0], "--port", bind[1], "--workers", workers,
                "--backlog", "2048", "--timeout-keep-alive", "5", "--proxy-headers",
                "--forwarded-allow-ips", "127.0.0.1", "--no-access-log", "--lifespan", "off",
                "--log-level", "warning", self.app,
            ]  # fmt: skip
        cmd = [
            _bin("gunicorn"), "--bind", ":".join(bind), "--workers", workers,
            "--worker-class", self.worker_class, "--keep-alive", "5", "--backlog", "2048",
            # As behind nginx: trust the proxy's X-Forwarded-* (DRF's throttles read
            # X-Forwarded-For themselves). No access log: nginx logs every request in production.
            "--forwarded-allow-ips", "127.0.0.1",
        ]  # fmt: skip
        if self.worker_class == "gthread":
            cmd += ["--threads", str(self.threads)]
        return [*cmd, self.app]

    def start(self) -> None:
        self.port = free_port()
        self.proc = _spawn(self.command(), self.env, self.log)
        deadline = time.monotonic() + 60
        _wait_healthy(self.proc, self.port, self.kind, deadline)
        while len(self.worker_pids()) < self.workers:
            if time.monotonic() > deadline:
                what = f"{self.kind} did not start {self.workers} workers"
                raise SystemExit(f"{what}; see {self.log}")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        return _workers_of(self.proc.pid) if self.proc else []

    def pids(self) -> list[int]:
        """The master and its workers, read anew each time (a worker may be replaced)."""
        return [self.proc.pid, *self.worker_pids()] if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            _stop([self.proc])
            self.proc = None

    def describe(self) -> str:
        return " ".join([Path(self.command()[0]).name, *self.command()[1:]])


class WsServers:
    """``count`` single-process ASGI servers of ``app``, each on its own loopback port, as in
    production (no proxy in front: the clients spread themselves over the ports and send
    X-Forwarded-For as nginx would). Also the HTTP servers of ``--layout daphne``."""

    def __init__(self, kind: str, count: int, env: dict[str, str], *, bare: bool = False) -> None:
        self.kind, self.count, self.bare = kind, count, bare
        self.env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"} if bare else env
        self.app = "bench.bare_app:asgi" if bare else "config.asgi:application"
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.logs: list[Path] = []

    @property
    def workers(self) -> int:
        return self.count

    def command(self, port: int) -> list[str]:
        if self.kind == "uvicorn":
            return [
                _bin("uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--proxy-headers",
                "--forwarded-allow-ips", "127.0.0.1", "--lifespan", "off", self.app,
            ]  # fmt: skip
        if self.kind == "granian":
            # asginl: ASGI without lifespan (channels' router has none); one worker per port.
            return [
                _bin("granian"), "--interface", "asginl", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--backlog", "2048", self.app,
            ]  # fmt: skip
        return [
            _bin("daphne"), "-b", "127.0.0.1", "-p", str(port), "--proxy-headers", self.app,
        ]  # fmt: skip

    def start(self) -> None:
        for i in range(self.count):
            port = free_port()
            # daphne-<i>.log as before; infra.relay_errors reads daphne-*.log and ws-*.log.
            name = f"daphne-{i}" if self.kind == "daphne" else f"ws-{self.kind}-{i}"
            log = LOGS / f"{name}{'-bare' if self.bare else ''}.log"
            self.procs.append(_spawn(self.command(port), self.env, log))
            self.ports.append(port)
            self.logs.append(log)
        deadline = time.monotonic() + 60
        for proc, port in zip(self.procs, self.ports, strict=True):
            _wait_healthy(proc, port, self.kind, deadline)

    def pids(self) -> list[int]:
        """Each server and its workers (granian serves from a child of its master)."""
        return [pid for p in self.procs for pid in (p.pid, *_workers_of(p.pid))]

    def stop(self) -> None:
        _stop(self.procs)
        self.procs = []

    def describe(self) -> str:
        return " ".join([self.kind, *self.command(0)[1:]]).replace(" 0 ", " <port> ")


class Layout:
    """Where HTTP and WebSockets go.

    ``split`` (production): HTTP on ``--http-server`` (gunicorn sync workers by default),
    WebSockets on ``--ws-server`` (daphne by default). ``daphne`` (the former layout, kept for
    comparison): the WebSocket servers serve both. The bare-Django ceiling runs on a second HTTP
    server of the same kind and flags as the product's.
    """

    def __init__(self, args, env: dict[str, str], counter_env: dict[str, str]) -> None:
        self.kind = args.layout
        self.ws = WsServers(args.ws_server, args.processes, env)
        self.counter = CounterService(counter_env)
        self.http: HttpServer | WsServers
        self.bare: HttpServer | WsServers
        if self.kind == "split":
            options = {"worker_class": args.http_worker_class, "threads": args.http_threads}
            self.http = HttpServer(args.http_server, args.http_workers, env, **options)
            self.bare = HttpServer(args.http_server, args.http_workers, env, bare=True, **options)
        else:
            self.http = self.ws
            self.bare = WsServers(args.ws_server, args.processes, env, bare=True)

    def start(self) -> None:
        self.counter.launch()  # its Django start-up overlaps the servers'
        if self.http is not self.ws:
            self.http.start()
        self.ws.start()
        self.bare.start()
        self.counter.wait_ready()

    def stop(self) -> None:
        self.counter.stop()
        self.bare.stop()
        if self.http is not self.ws:
            self.http.stop()
        self.ws.stop()

    def counter_pids(self) -> list[int]:
        return self.counter.pids()

    @property
    def http_ports(self) -> list[int]:
        return self.http.ports

    @property
    def ws_ports(self) -> list[int]:
        return self.ws.ports

    @property
    def bare_ports(self) -> list[int]:
        return self.bare.ports

    def http_pids(self) -> list[int]:
        return self.http.pids()

    def ws_pids(self) -> list[int]:
        return self.ws.pids()

    def bare_pids(self) -> list[int]:
        return self.bare.pids()

    def all_pids(self) -> list[int]:
        return sorted({*self.http_pids(), *self.ws_pids()})

    @property
    def http_processes(self) -> int:
        """Processes that serve HTTP requests."""
        return self.http.workers

    def profile_pid(self) -> int:
        """The process py-spy samples during the hot run: an HTTP worker, or WebSocket server 0."""
        if isinstance(self.http, HttpServer):
            return self.http.worker_pids()[0]
        return self.ws.pids()[0]

    def describe(self) -> dict:
        ws_line = self.ws.describe()
        common = {
            "ws_server": self.ws.kind,
            "ws": ws_line,
            "processes": self.ws.count,
            "http_ports": self.http_ports,
            "ws_ports": self.ws_ports,
            "bare_ports": self.bare_ports,
            "bare": f"{self.bare.describe()} (DJANGO_SETTINGS_MODULE=bench.bare_settings: no "
            "middleware, no apps, no database)",
            "counter": COUNTER_DESCRIPTION,
        }
        if isinstance(self.http, HttpServer):
            g = self.http
            threads = {
                "gthread": f" × {g.threads} threads",
                "granian": f" × {g.threads} blocking threads",
            }.get(g.worker_class, "")
            return {
                "layout": "split",
                "summary": (
                    f"HTTP: {g.kind} {g.app}, {g.workers} {g.worker_class} workers{threads} on "
                    f"one port; WebSocket: {self.ws.count} × {self.ws.kind} "
                    "config.asgi:application; bare Django: a second "
                    f"{g.kind} with the same flags; counter: 1 × manage.py count_ballots"
                ),
                "http_server": g.kind,
                "http": g.describe(),
                "http_workers": g.workers,
                "http_worker_class": g.worker_class,
                "http_threads": g.threads if g.worker_class in ("gthread", "granian") else 1,
                "access_log": "HTTP: none (nginx logs requests in production); WebSocket "
                "servers: their default (handshakes only in this layout)",
                **common,
            }
        return {
            "layout": "daphne",
            "summary": f"{self.ws.count} × {self.ws.kind} config.asgi:application (HTTP + "
            "WebSocket); counter: 1 × manage.py count_ballots",
            "http_server": self.ws.kind,
            "http": ws_line,
            "access_log": "the WebSocket servers' default (every request, to bench/results/logs/)",
            **common,
        }


COUNTER_DESCRIPTION = (
    "1 × manage.py count_ballots (the counter service, the only process with the private keys; "
    "COUNT_INTERVAL and BALLOT_BATCH_MIN/MAX as configured, defaults 0.2 s, 10/5000), running "
    "beside the servers from their start until the counting scenario"
)
