"""The event bus: in-process, and Redis across two bus instances (two "replicas")."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from redis.asyncio import Redis

from hub.core.events import BusState, Event, InProcessBus, RedisBus

REDIS_URL = os.environ.get("RMMHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _redis_up() -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", 6379), 1)
    except OSError:
        return False
    writer.close()
    return True


async def test_in_process_prefix_filtering() -> None:
    bus = InProcessBus()
    async with bus.subscribe("approval.") as events:
        await bus.publish(Event(topic="command.queued", data={"id": 1}))
        await bus.publish(Event(topic="approval.decided", org_id=3, data={"approval_id": 7}))
        got = await asyncio.wait_for(anext(events), 1)
    assert got.topic == "approval.decided" and got.data == {"approval_id": 7} and got.org_id == 3


async def test_redis_bus_crosses_replicas() -> None:
    if not await _redis_up():
        pytest.skip("no Redis server on 127.0.0.1:6379")
    channel = f"rmmhub-test:{uuid.uuid4().hex[:8]}"  # not another worker's hubs
    a, b = RedisBus(REDIS_URL, channel), RedisBus(REDIS_URL, channel)
    await a.start()
    await b.start()
    try:
        async with b.subscribe("command.") as events:
            await a.publish(Event(topic="command.queued", data={"device_id": 42}))
            got = await asyncio.wait_for(anext(events), 5)
        assert got.data == {"device_id": 42}
    finally:
        await a.stop()
        await b.stop()


async def test_redis_channel_separates_deployments() -> None:
    if not await _redis_up():
        pytest.skip("no Redis server on 127.0.0.1:6379")
    ours, theirs = (
        RedisBus(REDIS_URL, f"rmmhub-test:ours-{uuid.uuid4().hex[:8]}"),
        RedisBus(REDIS_URL, f"rmmhub-test:theirs-{uuid.uuid4().hex[:8]}"),
    )
    await ours.start()
    await theirs.start()
    try:
        async with ours.subscribe() as events:
            await theirs.publish(Event(topic="command.queued", data={"from": "theirs"}))
            await ours.publish(Event(topic="command.queued", data={"from": "ours"}))
            got = await asyncio.wait_for(anext(events), 5)
        assert got.data == {"from": "ours"}
    finally:
        await ours.stop()
        await theirs.stop()


async def test_bus_states() -> None:
    assert InProcessBus().state is BusState.IN_PROCESS
    if not await _redis_up():
        pytest.skip("no Redis server on 127.0.0.1:6379")
    bus = RedisBus(REDIS_URL, f"rmmhub-test:state-{uuid.uuid4().hex[:8]}")
    assert bus.state is BusState.DISCONNECTED
    await bus.start()
    try:
        assert bus.state is BusState.CONNECTED
    finally:
        await bus.stop()
    assert bus.state is BusState.DISCONNECTED


async def test_publish_without_redis_is_delivered_locally_not_raised() -> None:
    if not await _redis_up():
        pytest.skip("no Redis server on 127.0.0.1:6379")
    bus = RedisBus(REDIS_URL, f"rmmhub-test:local-{uuid.uuid4().hex[:8]}")
    await bus.start()
    try:
        await bus._redis.aclose()  # the publishing client is gone, as when Redis is down
        bus._redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        async with bus.subscribe("command.") as events:
            await bus.publish(Event(topic="command.queued", data={"device_id": 7}))
            got = await asyncio.wait_for(anext(events), 2)
        assert got.data == {"device_id": 7}
    finally:
        await bus.stop()
