"""A PostgreSQL cluster of the test's own, with WAL archiving on: for the point-in-time restore
drill (tests/reliability/test_pitr_drill.py), which must stop, wipe and recover a server, and so
cannot use the shared one.

The cluster runs from the machine's PostgreSQL server binaries, as the ``postgres`` user when the
test runs as root (the server refuses to run as root), on a free port of 127.0.0.1, with its
socket, data, archive and base backups in one temporary directory. ``close()`` stops every server
it started and removes the directory.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.reliability.servers import free_port

BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def server_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (Debian keeps them off the PATH), if any."""
    for candidate in BIN_CANDIDATES:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Cluster:
    def __init__(self) -> None:
        bin_dir = server_bin()
        assert bin_dir is not None
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="pitr-", dir="/tmp"))
        self.data = self.root / "data"
        self.archive = self.root / "archive"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        self.archive.mkdir()
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.archive, "postgres")
        self._running = False

    def url(self, dbname: str = "mvoting") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def run(self, *command: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        """A command as the cluster's owner, with the PATH leading to its binaries first."""
        argv = [str(part) for part in command]
        if self._as_postgres:
            runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
            argv = [runuser, "-u", "postgres", "--", *argv]
        env = {"PATH": f"{self.bin}:{os.defpath}", "LANG": "C.UTF-8", "PGCONNECT_TIMEOUT": "5"}
        result = subprocess.run(
            argv, cwd=self.root, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if check:
            assert result.returncode == 0, (argv, result.stdout[-2000:], result.stderr[-2000:])
        return result

    def sql(self, statement: str, dbname: str = "mvoting") -> str:
        return self.run(
            "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", self.url(dbname), "-c", statement
        ).stdout.strip()

    def init(self) -> None:
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "archive_mode": "on",
            # The documented command (docs/operations/backups.md), into this cluster's archive.
            "archive_command": f"'test ! -f {self.archive}/%f && cp %p {self.archive}/%f'",
            "max_wal_senders": "4",
            "fsync": "off",  # crash safety is not under test; the archive is
            "shared_buffers": "16MB",
        }
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self.run(
            "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-w", "-t", "60", "start"
        )
        self._running = True

    def stop(self, mode: str = "fast") -> None:
        if self._running:
            self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)
            self._running = False

    def switch_wal_and_wait_archived(self, timeout: float = 60) -> None:
        """Close the current WAL segment and wait until the archiver has copied it."""
        segment = self.sql("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.archive / segment).exists():
                return
            time.sleep(0.2)
        raise AssertionError(f"WAL segment {segment} not archived within {timeout}s")

    def wait_promoted(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.run(
                "psql",
                "-X",
                "-qAt",
                self.url("postgres"),
                "-c",
                "SELECT pg_is_in_recovery()",
                check=False,
            )
            if result.returncode == 0 and result.stdout.strip() == "f":
                return
            time.sleep(0.2)
        raise AssertionError(f"not promoted within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text(errors="replace")[-4000:]
        return ""

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
