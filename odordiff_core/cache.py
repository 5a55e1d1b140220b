"""Shared result cache in Redis, for reuse across app processes and replicas.

The app has three cache layers (STYLE.md §3.8): `st.session_state` (this session), `st.cache_data`
(this process) and this one, Redis, shared by every process that points at the same URL. With no URL
this layer is off and the app relies on the in-process layers only.

Key:   odordiff:v1:<kind>:<model version>:<sha256 of the request as JSON with sorted keys>
Value: one marker byte, then the result as UTF-8 JSON (b"J"), or zlib-compressed JSON (b"Z") when the
       JSON is larger than COMPRESS_ABOVE bytes. No pickle: a value read from a shared server is data,
       never code. Every entry has a TTL; values larger than `max_bytes` are not stored.

Failure contract: Redis being down, slow or holding garbage never fails a request. redis-py's own
connection pool, socket timeouts and `Retry` handle reconnection; any `redis.RedisError` (or a value
that does not decode) is logged and treated as a miss. One warning is logged per outage: a flag is set
on the first failure and cleared by the next successful call (logged at INFO), so caching resumes
without a restart.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import zlib
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .errors import InvalidInput

log = logging.getLogger(__name__)

KEY_PREFIX = "odordiff:v1"  # bump v1 when the value format changes
DEFAULT_TTL_S = 7 * 24 * 3600  # a week: results only change with the model version, which is in the key
DEFAULT_MAX_BYTES = 1 << 20  # 1 MiB stored (after compression); a 16-candidate result is ~10-50 kB
COMPRESS_ABOVE = 1024  # bytes of JSON; below this zlib saves little and costs time
SOCKET_TIMEOUT_S = 0.1  # per command and per connect: a slow Redis must not slow generation down
HEALTH_CHECK_INTERVAL_S = 30  # redis-py pings a pooled connection idle this long before reusing it

_PLAIN = b"J"  # marker byte: UTF-8 JSON follows
_ZLIB = b"Z"  # marker byte: zlib-compressed UTF-8 JSON follows


def request_key(kind: str, model_version: str, request: dict[str, Any]) -> str:
    """Returns the Redis key of a request: odordiff:v1:<kind>:<model version>:<sha256 hex>.

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
    return f"{KEY_PREFIX}:{kind}:{model_version}:{digest}"


def encode_value(value: dict[str, Any]) -> bytes:
    """Returns the stored bytes of a result: a marker byte, then JSON (compressed above COMPRESS_ABOVE)."""
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(data) > COMPRESS_ABOVE:
        return _ZLIB + zlib.compress(data, 6)
    return _PLAIN + data


def decode_value(raw: bytes) -> dict[str, Any]:
    """Returns the result stored in `raw`. Raises ValueError when the bytes are not a value we wrote."""
    marker, body = raw[:1], raw[1:]
    try:
        if marker == _ZLIB:
            body = zlib.decompress(body)
        elif marker != _PLAIN:
            raise ValueError(f"unknown marker byte {marker!r}")
        value = json.loads(body.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(str(e)) from e
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


class ResultCache:
    """Results shared through Redis; with `redis_url=None` it is off (every get misses, set is a no-op).

    Thread-safe: redis-py's client and pool are, and the outage flag is flipped under a lock. Create
    one per process (the app keeps it in `st.cache_resource`).
    """

    def __init__(self, redis_url: str | None, ttl_s: int = DEFAULT_TTL_S, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if ttl_s <= 0:
            raise InvalidInput(f"The cache TTL must be a positive number of seconds, got {ttl_s}. Fix ODORDIFF_CACHE_TTL_S.")
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._down = False  # True between the first failed call of an outage and the next success
        self._client: redis.Redis | None = None
        if redis_url is None:
            return
        try:
            self._client = redis.Redis.from_url(
                redis_url,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1),  # one quick reconnect
                health_check_interval=HEALTH_CHECK_INTERVAL_S,
            )
        except ValueError as e:  # redis-py's error for a malformed URL
            raise InvalidInput(
                f"Cannot use Redis URL {redis_url!r}: {e}. Set ODORDIFF_REDIS_URL to redis://HOST:PORT/DB or unset it."
            ) from e
        try:
            self._client.ping()
            self._mark_ok()
        except redis.RedisError as e:
            self._mark_down(e)

    @property
    def status(self) -> str:
        """"off" (no URL), "ok" (last call succeeded) or "unavailable" (last call failed; still retried)."""
        if self._client is None:
            return "off"
        return "unavailable" if self._down else "ok"

    def get(self, kind: str, model_version: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """Returns the cached result of this request, or None on a miss, with Redis off or unavailable,
        or when the stored bytes do not decode (logged as a warning; the next `set` overwrites them)."""
        key = request_key(kind, model_version, request)
        if self._client is None:
            return None
        try:
            raw = self._client.get(key)
        except redis.RedisError as e:
            self._mark_down(e)
            return None
        self._mark_ok()
        if raw is None:
            return None
        try:
            return decode_value(raw)  # type: ignore[arg-type]  # the client is built with decode_responses=False: bytes
        except ValueError as e:
            log.warning("Ignoring an unreadable cache entry %s (%s); it will be recomputed.", key, e)
            return None

    def set(self, kind: str, model_version: str, request: dict[str, Any], value: dict[str, Any]) -> bool:
        """Stores a complete result with the TTL; returns True when it was stored.

        Callers must never pass an error or a partial result. Raises TypeError for a non-dict value.
        Returns False with Redis off or unavailable, or when the encoded value exceeds `max_bytes`.
        """
        if not isinstance(value, dict):
            raise TypeError(f"ResultCache stores JSON objects (dict), got {type(value).__name__}")
        key = request_key(kind, model_version, request)
        if self._client is None:
            return False
        data = encode_value(value)
        if len(data) > self.max_bytes:
            log.info("Not caching %s: %d bytes is over the %d-byte cap.", key, len(data), self.max_bytes)
            return False
        try:
            self._client.set(key, data, ex=self.ttl_s)
        except redis.RedisError as e:
            self._mark_down(e)
            return False
        self._mark_ok()
        return True

    def close(self) -> None:
        """Closes the pooled connections (the cache stays usable: the pool reconnects on the next call)."""
        if self._client is not None:
            self._client.close()

    def _mark_down(self, error: redis.RedisError) -> None:
        with self._lock:
            first = not self._down
            self._down = True
        if first:
            log.warning("Redis cache unavailable (%s: %s); computing results directly until it is back.",
                        type(error).__name__, error)

    def _mark_ok(self) -> None:
        if not self._down:  # fast path: no lock on every successful call
            return
        with self._lock:
            was_down = self._down
            self._down = False
        if was_down:
            log.info("Redis cache is back; caching resumed.")


def cached_call(
    cache: ResultCache,
    kind: str,
    model_version: str,
    request: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Returns the cached result of `request`, else `compute()`'s result after storing it.

    `compute` must return the complete result as a JSON-serialisable dict; if it raises, nothing is
    cached and the exception propagates.
    """
    hit = cache.get(kind, model_version, request)
    if hit is not None:
        return hit
    value = compute()
    cache.set(kind, model_version, request, value)
    return value
