"""Shared result cache in Redis, for reuse across app processes and replicas.

The app has three cache layers (STYLE.md §3.8): `st.session_state` (this session), `st.cache_data`
(this process) and this one, Redis, shared by every process that points at the same URL. With no URL
this layer is off and the app relies on the in-process layers only.

Key:   odordiff:v2:<kind>:<model version>:<sampler precision>:<sha256 of the request as JSON with sorted keys>
       (the precision the sampler's "auto" runs at on this machine: a bfloat16 replica and a float32 one
       sample different molecules for the same seed, so they do not share entries)
Value: a 32-byte HMAC-SHA256 tag, one marker byte, then the result as UTF-8 JSON (b"J"), or
       zlib-compressed JSON (b"Z") when the JSON is larger than COMPRESS_ABOVE bytes. No pickle: a value
       read from a shared server is data, never code. Every entry has a TTL; values larger than
       `max_bytes` (stored) or `max_json_bytes` (JSON) are not stored.

Trust: a value is used only when its tag verifies. The tag covers the key and the value, with a secret
shared by the replicas (ODORDIFF_CACHE_SECRET), so only a process holding the secret can write a value
another process will trust, and a value copied under another key fails. Without a secret each process
signs with a random key of its own: Redis still serves this process's repeats, but is not shared with
other processes (a warning says so; the About page too). A verified value is then checked by the
caller's `decode` (e.g. `GenerationResult.from_json`): any failure is a miss that recomputes and
overwrites. Reads are bounded: at most `max_bytes` are fetched and at most `max_json_bytes` inflated.

Failure contract: Redis being down, frozen, misconfigured or holding garbage never fails a request.
redis-py's own connection pool, socket timeouts, health checks and `Retry` handle reconnection; a
connection error is retried once, a timeout never (a frozen server would only time out again). Any
`redis.RedisError` is logged and treated as a miss, and `cached_call` then skips the store, so one
request waits on Redis at most once (about one SOCKET_TIMEOUT_S). One warning is logged per outage: a
flag is set on the first failure and cleared by the next successful call (logged at INFO), so caching
resumes without a restart. A malformed URL turns the cache off with a message (`problem`). The URL is
never logged or shown as given: `redact_url` hides its user:password part and query values.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .errors import InvalidInput
from .sampler import SamplerConfig, resolved_precision

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY_PREFIX = "odordiff:v2"  # bump when the value format changes (v2: values carry an HMAC tag)
DEFAULT_TTL_S = 7 * 24 * 3600  # a week: results only change with the model version, which is in the key
DEFAULT_MAX_BYTES = 1 << 20  # 1 MiB stored (after compression); a 16-candidate result is ~10-50 kB
DEFAULT_MAX_JSON_BYTES = 8 << 20  # 8 MiB of JSON at most, stored or inflated; a 64-candidate result is ~0.5 MB
COMPRESS_ABOVE = 1024  # bytes of JSON; below this zlib saves little and costs time
SOCKET_TIMEOUT_S = 0.1  # per command and per connect: a slow Redis must not slow generation down
HEALTH_CHECK_INTERVAL_S = 30  # redis-py pings a pooled connection idle this long before reusing it
TAG_BYTES = 32  # HMAC-SHA256

_PLAIN = b"J"  # marker byte: UTF-8 JSON follows
_ZLIB = b"Z"  # marker byte: zlib-compressed UTF-8 JSON follows
_TAG_CONTEXT = b"odordiff-cache-v2\x00"  # domain separation: this tag means nothing anywhere else


class CacheStats:
    """Lookups per cache layer and outcome in this process ("redis" / "hit" | "miss" | "error"), thread-safe.

    The core counts; a metrics exporter (the API's or the app's /metrics, `odordiff_api.metrics`) reads
    `snapshot()`, so the core never imports a metrics library. The app's own layers may count here too
    (e.g. `STATS.record("session", "hit")`).
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def record(self, layer: str, outcome: str) -> None:
        with self._lock:
            self._counts[layer, outcome] = self._counts.get((layer, outcome), 0) + 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        """Returns {(layer, outcome): count} since the process started."""
        with self._lock:
            return dict(self._counts)


STATS = CacheStats()  # one per process, like a metrics registry: every ResultCache counts here


def redact_url(url: str) -> str:
    """Returns `url` safe to show or log: its user:password part and every query value replaced by ***.

    Works on any string, valid URL or not: everything between "://" and the last "@" is userinfo (more
    than urllib would call it, e.g. a password holding "/"), so no part of a credential survives.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    base, q, query = rest.partition("?")
    if q:
        query = "&".join(f"{part.partition('=')[0]}=***" if "=" in part else part for part in query.split("&"))
    return f"{scheme}{sep}{base}{q}{query}"


def _without_userinfo(url: str) -> str:
    """Returns `url` with the user:password part (as `redact_url` finds it) replaced by ***, query kept."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"
    return url


def request_key(kind: str, model_version: str, request: dict[str, Any]) -> str:
    """Returns the Redis key of a request: odordiff:v2:<kind>:<model version>:<sampler precision>:<sha256 hex>.

    The request is normalised as JSON with sorted keys and no whitespace, so key order does not matter
    but values do (2 and 2.0 are different requests: callers pass typed values, e.g. a dataclass's
    fields). Raises ValueError for an empty kind/version or one containing ':' or whitespace, and
    TypeError for a request that is not JSON-serialisable.
    """
    for name, part in (("kind", kind), ("model_version", model_version)):
        if not part or ":" in part or any(c.isspace() for c in part):
            raise ValueError(f"{name} must be non-empty without ':' or whitespace, got {part!r}")
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}:{kind}:{model_version}:{resolved_precision(SamplerConfig())}:{digest}"


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _pack(data: bytes) -> bytes:
    return _ZLIB + zlib.compress(data, 6) if len(data) > COMPRESS_ABOVE else _PLAIN + data


def encode_value(value: dict[str, Any]) -> bytes:
    """Returns the unsigned bytes of a result: a marker byte, then JSON (compressed above COMPRESS_ABOVE).

    Raises ValueError for NaN or infinite numbers and TypeError for a value that is not JSON.
    """
    return _pack(_dump(value))


def decode_value(raw: bytes, max_json_bytes: int = DEFAULT_MAX_JSON_BYTES) -> dict[str, Any]:
    """Returns the result in the unsigned bytes `raw` (as `encode_value` wrote them).

    Raises ValueError when the bytes are not a value we wrote, or hold more than `max_json_bytes` of
    JSON: a compressed value is inflated at most that far (a zlib bomb stops there, it never inflates whole).
    """
    marker, body = raw[:1], raw[1:]
    try:
        if marker == _ZLIB:
            inflater = zlib.decompressobj()
            body = inflater.decompress(body, max_json_bytes + 1)
            if len(body) > max_json_bytes or inflater.unconsumed_tail:
                raise ValueError(f"inflates to more than {max_json_bytes} bytes")
            if not inflater.eof or inflater.unused_data:
                raise ValueError("not one complete zlib stream")
        elif marker != _PLAIN:
            raise ValueError(f"unknown marker byte {marker!r}")
        elif len(body) > max_json_bytes:
            raise ValueError(f"more than {max_json_bytes} bytes of JSON")
        value = json.loads(body.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:  # RecursionError: [[[[...
        raise ValueError(f"{type(e).__name__}: {e}") from e
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def value_tag(secret: bytes, key: str, payload: bytes) -> bytes:
    """Returns the HMAC-SHA256 tag (32 bytes) of a stored payload under its key: the key is length-prefixed,
    so (key, payload) pairs cannot be re-split into another valid pair."""
    k = key.encode("utf-8")
    return hmac.new(secret, _TAG_CONTEXT + len(k).to_bytes(4, "big") + k + payload, hashlib.sha256).digest()


def seal(secret: bytes, key: str, payload: bytes) -> bytes:
    """Returns the bytes stored under `key`: the tag of (key, payload), then the payload."""
    return value_tag(secret, key, payload) + payload


def unseal(secret: bytes, key: str, raw: bytes) -> bytes | None:
    """Returns the payload of stored bytes whose tag verifies for `key`, else None (constant-time compare)."""
    tag, payload = raw[:TAG_BYTES], raw[TAG_BYTES:]
    if len(tag) != TAG_BYTES or not hmac.compare_digest(tag, value_tag(secret, key, payload)):
        return None
    return payload


class ResultCache:
    """Results shared through Redis; with `redis_url=None` it is off (every get misses, set is a no-op).

    secret: the key that signs and verifies values; give every replica the same one (ODORDIFF_CACHE_SECRET).
    None: a random per-process key, so the cache serves this process only (`shared` is False; logged).
    A malformed URL does not raise: the cache is off, `status` is "misconfigured" and `problem` says why
    (the URL redacted). Thread-safe: redis-py's client and pool are, and the flags are flipped under a
    lock. Create one per process (the app keeps it in `st.cache_resource`).
    """

    def __init__(self, redis_url: str | None, ttl_s: int = DEFAULT_TTL_S, max_bytes: int = DEFAULT_MAX_BYTES, *,
                 secret: str | bytes | None = None, max_json_bytes: int = DEFAULT_MAX_JSON_BYTES) -> None:
        if ttl_s <= 0:
            raise InvalidInput(f"The cache TTL must be a positive number of seconds, got {ttl_s}. Fix ODORDIFF_CACHE_TTL_S.")
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.max_json_bytes = max_json_bytes
        self.url = redact_url(redis_url) if redis_url is not None else None  # safe to show; the raw URL is not kept
        self.problem: str | None = None  # why a configured cache is off (malformed URL); None otherwise
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        self.shared = bool(key)  # False: values are signed with a per-process key, so no other process reads them
        self._secret: bytes = key if key else secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._down = False  # True between the first failed call of an outage and the next success
        self._reported: set[str] = set()  # kinds of bad entries already logged at WARNING (then DEBUG)
        self._client: redis.Redis | None = None
        if redis_url is None:
            return
        try:
            client = redis.Redis.from_url(
                redis_url,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
                # One quick retry after a connection error (a pooled socket a restarted server closed),
                # none after a timeout: a frozen server would only time out again, doubling the wait.
                retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1,
                            supported_errors=(redis.ConnectionError,)),
                health_check_interval=HEALTH_CHECK_INTERVAL_S,
            )
            client.ping()  # builds the first connection: an unknown URL option raises TypeError here
        except redis.RedisError as e:
            self._client = client
            self._mark_down(e)
        except (ValueError, TypeError) as e:  # redis-py's errors for a malformed URL or an unknown option
            self.problem = (f"Cannot use Redis URL {self.url}: {_url_problem(redis_url, e)}. Set ODORDIFF_REDIS_URL "
                            f"to redis://[:PASSWORD@]HOST:PORT/DB or unset it; the shared cache is off.")
            log.warning("%s", self.problem)
            return
        else:
            self._client = client
        if not self.shared:
            log.warning("No ODORDIFF_CACHE_SECRET is set: results in Redis %s are signed with a key of this process "
                        "only, so they are not shared with other processes. Set the same ODORDIFF_CACHE_SECRET on "
                        "every replica to share them.", self.url)

    @property
    def status(self) -> str:
        """"off" (no URL), "misconfigured" (malformed URL, see `problem`), "ok" (last call succeeded) or
        "unavailable" (last call failed; still retried)."""
        if self._client is None:
            return "misconfigured" if self.problem else "off"
        return "unavailable" if self._down else "ok"

    def get(self, kind: str, model_version: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """Returns the cached result of this request, or None on a miss, with Redis off or unavailable,
        or when the stored bytes fail authentication or do not decode (logged; the next `set` overwrites them)."""
        return self._lookup(request_key(kind, model_version, request))[0]

    def set(self, kind: str, model_version: str, request: dict[str, Any], value: dict[str, Any]) -> bool:
        """Stores a complete result with the TTL, signed; returns True when it was stored.

        Callers must never pass an error or a partial result. Raises TypeError for a non-dict value.
        Returns False with Redis off or unavailable, when the encoded value exceeds `max_bytes` or its
        JSON `max_json_bytes`, or when it holds NaN or infinity (not JSON).
        """
        if not isinstance(value, dict):
            raise TypeError(f"ResultCache stores JSON objects (dict), got {type(value).__name__}")
        return self._store(request_key(kind, model_version, request), value)

    def close(self) -> None:
        """Closes the pooled connections (the cache stays usable: the pool reconnects on the next call)."""
        if self._client is not None:
            self._client.close()

    def _lookup(self, key: str) -> tuple[dict[str, Any] | None, bool]:
        """Returns (the verified, decoded value or None, whether Redis answered); counted in STATS as layer "redis"."""
        value, answered = self._read(key)
        if self._client is not None:
            STATS.record("redis", "hit" if value is not None else "miss" if answered else "error")
        return value, answered

    def _read(self, key: str) -> tuple[dict[str, Any] | None, bool]:
        """Returns (the verified, decoded value or None, whether Redis answered)."""
        if self._client is None:
            return None, False
        try:
            # At most max_bytes + 1 bytes: an oversized value is refused without being read whole.
            raw: bytes = self._client.getrange(key, 0, self.max_bytes)  # type: ignore[assignment]  # decode_responses=False
        except redis.ResponseError as e:
            if not str(e).startswith("WRONGTYPE"):
                self._mark_down(e)
                return None, False
            self._mark_ok()  # a list or hash under our key: garbage, overwritten by the next SET
            self._report("unreadable", f"Ignoring an unreadable cache entry {key} (not a string); it will be recomputed.")
            return None, True
        except redis.RedisError as e:
            self._mark_down(e)
            return None, False
        self._mark_ok()
        if not raw:  # GETRANGE answers b"" for a missing key
            return None, True
        if len(raw) > self.max_bytes:
            self._report("unreadable", f"Ignoring an unreadable cache entry {key} (over the {self.max_bytes}-byte "
                                       f"cap); it will be recomputed.")
            return None, True
        payload = unseal(self._secret, key, raw)
        if payload is None:
            self._report("unauthentic", f"Ignoring a cache entry that fails authentication ({key}): written with "
                                        f"another ODORDIFF_CACHE_SECRET, by another process without one, or "
                                        f"tampered with; it will be recomputed and overwritten.")
            return None, True
        try:
            return decode_value(payload, self.max_json_bytes), True
        except ValueError as e:
            self._report("unreadable", f"Ignoring an unreadable cache entry {key} ({e}); it will be recomputed.")
            return None, True

    def _store(self, key: str, value: dict[str, Any]) -> bool:
        if self._client is None:
            return False
        try:
            data = _dump(value)
        except ValueError as e:  # NaN / infinity: a result we cannot write as JSON is not cached
            log.info("Not caching %s: %s.", key, e)
            return False
        if len(data) > self.max_json_bytes:
            log.info("Not caching %s: %d bytes of JSON is over the %d-byte cap.", key, len(data), self.max_json_bytes)
            return False
        stored = seal(self._secret, key, _pack(data))
        if len(stored) > self.max_bytes:
            log.info("Not caching %s: %d bytes is over the %d-byte cap.", key, len(stored), self.max_bytes)
            return False
        try:
            self._client.set(key, stored, ex=self.ttl_s)
        except redis.RedisError as e:
            self._mark_down(e)
            return False
        self._mark_ok()
        return True

    def _report(self, kind: str, message: str) -> None:
        """Logs a bad entry: the first of each kind at WARNING, later ones at DEBUG. Never logs the value."""
        with self._lock:
            first = kind not in self._reported
            self._reported.add(kind)
        log.log(logging.WARNING if first else logging.DEBUG, "%s", message)

    def _mark_down(self, error: redis.RedisError) -> None:
        with self._lock:
            first = not self._down
            self._down = True
        if first:
            log.warning("Redis cache %s unavailable (%s: %s); computing results directly until it is back.",
                        self.url, type(error).__name__, error)

    def _mark_ok(self) -> None:
        if not self._down:  # fast path: no lock on every successful call
            return
        with self._lock:
            was_down = self._down
            self._down = False
        if was_down:
            log.info("Redis cache %s is back; caching resumed.", self.url)


def _url_problem(url: str, error: Exception) -> str:
    """Returns what is wrong with a URL redis-py refused, without any part of its credentials.

    redis-py's message can quote a piece of the password (a password holding "/" is read as host:port),
    so the message is taken from the same URL with its user:password part replaced: when that one is
    fine, the credentials themselves were the problem.
    """
    try:
        pool = redis.Redis.from_url(_without_userinfo(url)).connection_pool
        pool.connection_class(**pool.connection_kwargs)  # builds, does not connect: unknown options raise here
    except (ValueError, TypeError) as e:
        return str(e)
    return (f"its user:password part cannot be read ({type(error).__name__}); percent-encode characters such "
            f"as / ? # @ : in it")


def cached_call(
    cache: ResultCache,
    kind: str,
    model_version: str,
    request: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    *,
    decode: Callable[[dict[str, Any]], T],
) -> T:
    """Returns decode(the cached value of `request`), else decode(compute()) after storing compute()'s value.

    decode: rebuilds and validates a result from its JSON (e.g. `GenerationResult.from_json`); a cached
    value it rejects with any exception is a miss, logged, recomputed and overwritten. A fresh value it
    rejects is a bug: the exception propagates and nothing is cached. `compute` must return the complete
    result as a JSON-serialisable dict; if it raises, nothing is cached and the exception propagates.
    Time bound per request: when Redis fails or times out on the lookup, the store is skipped, so one
    request waits on Redis at most once.
    """
    key = request_key(kind, model_version, request)
    hit, reachable = cache._lookup(key)
    if hit is not None:
        try:
            return decode(hit)
        except Exception as e:  # any failure means "not a usable result": recompute, overwrite
            cache._report("invalid", f"Ignoring a cache entry {key} its reader rejects ({type(e).__name__}: "
                                     f"{str(e)[:200]}); it will be recomputed and overwritten.")
    value = compute()
    result = decode(value)
    if reachable:
        cache._store(key, value)
    return result
