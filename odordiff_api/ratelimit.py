"""Per-key rate limits with the `limits` library: Redis storage when Settings.redis_url is set (every replica
counts in the same window), memory storage otherwise.

Fixed window: the window of a key starts at its first request and lasts the limit's period (e.g. 120/minute).
When Redis is configured but fails (down, frozen: at most SOCKET_TIMEOUT_S per call), the request is counted in
this process's memory instead, so it is still answered and still limited, per replica; `odordiff_redis_up`
drops to 0 (the "Redis unavailable" alert) and the next request tries Redis again.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from odordiff_core.cache import redact_url
from odordiff_core.errors import InvalidInput

from . import metrics

SOCKET_TIMEOUT_S = 0.1  # per Redis command and connect: a slow Redis must not slow every request down
KEY_PREFIX = "odordiff-api"  # Redis keys: odordiff-api/fixed-window/<key id>/...


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int  # whole seconds until the window resets (0 when allowed)
    limit: int  # requests per window


def parse_rate(text: str) -> RateLimitItem:
    """Returns the `limits` item of e.g. "120/minute" or "10 per second"; raises InvalidInput naming the setting."""
    try:
        return parse(text)
    except ValueError:
        raise InvalidInput(f"ODORDIFF_API_RATE_LIMIT={text!r} is not a rate limit; write e.g. 120/minute, "
                           f"10/second or 5000/hour.") from None


class KeyRateLimiter:
    """Counts requests per API key; thread-safe (the `limits` storages are)."""

    def __init__(self, rate: str, redis_url: str | None) -> None:
        self.item = parse_rate(rate)
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.redis_url = redact_url(redis_url) if redis_url else None  # safe to show
        self.shared: FixedWindowRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(redis_url, key_prefix=KEY_PREFIX,
                                   wrap_exceptions=True, socket_timeout=SOCKET_TIMEOUT_S,
                                   socket_connect_timeout=SOCKET_TIMEOUT_S)
            self.shared = FixedWindowRateLimiter(storage)

    def hit(self, key_id: str) -> Decision:
        """Counts one request of `key_id`; returns whether it is allowed and, when not, the seconds to wait."""
        if self.shared is not None:
            try:
                allowed = self.shared.hit(self.item, key_id)
                retry = 0 if allowed else self._retry_after(self.shared, key_id)
                metrics.REDIS_UP.set(1)
                return Decision(allowed, retry, self.item.amount)
            except StorageError:
                metrics.REDIS_UP.set(0)
        allowed = self.memory.hit(self.item, key_id)
        return Decision(allowed, 0 if allowed else self._retry_after(self.memory, key_id), self.item.amount)

    def _retry_after(self, limiter: FixedWindowRateLimiter, key_id: str) -> int:
        reset = limiter.get_window_stats(self.item, key_id).reset_time
        return max(1, math.ceil(reset - time.time()))

    def redis_status(self) -> str:
        """Returns "off" (no Redis configured), "ok" or "unavailable" (a ping now, bounded by SOCKET_TIMEOUT_S)."""
        if self.shared is None:
            return "off"
        try:
            ok = bool(self.shared.storage.check())
        except StorageError:
            ok = False
        metrics.REDIS_UP.set(1 if ok else 0)
        return "ok" if ok else "unavailable"
