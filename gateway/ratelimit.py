"""Rate limits: token buckets per account and per client IP, in memory (one gateway) or in
Redis (several gateway replicas share the buckets)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("gateway.ratelimit")


@dataclass(frozen=True, slots=True)
class Limit:
    """`rate` tokens per second refill a bucket of `burst`; a request takes one."""

    key: str
    rate: float
    burst: int


class RateLimiter(Protocol):
    async def acquire(self, limits: list[Limit]) -> float:
        """Takes a token from every bucket; returns 0 when allowed, else seconds to wait."""
        ...

    async def aclose(self) -> None: ...


def retry_after(wait: float) -> int:
    return max(1, math.ceil(wait))


class MemoryRateLimiter:
    """Buckets in this process: `{key: [tokens, last refill time]}`."""

    def __init__(
        self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buckets: dict[str, list[float]] = {}
        self._max_keys = max_keys
        self._now = clock

    def _take(self, limit: Limit, now: float) -> float:
        bucket = self._buckets.get(limit.key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._prune(now)
            # [tokens, last refill, when it would be full again]
            bucket = self._buckets[limit.key] = [float(limit.burst), now, now]
        tokens = min(float(limit.burst), bucket[0] + (now - bucket[1]) * limit.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / limit.rate
        bucket[0], bucket[1] = tokens, now
        bucket[2] = now + (limit.burst - tokens) / limit.rate
        return wait

    def _prune(self, now: float) -> None:
        # A bucket that would be full again carries no information: drop it.
        self._buckets = {k: b for k, b in self._buckets.items() if b[2] > now}
        if len(self._buckets) >= self._max_keys:  # a flood of distinct keys: start over
            self._buckets.clear()

    async def acquire(self, limits: list[Limit]) -> float:
        now = self._now()
        wait = 0.0
        for limit in limits:
            wait = max(wait, self._take(limit, now))
        return wait

    async def aclose(self) -> None:
        return None


# One atomic round trip for all of a request's buckets; Redis's own clock, so replicas with
# skewed clocks still agree. Returns the longest wait (as a string: Lua numbers lose floats).
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local v = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(v[1])
  local ts = tonumber(v[2])
  if tokens == nil or ts == nil then tokens = burst; ts = now end
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  if tokens >= 1 then
    tokens = tokens - 1
  else
    wait = math.max(wait, (1 - tokens) / rate)
  end
  redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
end
return tostring(wait)
"""


class RedisRateLimiter:
    """Buckets in Redis under `prefix`. When Redis is unreachable the gateway keeps serving
    with in-memory buckets rather than failing every request."""

    def __init__(self, url: str, prefix: str = "gw:rl:") -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )
        self._script = self._redis.register_script(_LUA)
        self._prefix = prefix
        self._fallback = MemoryRateLimiter()

    async def acquire(self, limits: list[Limit]) -> float:
        keys = [self._prefix + limit.key for limit in limits]
        args: list[float] = []
        for limit in limits:
            args += (limit.rate, limit.burst)
        try:
            result = await self._script(keys=keys, args=args)
        except Exception as exc:  # redis down or slow: degrade, do not fail requests
            log.warning("rate limit store unavailable", extra={"error": type(exc).__name__})
            return await self._fallback.acquire(limits)
        return float(result)

    async def aclose(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(redis_url: str) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
