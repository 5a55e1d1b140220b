"""Bench section over the REST API (`odordiff serve`): latency per route, predict throughput with 2 workers, the
per-request overhead of auth + rate limit + metrics, and a bounded load test of 2 replicas behind nginx.

Every server runs on loopback with the shipped models, a throwaway SQLite store (one perfumer key) and a
redis-server started here (rate limits shared by the replicas, as deployed). The load test stops by itself after
LOAD_REQUESTS requests.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from odordiff_core.config import Settings

from .app import stop_server
from .cache import free_port, start_redis_server
from .common import PROMPTS, REPO, NotAvailable, Row, Section, percentile_ms

N_INTERPRET = 40  # timed calls per route
N_PREDICT = 10
N_GENERATE = 8  # distinct seeds: every generation is computed (no cache hit)
N_OVERHEAD = 500
THROUGHPUT_CALLS = 16  # predict calls of 100 SMILES, THREADS at a time
THREADS = 4
LOAD_REQUESTS = 400  # the load test's bound
SERVER_START_S = 300
ODORANTS = (  # 25 known odorants; x4 = the 100-SMILES predict batch
    "CC(C)=CCCC(C)(O)C=C", "CC1=CCC(CC1)C(C)=C", "O=Cc1ccc(O)c(OC)c1", "CC(C)=CCCC(C)=CC=O", "CCCCCCCCC=O",
    "CC(=O)OCC=C(C)CCC=C(C)C", "OCc1ccccc1", "CC(C)C1CCC(C)CC1O", "COc1ccc(C=CC)cc1", "O=C1CCCCCCCCCCCCCC1",
    "CC1(C)C2CCC1(C)C(=O)C2", "CCOC(=O)c1ccccc1", "O=CC=Cc1ccccc1", "CC(=O)c1ccc(C)cc1", "CCCCCC=CCO",
    "CC1CCC(C(C)C)C(=O)C1", "OC1CCCCC1", "CC(C)CCOC(C)=O", "O=C1OCCC1", "Cc1ccc(C(C)C)cc1O",
    "CC(CCC=C(C)C)CCO", "C=CC(C)(O)CCC=C(C)C", "CCCCC(=O)OCC", "O=C(OCc1ccccc1)c1ccccc1", "CC(=O)C=Cc1ccccc1",
)


def _wait_ready(proc: subprocess.Popen, port: int, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotAvailable(f"`odordiff serve` exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise NotAvailable(f"`odordiff serve` not ready in {SERVER_START_S} s; see {log}")


def _serve(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"odordiff-bench-api-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("odordiff")), "serve", "--port", str(port),
                                 "--workers", str(workers), "--log-level", "warning"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    _wait_ready(proc, port, log)
    return proc, port


def _timed(client: Any, path: str, bodies: list[dict[str, Any]]) -> list[float]:
    times = []
    for body in bodies:
        started = time.perf_counter()
        r = client.post(path, json=body)
        times.append(time.perf_counter() - started)
        if r.status_code != 200:
            raise NotAvailable(f"{path} answered {r.status_code}: {r.text[:200]}")
    return times


def _latency_rows(section: Section, base: str, key: str) -> None:
    import httpx

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300) as c:
        c.post("/v1/generate", json={"prompt": PROMPTS[0], "n": 16, "seed": 10_000})  # warm-up: first-call kernels
        rows = (
            ("interpret", _timed(c, "/v1/interpret", [{"prompt": PROMPTS[i % len(PROMPTS)]} for i in range(N_INTERPRET)]),
             f"POST /v1/interpret, {N_INTERPRET} briefs"),
            ("predict (100 SMILES)", _timed(c, "/v1/predict", [{"smiles": list(ODORANTS) * 4}] * N_PREDICT),
             f"POST /v1/predict with 100 SMILES, {N_PREDICT} calls"),
            ("generate (n 16)", _timed(c, "/v1/generate", [{"prompt": PROMPTS[i], "n": 16, "seed": i}
                                                           for i in range(N_GENERATE)]),
             f"POST /v1/generate n=16, {N_GENERATE} briefs, distinct seeds (all computed)"),
        )
    for name, times, how in rows:
        section.rows.append(Row(f"API {name} p50", percentile_ms(times, 50), "ms", None, f"{how}; 1 worker, loopback HTTP"))
        section.rows.append(Row(f"API {name} p95", percentile_ms(times, 95), "ms", None, "same run"))


def _throughput(base: str, key: str) -> float:
    """Returns molecules/s of predict calls of 100 SMILES sent THREADS at a time."""
    import httpx

    body = {"smiles": list(ODORANTS) * 4}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300) as c, \
            ThreadPoolExecutor(THREADS) as pool:
        c.post("/v1/predict", json=body)
        started = time.perf_counter()
        codes = list(pool.map(lambda _: c.post("/v1/predict", json=body).status_code, range(THROUGHPUT_CALLS)))
        seconds = time.perf_counter() - started
    if set(codes) != {200}:
        raise NotAvailable(f"predict throughput: answers {Counter(codes)}")
    return THROUGHPUT_CALLS * 100 / seconds


def _overhead(settings: Settings, key: str, redis_url: str) -> tuple[float, float]:
    """Returns the p50 ms of one request's auth + rate limit + metrics work, with the memory and the Redis limiter:
    `Store.verify_api_key` + `KeyRateLimiter.hit` + the request counter and latency histogram."""
    from odordiff_api import metrics
    from odordiff_api.ratelimit import KeyRateLimiter
    from odordiff_core.store import Store

    store = Store.open(settings)
    out = []
    try:
        for url in (None, redis_url):
            limiter = KeyRateLimiter("1000000/hour", url)
            times = []
            for _ in range(N_OVERHEAD):
                started = time.perf_counter()
                info = store.verify_api_key(key)
                assert info is not None and limiter.hit(f"key:{info.id}").allowed
                metrics.REQUESTS.labels("/bench", "POST", "200").inc()
                metrics.LATENCY.labels("/bench", "POST", "200").observe(0.001)
                times.append(time.perf_counter() - started)
            out.append(percentile_ms(times, 50))
    finally:
        store.close()
    return out[0], out[1]


def _nginx(api_ports: list[int], tmp: Path) -> tuple[subprocess.Popen, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise NotAvailable("nginx not installed (`apt-get install -y nginx`)")
    port = free_port()
    servers = "".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s; " for p in api_ports)
    temps = " ".join(f"{k}_temp_path {tmp}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = (("user root;\n" if os.geteuid() == 0 else "") +
            f"worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;\n"
            f"events {{ worker_connections 256; }}\nhttp {{ access_log off; {temps}\n"
            f"upstream odordiff_api {{ {servers} keepalive 16; }}\n"
            f"server {{ listen 127.0.0.1:{port}; location = /nginx-health {{ return 200; }}\n"
            f"include {REPO / 'deploy' / 'nginx' / 'api_locations.conf'}; }} }}\n")
    (tmp / "nginx.conf").write_text(conf)
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/nginx-health", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise NotAvailable(f"nginx did not start; see {tmp}/error.log")


def _load(base: str, key: str) -> tuple[float, Counter]:
    """Returns (requests/s, answers by status or error name) of LOAD_REQUESTS screen calls, THREADS at a time."""
    import httpx

    body = {"smiles": list(ODORANTS[:2])}

    def one(client: httpx.Client) -> int | str:
        try:
            return client.post("/v1/screen", json=body).status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c, \
            ThreadPoolExecutor(THREADS) as pool:
        started = time.perf_counter()
        answers = Counter(pool.map(lambda _: one(c), range(LOAD_REQUESTS)))
        seconds = time.perf_counter() - started
    return LOAD_REQUESTS / seconds, answers


def bench_api(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise NotAvailable("redis-server not installed (`apt-get install -y redis-server`)")
    from odordiff_core.store import Store
    from odordiff_core.types import Role

    tmp = Path(tempfile.mkdtemp(prefix="odordiff-bench-api-"))
    redis_proc, redis_url = start_redis_server(redis_bin)
    bench_settings = dataclasses.replace(settings, work_dir=tmp / "work", database_url=None, redis_url=redis_url)
    store = Store.open(bench_settings)
    try:
        key, _ = store.create_api_key(store.ensure_user("bench@localhost"), "bench", Role.PERFUMER)
    finally:
        store.close()
    env = {**os.environ, "ODORDIFF_WORK_DIR": str(tmp / "work"), "ODORDIFF_REDIS_URL": redis_url,
           "ODORDIFF_API_RATE_LIMIT": "1000000/hour", "ODORDIFF_CACHE_SECRET": "bench"}
    env.pop("ODORDIFF_DATABASE_URL", None)
    procs: list[subprocess.Popen] = []
    try:
        mem, red = _overhead(bench_settings, key, redis_url)
        how = (f"`Store.verify_api_key` (SQLite) + `KeyRateLimiter.hit` + request counter and histogram, in process, "
               f"{N_OVERHEAD} requests")
        section.rows.append(Row("auth + rate limit (Redis) + metrics overhead p50", red, "ms", ("<=", 2.0),
                                how + "; limiter on redis-server (loopback), as deployed"))
        section.rows.append(Row("auth + rate limit (memory) + metrics overhead p50", mem, "ms", ("<=", 2.0),
                                how + "; memory limiter (no Redis)"))

        one, port1 = _serve(env)
        procs.append(one)
        base1 = f"http://127.0.0.1:{port1}"
        _latency_rows(section, base1, key)
        section.rows.append(Row("API predict throughput, 1 worker", _throughput(base1, key), "molecules/s", None,
                                f"{THROUGHPUT_CALLS} calls x 100 SMILES, {THREADS} client threads"))

        two, port2 = _serve(env)  # a second replica, sharing Redis and the store
        procs.append(two)
        nginx, nginx_port = _nginx([port1, port2], tmp)
        procs.append(nginx)
        rps, answers = _load(f"http://127.0.0.1:{nginx_port}", key)
        errors = sum(n for status, n in answers.items() if status != 200)
        how = (f"{LOAD_REQUESTS} POST /v1/screen (2 SMILES), {THREADS} threads, 2 replicas behind nginx "
               f"(deploy/nginx/api_locations.conf), shared Redis")
        section.rows.append(Row("load test: 2 replicas behind nginx", rps, "requests/s", None, how))
        section.rows.append(Row("load test: errors", float(errors), "", ("<=", 0), f"answers {dict(answers)}",
                                shown=f"{errors} of {LOAD_REQUESTS}"))
        for p in procs:
            stop_server(p)
        procs.clear()

        workers, port_w = _serve(env, workers=2)
        procs.append(workers)
        section.rows.append(Row("API predict throughput, 2 workers", _throughput(f"http://127.0.0.1:{port_w}", key),
                                "molecules/s", None, f"`odordiff serve --workers 2`; {THROUGHPUT_CALLS} calls x 100 "
                                                     f"SMILES, {THREADS} client threads"))
        section.notes.append(f"API figures with the shipped models; load average at the end "
                             f"{statistics.fmean(os.getloadavg()[:1]):.2f} (1 min) on {os.cpu_count()} cores")
    finally:
        for p in procs:
            stop_server(p)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
