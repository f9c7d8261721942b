"""The reconnection policy (streams/rtms/reconnect.py) and the client using it through Zoom's
whole reconnect window (PROTOCOL.md §7.8: Zoom keeps a stream 60 s after a loss).

The outage tests scale Zoom's numbers down ×0.1 (window 6 s, backoff 0.3 s doubling to 3 s): a
server down for "55 s" (5.5 s) is reached by the last attempt, one down for "70 s" (7 s) makes
the stream fail at ≈ "60 s" with the window in its reason. Each takes ~6-7 s.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from streams.rtms.client import ClientConfig, RTMSClient
from streams.rtms.errors import RTMSConnectionError
from streams.rtms.events import Connected, Interrupted, Reconnecting, StreamEnded
from streams.rtms.reconnect import ReconnectPolicy
from tests.streams.rtms.fake_rtms_server import FakeRTMS
from tests.streams.rtms.rtms_client_helpers import Collector, fast_config

SCALE = 0.1  # of Zoom's 60 s window and 3 s → 30 s backoff
SCALED = {
    "reconnect_initial_delay": 3.0 * SCALE,
    "reconnect_max_delay": 30.0 * SCALE,
    "reconnect_window": 60.0 * SCALE,
}


def test_default_schedule_tries_until_zooms_window_really_ends():
    # 3 s doubling to 30 s; the next regular attempt (75 s) is past the window, so the last one
    # is at 59 s, not a give-up at 45 s (issue 18: 45 + 30 > 60 used to end the stream there)
    assert ReconnectPolicy().schedule() == [3.0, 9.0, 21.0, 45.0, 59.0]
    assert ClientConfig.__dataclass_fields__["reconnect_window"].default == 60.0
    assert ReconnectPolicy(**{"initial_delay": 0.3, "max_delay": 3.0, "window": 6.0}).schedule()[-1] == 5.7


def test_jitter_stays_within_bounds_and_never_passes_the_last_attempt():
    policy = ReconnectPolicy(initial_delay=3, max_delay=30, window=60, jitter=0.2)
    for seed in range(200):
        retry = policy.begin(100.0, rng=random.Random(seed))
        now, delays = 100.0, []
        while (delay := retry.next_delay(now)) is not None:
            delays.append(delay)
            now += delay
            retry.failed(OSError("refused"))
        for d, expected in zip(delays[:-1], [3.0, 6.0, 12.0, 24.0, 30.0], strict=False):
            assert expected * 0.8 <= d <= expected * 1.2
        assert 100.0 + 59.0 - 1e-9 <= now <= 100.0 + 59.0 + 1e-9  # the last attempt: at 59 s
        assert retry.attempts == len(delays)
    assert retry.last_error == "refused"


def test_an_attempt_that_ends_past_the_last_start_gives_up():
    retry = ReconnectPolicy(initial_delay=1, max_delay=4, window=10, jitter=0).begin(0.0)
    assert retry.next_delay(0.0) == 1.0
    retry.failed(TimeoutError())
    assert retry.last_error == "TimeoutError"
    assert retry.next_delay(9.8) is None  # the attempt itself ran until after 9.5 s (window − 5 %)
    assert retry.next_attempt_at is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": 0},
        {"window": 0},
        {"initial_delay": 5, "max_delay": 1},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"final_margin": -1},
    ],
)
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError, match="must be"):
        ReconnectPolicy(**kwargs)
    if "final_margin" not in kwargs:  # the client's config refuses the same values
        with pytest.raises(ValueError, match="must be"):
            fast_config("ws://127.0.0.1:9/", **{f"reconnect_{k}": v for k, v in kwargs.items()})


async def _outage(seconds_down: float) -> tuple[RTMSClient, Collector, float, FakeRTMS]:
    server = FakeRTMS()
    await server.__aenter__()
    client = RTMSClient(fast_config(server.url, **SCALED))
    col = Collector(client)
    await col.wait_type(Connected)
    lost = time.monotonic()
    await server.stop()  # every socket closed (1001), new connections refused
    await col.wait_type(Interrupted)

    async def come_back() -> None:
        await asyncio.sleep(max(0.0, seconds_down - (time.monotonic() - lost)))
        await server.restart()

    asyncio.get_running_loop().create_task(come_back())
    return client, col, lost, server


async def test_server_down_for_55_of_60_seconds_recovers_on_the_last_attempt():
    client, col, lost, server = await _outage(55.0 * SCALE)
    try:
        await col.wait_type(Connected, 2, timeout=10)
        took = time.monotonic() - lost
        assert 55.0 * SCALE <= took <= 60.0 * SCALE + 0.5, took
        retries = col.of(Reconnecting)
        assert [r.attempt for r in retries] == list(range(1, len(retries) + 1))
        assert len(retries) >= 5
        assert all(r.scope == "signaling" for r in retries)
        assert all(r.next_attempt_at <= r.deadline_at for r in retries)
        assert "connection" in retries[1].error.lower() or "cannot open" in retries[1].error
        assert col.of(Connected)[-1].reconnect is True
        assert client.stats.full_reconnects == 1
        await client.close(request_stream_close=False)
        await col.until_end()
    finally:
        await server.stop()


async def test_server_down_for_70_of_60_seconds_fails_at_the_window_with_a_clear_reason():
    client, col, lost, server = await _outage(70.0 * SCALE)
    try:
        end = await col.until_end(timeout=10)
        took = time.monotonic() - lost
        assert 60.0 * SCALE - 0.5 <= took <= 60.0 * SCALE + 0.7, took
        assert isinstance(end.error, RTMSConnectionError)
        assert end.stop_reason is None
        assert f"{60.0 * SCALE:g}s reconnect window" in end.detail
        assert "attempt(s) failed" in end.detail
        assert "last error" in end.detail
        retries = col.of(Reconnecting)
        assert retries
        assert retries[-1].attempt == client.stats.failed_attempts
        assert not [e for e in col.events[col.events.index(retries[0]) :] if isinstance(e, Connected)]
        assert isinstance(col.events[-1], StreamEnded)
    finally:
        await server.stop()
