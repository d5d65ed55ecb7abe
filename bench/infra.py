"""PostgreSQL, Redis, the bench database and the server processes: start, check, stop.

Everything started here is stopped here (``Servers.stop`` runs in a ``finally``); PostgreSQL and
Redis are left as they were found (started only if down, and then stopped again at the end).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LOGS = RESULTS / "logs"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
DB_NAME = "mvoting_bench"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)  # noqa: S603


def pgbench_path() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    raise SystemExit("pgbench not found (apt-get install postgresql-client)")


def _pg_ready() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            pass
    except OSError:
        return False
    return _run(["pg_isready", "-h", PG_HOST, "-p", str(PG_PORT), "-q"]).returncode == 0


def _redis_ready() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Services:
    """Makes sure PostgreSQL and Redis run; remembers what it started, to stop only that."""

    def __init__(self) -> None:
        self.started_pg: str | None = None
        self.started_redis = False

    def ensure(self) -> None:
        if not _pg_ready():
            version = sorted(os.listdir("/etc/postgresql"))[-1]
            print(f"  PostgreSQL is down: starting cluster {version}/main", flush=True)
            _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
            self.started_pg = version
            _wait(_pg_ready, 30, "PostgreSQL")
        if not _redis_ready():
            print("  Redis is down: starting it", flush=True)
            _run(
                ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1",
                 "--port", "6379", "--save", "", "--appendonly", "no"]
            )  # fmt: skip
            self.started_redis = True
            _wait(_redis_ready, 30, "Redis")

    def restore(self) -> None:
        if self.started_redis:
            _run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"])
        if self.started_pg:
            _run(["pg_ctlcluster", "--skip-systemctl-redirect", self.started_pg, "main", "stop"])


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"{what} did not come up within {seconds:.0f}s")


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def ballot_keys() -> dict[str, str]:
    """A fresh set of the ballot box's keys for this run (as ``manage.py ballot_keys`` makes one):
    the public halves for every process, the private ones for the counter (and the harness, which
    seals and signs the preloaded data as the operator would)."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    sealing, signing = PrivateKey.generate(), SigningKey.generate()
    return {
        "BALLOT_SEALING_PUBLIC_KEY": sealing.public_key.encode().hex(),
        "BALLOT_SEALING_PRIVATE_KEY": sealing.encode().hex(),
        "BOARD_VERIFY_KEY": signing.verify_key.encode().hex(),
        "BOARD_SIGNING_KEY": signing.encode().hex(),
    }


PRIVATE_KEYS = ("BALLOT_SEALING_PRIVATE_KEY", "BOARD_SIGNING_KEY")


def counter_env(env: dict[str, str], keys: dict[str, str]) -> dict[str, str]:
    """The counter's environment: the servers' plus the private keys, as docker-compose gives
    them to the ``counter`` service only."""
    return {**env, **{name: keys[name] for name in PRIVATE_KEYS}}


def server_env(prefix: str, keys: dict[str, str]) -> dict[str, str]:
    """The environment the product runs with in production, pointed at the bench DB and Redis.
    Web processes get the public keys only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    for name in PRIVATE_KEYS:
        env.pop(name, None)
    env.update(
        BALLOT_SEALING_PUBLIC_KEY=keys["BALLOT_SEALING_PUBLIC_KEY"],
        BOARD_VERIFY_KEY=keys["BOARD_VERIFY_KEY"],
        DATABASE_URL=f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production-" + "x" * 20,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="false",
        # The load clients send X-Forwarded-For as nginx would (one proxy, as in compose), so
        # rate limits and the SMS budget see one address per citizen.
        TRUSTED_PROXY_COUNT="1",
        CHANNEL_LAYER_PREFIX=f"{prefix}:layer",
        CACHE_KEY_PREFIX=f"{prefix}:cache",
        CELERY_KEY_PREFIX=f"{prefix}:celery:",
        DJANGO_SETTINGS_MODULE="bench.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class Servers:
    """N daphne processes (``config.asgi:application``), each on its own loopback port, as in
    production (no proxy in front: the clients spread themselves over the ports and send
    X-Forwarded-For as nginx would)."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        self.count = count
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.logs: list[Path] = []

    def start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        daphne = str(Path(sys.executable).with_name("daphne"))
        for i in range(self.count):
            port = free_port()
            log = LOGS / f"daphne-{i}.log"
            out = open(log, "w")  # noqa: SIM115 — the child keeps it
            proc = subprocess.Popen(  # noqa: S603
                [daphne, "-b", "127.0.0.1", "-p", str(port), "--proxy-headers",
                 "config.asgi:application"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the harness, which stops them itself
            )  # fmt: skip
            self.procs.append(proc)
            self.ports.append(port)
            self.logs.append(log)
        deadline = time.monotonic() + 60
        for proc, port in zip(self.procs, self.ports, strict=True):
            _wait_healthy(proc, port, "daphne", deadline)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        _stop(self.procs)
        self.procs = []


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc/<child>/stat's ppid field)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


class Gunicorn:
    """One gunicorn master (``config.wsgi:application``) with ``workers`` pre-forked workers on one
    loopback port: the kernel hands each connection to a free worker, as behind nginx."""

    def __init__(
        self, workers: int, env: dict[str, str], *, worker_class: str = "sync", threads: int = 1
    ) -> None:
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = LOGS / "gunicorn.log"

    @property
    def ports(self) -> list[int]:
        return [self.port]

    def command(self) -> list[str]:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        cmd = [
            gunicorn, "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--worker-class", self.worker_class, "--keep-alive", "5", "--backlog", "2048",
            # As behind nginx: trust the proxy's X-Forwarded-* (DRF's throttles read
            # X-Forwarded-For themselves). No access log: nginx logs every request in production.
            "--forwarded-allow-ips", "127.0.0.1",
        ]  # fmt: skip
        if self.worker_class == "gthread":
            cmd += ["--threads", str(self.threads)]
        return [*cmd, "config.wsgi:application"]

    def start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        out = open(self.log, "w")  # noqa: SIM115 — the child keeps it
        self.proc = subprocess.Popen(  # noqa: S603
            self.command(), cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        _wait_healthy(self.proc, self.port, "gunicorn", deadline)
        while len(children_of(self.proc.pid)) < self.workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start {self.workers} workers; see {self.log}")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def pids(self) -> list[int]:
        """The master and its workers, read anew each time (a worker may be replaced)."""
        return [self.proc.pid, *self.worker_pids()] if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            _stop([self.proc])
            self.proc = None


class CounterService:
    """The ballot counter as deployed: ``manage.py count_ballots`` (one process, the private keys,
    ``COUNT_INTERVAL`` as configured, default 0.2 s), beside the servers. Stopped with SIGTERM,
    which it honours between batches."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log = LOGS / "counter.log"
        self.started_at: float | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        out = open(self.log, "a")  # noqa: SIM115 — the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "count_ballots"],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.started_at = time.monotonic()

    def wait_ready(self) -> None:
        # Django's start-up (~1 s): the counter is looking for work once its log says so.
        deadline = time.monotonic() + 60
        while "counter started" not in self.log.read_text(errors="replace")[self.offset :]:
            if self.proc.poll() is not None:
                raise SystemExit(f"the counter exited at start; see {self.log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the counter did not start; see {self.log}")
            time.sleep(0.2)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.running else []

    def stop(self) -> None:
        if self.proc is not None:
            _stop([self.proc])
            self.proc = None


class Layout:
    """Where HTTP and WebSockets go.

    ``split`` (production): HTTP on gunicorn sync workers (WSGI), WebSockets on daphne (ASGI).
    ``daphne`` (the former layout, kept for comparison): daphne processes serve both.
    """

    def __init__(self, args, env: dict[str, str], counter_env: dict[str, str]) -> None:
        self.kind = args.layout
        self.ws = Servers(args.processes, env)
        self.counter = CounterService(counter_env)
        if self.kind == "split":
            self.http = Gunicorn(
                args.http_workers, env, worker_class=args.http_worker_class,
                threads=args.http_threads,
            )  # fmt: skip
        else:
            self.http = self.ws

    def start(self) -> None:
        self.counter.launch()  # its Django start-up overlaps the servers'
        if self.http is not self.ws:
            self.http.start()
        self.ws.start()
        self.counter.wait_ready()

    def stop(self) -> None:
        self.counter.stop()
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

    def http_pids(self) -> list[int]:
        return self.http.pids()

    def ws_pids(self) -> list[int]:
        return self.ws.pids()

    def all_pids(self) -> list[int]:
        return sorted({*self.http_pids(), *self.ws_pids()})

    @property
    def http_processes(self) -> int:
        """Processes that serve HTTP requests."""
        return self.http.workers if isinstance(self.http, Gunicorn) else len(self.ws.ports)

    def profile_pid(self) -> int:
        """The process py-spy samples during the hot run: a gunicorn worker, or daphne 0."""
        if isinstance(self.http, Gunicorn):
            return self.http.worker_pids()[0]
        return self.ws.pids()[0]

    def describe(self) -> dict:
        if isinstance(self.http, Gunicorn):
            g = self.http
            threads = f" --threads {g.threads}" if g.worker_class == "gthread" else ""
            return {
                "layout": "split",
                "summary": (
                    f"HTTP: gunicorn config.wsgi:application, {g.workers} {g.worker_class} "
                    f"workers{threads} on one port; WebSocket: {self.ws.count} × daphne "
                    "config.asgi:application; counter: 1 × manage.py count_ballots"
                ),
                "http": " ".join(["gunicorn", *g.command()[1:]]),
                "ws": "daphne --proxy-headers config.asgi:application",
                "http_workers": g.workers,
                "http_worker_class": g.worker_class,
                "http_threads": g.threads if g.worker_class == "gthread" else 1,
                "processes": self.ws.count,
                "http_ports": self.http_ports,
                "ws_ports": self.ws_ports,
                "access_log": "gunicorn: none (nginx logs requests in production); daphne: its "
                "default access log (WebSocket handshakes only in this layout)",
                "counter": COUNTER_DESCRIPTION,
            }
        return {
            "layout": "daphne",
            "summary": f"{self.ws.count} × daphne config.asgi:application (HTTP + WebSocket); "
            "counter: 1 × manage.py count_ballots",
            "http": "daphne --proxy-headers config.asgi:application",
            "ws": "the same processes",
            "processes": self.ws.count,
            "http_ports": self.http_ports,
            "ws_ports": self.ws_ports,
            "access_log": "daphne's default (every request, to bench/results/logs/)",
            "counter": COUNTER_DESCRIPTION,
        }


COUNTER_DESCRIPTION = (
    "1 × manage.py count_ballots (the counter service, the only process with the private keys; "
    "COUNT_INTERVAL and BALLOT_BATCH_MIN/MAX as configured, defaults 0.2 s, 10/5000), running "
    "beside the servers from their start until the counting scenario"
)


def relay_errors() -> int:
    """The daphne relays' "channel layer unavailable" warnings so far (voting/live/relay.py): each
    is a failed receive, followed by a back-off during which frames wait in Redis."""
    total = 0
    for log in LOGS.glob("daphne-*.log"):
        with contextlib.suppress(OSError):
            total += log.read_text(errors="replace").count("channel layer unavailable")
    return total


# --- /proc readings ------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU time of each PostgreSQL process by pid (a read-only look at /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip().startswith("postgres"):
                found[int(entry.name)] = proc_cpu_seconds(int(entry.name))
        except OSError:
            continue
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total
