"""Supervisor wake-ups: same process at once; other processes through Redis (scaled mode)."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings

from streams import wakeup


async def test_same_process_supervisor_is_woken_from_another_thread():
    event = asyncio.Event()
    wakeup.register(asyncio.get_running_loop(), event)
    try:
        await asyncio.to_thread(wakeup.notify)
        await asyncio.wait_for(event.wait(), timeout=1)
    finally:
        wakeup.unregister(event)


@pytest.mark.backends
async def test_other_process_supervisor_is_woken_through_redis():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (Redis): the cross-process wake-up is scaled mode only")
    event = asyncio.Event()
    listener = asyncio.create_task(wakeup.listen(event))
    try:
        await asyncio.wait_for(event.wait(), timeout=5)  # set once subscribed
        event.clear()
        await asyncio.to_thread(wakeup.notify)  # not registered here: only Redis can deliver it
        await asyncio.wait_for(event.wait(), timeout=2)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
