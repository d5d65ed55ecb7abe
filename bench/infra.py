"""PostgreSQL, Redis, the bench database, the counter service and /proc readings (the servers:
``bench.servers``).

Everything started here is stopped here (``Layout.stop`` runs in a ``finally``); PostgreSQL and
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


def cleanup_redis(prefix: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    except Exception:  # noqa: S110 — best effort; every key expires anyway
        pass


def source_state() -> dict:
    """The product's code this run measured: the commit, and a digest of the uncommitted changes
    outside bench/ (runs with different digests measured different code: compare ratios within a
    run only)."""
    import hashlib

    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False).stdout  # noqa: S603, S607

    product = ["--", ".", ":(exclude)bench"]
    digest = hashlib.sha256(git("diff", "HEAD", *product))
    untracked = git("ls-files", "--others", "--exclude-standard", *product).decode().split()
    for name in sorted(untracked):
        with contextlib.suppress(OSError):
            digest.update(name.encode() + (ROOT / name).read_bytes())
    changed = git("diff", "HEAD", "--name-only", *product).decode().split()
    return {
        "commit": git("rev-parse", "--short", "HEAD").decode().strip(),
        "uncommitted_files": len(changed) + len(untracked),
        "uncommitted_sha256": digest.hexdigest()[:12] if changed or untracked else None,
    }


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
        # Required in production, so the servers get their own (docs/operations/secrets.md).
        VOTER_KEY_SECRET="bench-voter-key-not-for-production-" + "x" * 20,
        MFA_ENCRYPTION_KEY="bench-mfa-key-not-for-production-" + "x" * 20,
        AUDIT_CHAIN_KEY="bench-audit-chain-key-not-for-production-" + "x" * 20,
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


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


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


def relay_errors() -> int:
    """The WebSocket servers' relays' "channel layer unavailable" warnings so far
    (voting/live/relay.py): each is a failed receive, followed by a back-off during which frames
    wait in Redis."""
    total = 0
    for log in [*LOGS.glob("daphne-*.log"), *LOGS.glob("ws-*.log")]:
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
