"""ResultCache against a real redis-server: hits, misses, outages (dead and frozen), garbage, poisoned and
tampered values, credentials in the URL, processes and threads."""
from __future__ import annotations

import json
import logging
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _redis_helpers import Computation, RedisServer, compute_result, free_port

from odordiff_core.cache import (
    COMPRESS_ABOVE,
    DEFAULT_MAX_JSON_BYTES,
    SOCKET_TIMEOUT_S,
    TAG_BYTES,
    ResultCache,
    cached_call,
    encode_value,
    redact_url,
    request_key,
    seal,
)
from odordiff_core.config import Settings

pytestmark = pytest.mark.redis

KIND, VERSION = "generate", "test-1"
SECRET = "test-secret-shared-by-the-replicas"
HERE = Path(__file__).resolve().parent


def request(prompt: str = "a clean citrus top note", seed: int = 0, n: int = 16) -> dict:
    return {"prompt": prompt, "n": n, "seed": seed, "guidance": 2.0, "weights": None}


def make_cache(url: str | None, **kwargs) -> ResultCache:
    return ResultCache(url, secret=SECRET, **kwargs)


def read_result(d: dict) -> dict:
    """The stand-in result's reader, as strict as a from_json: a missing field or a wrong type raises."""
    cands = [{"rank": int(c["rank"]), "id": int(c["id"]), "score": float(c["score"])} for c in d["candidates"]]
    return {"prompt": str(d["prompt"]), "seed": int(d["seed"]), "candidates": cands}


def run(cache: ResultCache, computation: Computation, req: dict, version: str = VERSION) -> dict:
    return cached_call(cache, KIND, version, req, lambda: computation(req), decode=read_result)


def signed(key: str, value: dict | bytes, secret: str = SECRET) -> bytes:
    """Returns what a replica holding `secret` would store under `key` (bytes: an already-encoded payload)."""
    return seal(secret.encode(), key, value if isinstance(value, bytes) else encode_value(value))


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "odordiff_core.cache" and r.levelno == logging.WARNING]


def test_second_identical_request_is_served_from_redis_without_computing(redis_server: RedisServer, computation: Computation) -> None:
    cache = make_cache(redis_server.url)
    req = request()
    first = run(cache, computation, req)
    assert redis_server.client().exists(request_key(KIND, VERSION, req)) == 1
    second = run(make_cache(redis_server.url), computation, dict(reversed(list(req.items()))))  # new client, key order shuffled
    assert second == first == compute_result(req)
    assert computation.total == 1
    assert cache.status == "ok" and cache.shared


def test_a_different_seed_or_model_version_misses(redis_server: RedisServer, computation: Computation) -> None:
    cache = make_cache(redis_server.url)
    base = run(cache, computation, request(seed=0))
    other_seed = run(cache, computation, request(seed=1))
    other_version = run(cache, computation, request(seed=0), version="test-2")
    assert computation.total == 3
    assert other_seed != base and other_seed == compute_result(request(seed=1))
    assert other_version == base  # same computation, but stored under its own version's key
    assert len(redis_server.client().keys("odordiff:v2:generate:*")) == 3


def test_requests_stay_correct_when_redis_dies_mid_run_and_hits_resume_after_restart(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="odordiff_core.cache")
    cache = make_cache(redis_server.url)
    prompts = [f"prompt {i % 5}" for i in range(20)]  # repeats, so some requests are hits before the kill
    for i, prompt in enumerate(prompts):
        if i == 8:
            redis_server.kill()
        started = time.perf_counter()
        assert run(cache, computation, request(prompt)) == compute_result(request(prompt))
        assert time.perf_counter() - started < 1.0  # a dead server costs a refused connect, not a hang
    assert cache.status == "unavailable"
    assert len(cache_warnings(caplog)) == 1  # one warning for the whole outage

    redis_server.start()  # same port, empty (no persistence)
    before = computation.total
    assert run(cache, computation, request("after restart")) == compute_result(request("after restart"))
    assert cache.status == "ok"
    assert run(cache, computation, request("after restart")) == compute_result(request("after restart"))
    assert computation.total == before + 1  # the repeat was a hit: caching resumed without a new client
    assert len(cache_warnings(caplog)) == 1


def test_a_frozen_redis_costs_at_most_one_socket_timeout_per_request_and_caching_resumes_after_it_thaws(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture
) -> None:
    # SIGSTOP: connects succeed (the kernel queues them) and nothing answers, the worst case for a client.
    # Before issue 14 a request spent ~0.45 s here (get and set each waited for two timeouts).
    cache = make_cache(redis_server.url)
    run(cache, computation, request("warm"))  # the pool holds a live connection, as in a running app
    spent: list[float] = []  # seconds per request spent on the cache (total minus the computation)
    redis_server.freeze()
    try:
        for i in range(20):
            req = request(f"prompt {i % 4}")
            computing = 0.0

            def compute(req: dict = req) -> dict:
                nonlocal computing
                started = time.perf_counter()
                value = computation(req)
                computing = time.perf_counter() - started
                return value

            started = time.perf_counter()
            assert cached_call(cache, KIND, VERSION, req, compute, decode=read_result) == compute_result(req)
            spent.append(time.perf_counter() - started - computing)
        assert cache.status == "unavailable"
    finally:
        redis_server.thaw()
    spent.sort()
    p50, p95 = statistics.median(spent), spent[18]
    print(f"cache time per request, Redis frozen: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (20 requests)")
    assert p95 <= 2 * SOCKET_TIMEOUT_S, spent  # one timed-out lookup, then the store is skipped
    assert len(cache_warnings(caplog)) == 1

    req = request("after thaw")
    before = computation.total
    assert run(cache, computation, req) == compute_result(req)
    assert cache.status == "ok"
    assert run(cache, computation, req) == compute_result(req)
    assert computation.total == before + 1  # stored and then served: caching resumed without a restart


def test_a_second_process_serves_what_the_first_process_computed_with_the_same_secret(redis_server: RedisServer) -> None:
    req = json.dumps(request("a warm amber base with vanilla", seed=7))

    def worker(*secret: str) -> dict:
        out = subprocess.run([sys.executable, str(HERE / "_worker.py"), redis_server.url, req, *secret],
                             capture_output=True, text=True, timeout=60, check=True, cwd=HERE)
        return json.loads(out.stdout)

    first, second = worker(SECRET), worker(SECRET)
    assert first["computed"] is True and second["computed"] is False
    assert first["status"] == second["status"] == "ok"
    assert second["result"] == first["result"] == compute_result(json.loads(req))
    assert worker("another-secret")["computed"] is True  # a writer without our secret is never trusted
    assert worker()["computed"] is True  # nor is one with no secret (a per-process key)


def test_without_a_secret_the_cache_serves_its_own_process_only_and_says_so(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture
) -> None:
    mine, other = ResultCache(redis_server.url), ResultCache(redis_server.url)  # two processes, in effect
    assert mine.status == "ok" and not mine.shared
    assert any("not shared with other processes" in m and "ODORDIFF_CACHE_SECRET" in m for m in cache_warnings(caplog))
    run(mine, computation, request())
    run(mine, computation, request())
    assert computation.total == 1  # this process's repeats are served
    run(other, computation, request())
    assert computation.total == 2  # the other's entry fails authentication: recomputed


def test_eight_concurrent_threads_get_their_own_results(redis_server: RedisServer, computation: Computation) -> None:
    cache = make_cache(redis_server.url)  # one client shared by all threads, as in the app
    requests = [request(f"prompt {i}", seed=i) for i in range(8)]
    barrier = threading.Barrier(8)

    def session(req: dict) -> tuple[dict, dict]:
        barrier.wait()
        return run(cache, computation, req), run(cache, computation, req)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(session, requests))
    for req, (first, repeat) in zip(requests, results):
        assert first == repeat == compute_result(req)
    assert sorted(computation.calls.values()) == [1] * 8  # each computed once, each repeat a hit


def assert_miss_recomputed_and_overwritten(cache: ResultCache, computation: Computation, req: dict) -> None:
    assert run(cache, computation, req) == compute_result(req)
    assert computation.total == 1
    assert cache.get(KIND, VERSION, req) == compute_result(req)  # overwritten with an authentic value
    assert run(cache, computation, req) == compute_result(req) and computation.total == 1  # now a hit
    assert cache.status == "ok"


@pytest.mark.parametrize(
    "garbage",
    [b"not a cache value", b"Z" + b"not zlib", b"J{\"truncated\": ", b"J[1, 2, 3]", b"Z" + zlib.compress(b"\xff\xfe"),
     b"J" + b"[" * 100_000 + b"]" * 100_000, b"Z" + zlib.compress(b"{}") + b"trailing"],
    ids=["no-marker", "bad-zlib", "bad-json", "not-an-object", "bad-utf8", "deep-nesting", "trailing-bytes"],
)
def test_a_signed_garbage_value_is_a_miss_with_a_warning_and_is_overwritten(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    cache = make_cache(redis_server.url)
    req = request()
    redis_server.client().set(request_key(KIND, VERSION, req), signed(request_key(KIND, VERSION, req), garbage))
    assert cache.get(KIND, VERSION, req) is None
    assert any("unreadable cache entry" in m for m in cache_warnings(caplog))
    assert_miss_recomputed_and_overwritten(cache, computation, req)


@pytest.mark.parametrize(
    "poison",
    [{}, {"prompt": "p", "seed": 0, "candidates": 5}, {"prompt": "p", "seed": 0, "candidates": [1, 2]},
     {"prompt": "p", "seed": "zero", "candidates": []}],
    ids=["J{}", "candidates-not-a-list", "candidate-not-an-object", "seed-not-a-number"],
)
def test_a_signed_value_the_reader_rejects_is_a_miss_and_is_overwritten(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture, poison: dict
) -> None:
    # A replica holding the secret wrote it (an older schema, a bug): the MAC is fine, the reader raises.
    cache = make_cache(redis_server.url)
    req = request()
    key = request_key(KIND, VERSION, req)
    redis_server.client().set(key, signed(key, poison))
    assert cache.get(KIND, VERSION, req) == poison  # authentic and JSON: only the reader can tell
    assert run(cache, computation, req) == compute_result(req)  # no KeyError / TypeError / ValueError
    assert computation.total == 1
    assert any("its reader rejects" in m for m in cache_warnings(caplog))
    assert cache.get(KIND, VERSION, req) == compute_result(req)  # overwritten
    assert run(cache, computation, req) == compute_result(req) and computation.total == 1


@pytest.fixture(scope="module")
def zlib_bomb() -> bytes:
    """A marker byte and ~100 kB of zlib that inflates to 100 MB of zeros (12x the default JSON cap)."""
    z = zlib.compressobj(9)
    return b"Z" + b"".join(z.compress(bytes(1 << 20)) for _ in range(100)) + z.flush()


def test_a_zlib_bomb_is_inflated_only_up_to_the_cap_and_is_a_miss(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture, zlib_bomb: bytes
) -> None:
    assert len(zlib_bomb) < 200_000
    cache = make_cache(redis_server.url)
    req = request()
    key = request_key(KIND, VERSION, req)
    redis_server.client().set(key, signed(key, zlib_bomb))  # even a replica's bomb: the MAC verifies
    tracemalloc.start()
    try:
        started = time.perf_counter()
        assert cache.get(KIND, VERSION, req) is None
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * DEFAULT_MAX_JSON_BYTES, peak  # 100 MB were never inflated
    assert elapsed < 1.0
    assert any("inflates to more than" in m for m in cache_warnings(caplog))
    assert_miss_recomputed_and_overwritten(cache, computation, req)


def test_an_unsigned_bomb_is_refused_before_inflating(redis_server: RedisServer, zlib_bomb: bytes,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    cache = make_cache(redis_server.url)
    redis_server.client().set(request_key(KIND, VERSION, request()), zlib_bomb)
    assert cache.get(KIND, VERSION, request()) is None
    assert any("fails authentication" in m for m in cache_warnings(caplog))
    assert not any("inflates" in m for m in cache_warnings(caplog))


def test_a_value_over_the_stored_size_cap_is_not_read_whole_and_is_a_miss(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache(redis_server.url, max_bytes=4096)
    req = request(n=4)
    redis_server.client().set(request_key(KIND, VERSION, req), b"J" + b" " * 10_000)
    assert cache.get(KIND, VERSION, req) is None
    assert any("4096-byte cap" in m for m in cache_warnings(caplog))
    assert_miss_recomputed_and_overwritten(cache, computation, req)


def test_a_non_string_value_under_our_key_is_a_miss_not_an_outage(redis_server: RedisServer, computation: Computation) -> None:
    cache = make_cache(redis_server.url)
    req = request()
    redis_server.client().rpush(request_key(KIND, VERSION, req), b"x")  # WRONGTYPE for GET/GETRANGE
    assert cache.get(KIND, VERSION, req) is None
    assert cache.status == "ok"
    assert_miss_recomputed_and_overwritten(cache, computation, req)


@pytest.mark.parametrize("forge", ["another-secret", "no-tag", "flipped-bit", "other-key"])
def test_a_tampered_well_formed_value_is_a_miss_logged_once_without_the_value(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture, forge: str
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = make_cache(redis_server.url)
    reqs = [request("a clean citrus top note", seed=s) for s in (0, 1)]
    for req in reqs:
        key = request_key(KIND, VERSION, req)
        forged = {**compute_result(req), "prompt": "TAMPERED-VALUE-MARKER"}  # well-formed: the reader accepts it
        good = signed(key, forged)
        raw = {"another-secret": signed(key, forged, secret="not-our-secret"),
               "no-tag": encode_value(forged),  # what the cache stored before values were signed
               "flipped-bit": good[:-1] + bytes([good[-1] ^ 1]),
               "other-key": signed(request_key(KIND, VERSION, request("something else")), forged)}[forge]
        redis_server.client().set(key, raw)
    for req in reqs:
        assert run(cache, computation, req) == compute_result(req)  # never the forged value
    assert computation.total == 2
    auth = [m for m in cache_warnings(caplog) if "fails authentication" in m]
    assert len(auth) == 1  # logged once for both entries (the second at DEBUG)
    assert all("TAMPERED-VALUE-MARKER" not in r.getMessage() for r in caplog.records)
    for req in reqs:  # overwritten with authentic values
        assert run(cache, computation, req) == compute_result(req)
    assert computation.total == 2


def test_a_dead_redis_url_at_start_still_computes_without_hanging(computation: Computation, caplog: pytest.LogCaptureFixture) -> None:
    started = time.perf_counter()
    cache = make_cache(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert cache.status == "unavailable"
    for seed in range(3):
        assert run(cache, computation, request(seed=seed)) == compute_result(request(seed=seed))
    assert time.perf_counter() - started < 2.0
    assert computation.total == 3
    assert len(cache_warnings(caplog)) == 1


def test_an_unresponsive_redis_costs_at_most_one_socket_timeout_per_call(computation: Computation) -> None:
    # A socket that accepts connections and never answers: every read times out after SOCKET_TIMEOUT_S,
    # and a timeout is not retried (a connection error is, once).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        cache = make_cache(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        assert cache.status == "unavailable"
        req = request()
        started = time.perf_counter()
        assert cache.get(KIND, VERSION, req) is None
        assert time.perf_counter() - started < 2 * SOCKET_TIMEOUT_S
        started = time.perf_counter()
        assert run(cache, computation, req) == compute_result(req)
        assert time.perf_counter() - started < 2 * SOCKET_TIMEOUT_S  # the lookup timed out: no store attempted


PASSWORD = "s3cret-pass"


@pytest.mark.parametrize("url, shown", [
    ("redis://:s3cret-pass@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),
    ("redis://user:s3cret-pass@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),
    ("rediss://:s3cret-pass@cache.example:6380", "rediss://***@cache.example:6380"),
    ("redis://:s3cret/pass@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),  # "/" in the password
    ("redis://:p@ss@127.0.0.1/0", "redis://***@127.0.0.1/0"),  # "@" in the password
    ("redis://127.0.0.1:6379/0?password=s3cret-pass&db=1", "redis://127.0.0.1:6379/0?password=***&db=***"),
    ("unix://:s3cret-pass@/run/redis.sock?db=0", "unix://***@/run/redis.sock?db=***"),
    (":s3cret-pass@127.0.0.1", "***@127.0.0.1"),  # no scheme at all
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
])
def test_redact_url_hides_every_credential(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    "redis://:s3cret-pass@127.0.0.1:notaport/0",  # the URL of issue 14
    "redis://:s3cret-pass@127.0.0.1:99999/0",
    "redis://:s3cret-pass@127.0.0.1/notadb?db=x",
    "http://:s3cret-pass@127.0.0.1:6379/0",
    "redis://:s3cret/pass@127.0.0.1:6379/0",  # redis-py's own message would quote "s3cret" as the port
    "redis://:s3cret-pass@[::1/0",
    "redis://127.0.0.1:6379/0?password=s3cret-pass&unknown_option=1",
])
def test_a_malformed_url_turns_the_cache_off_with_a_message_and_never_shows_the_password(
    url: str, computation: Computation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = make_cache(url)
    assert cache.status == "misconfigured"
    assert cache.problem and "Cannot use Redis URL" in cache.problem and "ODORDIFF_REDIS_URL" in cache.problem
    assert run(cache, computation, request()) == compute_result(request())  # the app works without the cache
    shown = [cache.problem, str(cache.url), *(r.getMessage() for r in caplog.records)]
    assert not any("s3cret" in text for text in shown), shown
    assert any(cache.problem in m for m in cache_warnings(caplog))


def test_a_password_url_never_appears_in_logs_or_status(redis_server: RedisServer, computation: Computation,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, redis-py's included
    live = make_cache(f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0")
    wrong_user = make_cache(f"redis://nobody:{PASSWORD}@127.0.0.1:{redis_server.port}/0")  # refused: AUTH error
    dead = make_cache(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0")
    no_secret = ResultCache(f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0")
    for cache in (live, wrong_user, dead, no_secret):
        run(cache, computation, request())
    redis_server.kill()
    run(live, computation, request("after the kill"))
    assert wrong_user.status == dead.status == live.status == "unavailable"
    assert len(caplog.records) > 3
    texts = [r.getMessage() for r in caplog.records] + [str(c.url) for c in (live, wrong_user, dead, no_secret)]
    assert not any(PASSWORD in t for t in texts)
    assert any("redis://***@127.0.0.1" in t for t in texts)


def test_settings_repr_hides_the_redis_url_and_the_cache_secret() -> None:
    s = Settings(data_dir=Path("/data"), redis_url=f"redis://:{PASSWORD}@h:6379/0", cache_secret="the-secret")
    assert PASSWORD not in repr(s) and "the-secret" not in repr(s)


def test_no_url_means_status_off_and_nothing_is_cached(computation: Computation) -> None:
    cache = make_cache(None)
    assert cache.status == "off" and cache.problem is None
    run(cache, computation, request())
    run(cache, computation, request())
    assert computation.total == 2
    assert cache.set(KIND, VERSION, request(), {"a": 1}) is False


def test_large_values_are_stored_compressed_and_round_trip(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url)
    big = compute_result(request(n=500))
    small = {"prompt": "x", "candidates": []}
    assert cache.set(KIND, VERSION, request(n=500), big) and cache.set(KIND, VERSION, request(n=0), small)
    raw_big = redis_server.client().get(request_key(KIND, VERSION, request(n=500)))
    raw_small = redis_server.client().get(request_key(KIND, VERSION, request(n=0)))
    assert raw_big[TAG_BYTES:TAG_BYTES + 1] == b"Z" and len(raw_big) < len(json.dumps(big))
    assert raw_small[TAG_BYTES:TAG_BYTES + 1] == b"J" and len(raw_small) <= TAG_BYTES + COMPRESS_ABOVE + 1
    assert cache.get(KIND, VERSION, request(n=500)) == big
    assert cache.get(KIND, VERSION, request(n=0)) == small


def test_values_over_the_size_caps_are_not_stored(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, max_bytes=200)
    assert cache.set(KIND, VERSION, request(n=500), compute_result(request(n=500))) is False
    assert cache.get(KIND, VERSION, request(n=500)) is None
    json_capped = make_cache(redis_server.url, max_json_bytes=1000)
    assert json_capped.set(KIND, VERSION, request(n=500), compute_result(request(n=500))) is False
    assert cache.status == json_capped.status == "ok"


def test_a_value_holding_nan_is_not_stored_and_does_not_fail_the_request(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url)
    value = cached_call(cache, KIND, VERSION, request(), lambda: {"score": float("nan")}, decode=lambda d: d)
    assert value["score"] != value["score"]
    assert redis_server.client().exists(request_key(KIND, VERSION, request())) == 0


def test_entries_expire_after_the_configured_ttl(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, ttl_s=60)
    cache.set(KIND, VERSION, request(), {"a": 1})
    assert 0 < redis_server.client().ttl(request_key(KIND, VERSION, request())) <= 60


def test_set_refuses_values_that_are_not_json_objects(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url)
    with pytest.raises(TypeError, match="dict"):
        cache.set(KIND, VERSION, request(), [1, 2, 3])  # type: ignore[arg-type]


def test_a_failed_computation_caches_nothing(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url)

    def fails() -> dict:
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError):
        cached_call(cache, KIND, VERSION, request(), fails, decode=read_result)
    assert redis_server.client().exists(request_key(KIND, VERSION, request())) == 0


def test_a_fresh_result_the_reader_rejects_raises_and_is_not_cached(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url)
    with pytest.raises(KeyError):
        cached_call(cache, KIND, VERSION, request(), lambda: {"not": "a result"}, decode=read_result)
    assert redis_server.client().exists(request_key(KIND, VERSION, request())) == 0


def test_the_key_ignores_request_key_order_and_names_kind_and_version() -> None:
    a = request_key("generate", "gen-3", {"seed": 0, "prompt": "p"})
    assert a == request_key("generate", "gen-3", {"prompt": "p", "seed": 0})
    assert a.startswith("odordiff:v2:generate:gen-3:") and len(a.rsplit(":", 1)[1]) == 64
    with pytest.raises(ValueError, match="model_version"):
        request_key("generate", "bad:version", {})
