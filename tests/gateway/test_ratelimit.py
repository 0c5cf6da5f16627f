"""Token-bucket rate limits, in memory and in Redis (the Redis tests need the Redis at
127.0.0.1:6379, or REDIS_URL; they are skipped when none answers)."""

from __future__ import annotations

import uuid

import pytest
import redis

from gateway.ratelimit import Limit, MemoryRateLimiter, RedisRateLimiter, retry_after
from tests.gateway.support import REDIS_URL, redis_up

needs_redis = pytest.mark.skipif(not redis_up(), reason=f"no Redis at {REDIS_URL}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_bucket_allows_the_burst_then_asks_to_wait() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    limit = Limit("acct:a", rate=2.0, burst=3)
    assert [await limiter.acquire([limit]) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await limiter.acquire([limit])
    assert wait == pytest.approx(0.5)
    assert retry_after(wait) == 1


async def test_memory_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    limit = Limit("ip:1.2.3.4", rate=1.0, burst=2)
    for _ in range(2):
        assert await limiter.acquire([limit]) == 0
    assert await limiter.acquire([limit]) > 0
    clock.now += 1.0
    assert await limiter.acquire([limit]) == 0
    assert await limiter.acquire([limit]) > 0
    clock.now += 60  # never more than the burst, however long the pause
    assert [await limiter.acquire([limit]) for _ in range(3)][-1] > 0


async def test_memory_buckets_are_per_key_and_the_longest_wait_wins() -> None:
    limiter = MemoryRateLimiter(clock=Clock())
    ip = Limit("ip:1.1.1.1", rate=1.0, burst=100)
    account_a = Limit("acct:a", rate=0.25, burst=1)
    account_b = Limit("acct:b", rate=0.25, burst=1)
    assert await limiter.acquire([ip, account_a]) == 0
    assert await limiter.acquire([ip, account_a]) == pytest.approx(4.0)
    assert await limiter.acquire([ip, account_b]) == 0


async def test_memory_limiter_forgets_full_buckets_when_it_has_too_many_keys() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(max_keys=10, clock=clock)
    hot = Limit("acct:hot", rate=0.001, burst=1)
    await limiter.acquire([hot])
    for i in range(20):
        await limiter.acquire([Limit(f"ip:{i}", rate=100.0, burst=1)])
        clock.now += 0.1
    # The drained bucket survived the pruning: its caller is still limited.
    assert await limiter.acquire([hot]) > 0


@needs_redis
async def test_redis_bucket_allows_the_burst_then_asks_to_wait() -> None:
    limiter = RedisRateLimiter(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    limit = Limit("acct:a", rate=0.5, burst=3)
    try:
        assert [await limiter.acquire([limit]) for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = await limiter.acquire([limit])
        assert 1.0 < wait <= 2.0
        assert retry_after(wait) == 2
    finally:
        await limiter.aclose()


@needs_redis
async def test_redis_buckets_are_shared_by_gateway_replicas() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = RedisRateLimiter(REDIS_URL, prefix=prefix), RedisRateLimiter(REDIS_URL, prefix=prefix)
    limit = Limit("ip:9.9.9.9", rate=0.1, burst=2)
    other = Limit("ip:8.8.8.8", rate=0.1, burst=2)
    try:
        assert await first.acquire([limit]) == 0
        assert await second.acquire([limit]) == 0
        assert await first.acquire([limit]) > 0
        assert await second.acquire([limit]) > 0
        assert await second.acquire([other]) == 0
    finally:
        await first.aclose()
        await second.aclose()


@needs_redis
async def test_redis_keys_expire_once_the_bucket_would_be_full() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
    try:
        await limiter.acquire([Limit("acct:x", rate=1.0, burst=5)])
        ttl_ms = redis.Redis.from_url(REDIS_URL).pttl(prefix + "acct:x")
        assert 0 < ttl_ms <= 6000
    finally:
        await limiter.aclose()


async def test_unreachable_redis_falls_back_to_memory_limits() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    limit = Limit("acct:a", rate=1.0, burst=1)
    try:
        assert await limiter.acquire([limit]) == 0
        assert await limiter.acquire([limit]) > 0
    finally:
        await limiter.aclose()
