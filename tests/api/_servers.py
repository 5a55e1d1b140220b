"""Real servers on free loopback ports for the API tests: Debian's nginx (as a subprocess with every path in a temp
folder), `odordiff serve` replicas, and redis-server (the Redis tests' helper, loaded from tests/redis)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ODORDIFF = Path(sys.executable).with_name("odordiff")
REPLICA_START_S = 240  # models load in 5-30 s per process; two at once on 2 busy cores take longer


def _redis_helpers():
    name = "_redis_helpers"  # the module tests/redis/conftest.py imports under the same name
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "redis" / "_redis_helpers.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


free_port = _redis_helpers().free_port
RedisServer = _redis_helpers().RedisServer
redis_server_binary = _redis_helpers().redis_server_binary


def binary(name: str, package: str) -> str:
    """Returns the path of a Debian tool; fails the test with the install command when it is missing."""
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if not found:
        pytest.fail(f"{name} not found: run `apt-get install -y {package}` (or `make system-test-deps`).")
    return found


def nginx_conf(http_body: str, tmp: Path) -> str:
    """Returns a whole nginx.conf around `http_body` with the pid, logs and temp folders in `tmp` (no root paths).

    As root (CI) the workers run as root too (`user root;`), so they can read `tmp`; otherwise nginx runs as the
    current user and ignores `user`.
    """
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(f"    {kind}_temp_path {tmp}/{kind};" for kind in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log warn;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n    access_log {tmp}/access.log;\n{temps}\n{http_body}\n}}\n")


class Nginx:
    """Debian's nginx in the foreground (`daemon off`) with a conf written to a temp folder; stopped by PID."""

    def __init__(self, conf: str, tmp: Path) -> None:
        self.tmp, self.path = tmp, tmp / "nginx.conf"
        self.path.write_text(conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def test_config(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary("nginx", "nginx"), "-t", "-p", str(self.tmp), "-c", str(self.path)],
                              capture_output=True, text=True, timeout=30)

    def start(self, port: int) -> None:
        self.proc = subprocess.Popen([binary("nginx", "nginx"), "-p", str(self.tmp), "-c", str(self.path),
                                      "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_http(f"http://127.0.0.1:{port}/nginx-health", self.proc, 20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown of master and workers
            self.proc.wait(timeout=10)


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    """Waits until GET url answers 200; fails with the process's output when it exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
            pytest.fail(f"{proc.args[:3]} exited with {proc.returncode} before {url} answered:\n{out}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 within {timeout_s:.0f} s")


class Replica:
    """One `odordiff serve` process (its own models, the shared store and Redis from `env`); killed by PID."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port, self.log = port, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([str(ODORDIFF), "serve", "--host", "127.0.0.1", "--port", str(port),
                                          "--log-level", "warning"], cwd=REPO, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + REPLICA_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"replica on {self.port} exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        pytest.fail(f"replica on {self.port} not ready in {REPLICA_START_S} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no graceful shutdown, in-flight requests cut."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
