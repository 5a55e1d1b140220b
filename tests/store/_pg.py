"""A throwaway PostgreSQL cluster (Debian's postgresql package) on a free loopback port, for the store tests.

PostgreSQL refuses to run as root and CI runs as root: then initdb and pg_ctl run as the `postgres` user the package
creates (`runuser -u postgres`), in a temp folder owned by it; as any other user they run directly.
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest


def pg_bin(name: str) -> str:
    """Returns the path of a PostgreSQL server program; fails the test with the fix when it is not installed."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    pytest.fail(f"PostgreSQL's {name} not found: run `apt-get install -y postgresql` (or `make system-test-deps`).")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """initdb'd once; start()/stop() may be called repeatedly (a test stops it to see the store's error)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="odordiff-pg-"))
        self.data, self.log = self.root / "data", self.root / "log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "odordiff", "-E", "UTF8",
                  "--no-sync")

    def _run(self, *cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else list(cmd)
        done = subprocess.run(full, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://odordiff@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        full = [pg_bin("pg_ctl"), "-D", str(self.data), "status"]
        if self.as_root:
            full = ["runuser", "-u", "postgres", "--", *full]
        return subprocess.run(full, capture_output=True).returncode == 0

    def remove(self) -> None:
        if self.is_running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_db_names = itertools.count()


def fresh_database(cluster: PgCluster) -> str:
    """Returns the SQLAlchemy URL of a new, empty database in the cluster."""
    name = f"t{next(_db_names)}"
    with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=odordiff dbname=postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)
