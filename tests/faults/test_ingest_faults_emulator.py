"""Emulator faults in scaled mode: one Daphne + one ``rtms_worker`` on PostgreSQL + Redis.

Part of issue 9's fault suite (``pytest -m faults``; the restarts of Redis and PostgreSQL are in
``tests/faults/test_ingest_faults.py``, SIGKILL/SIGTERM in ``tests/e2e/test_ingest_e2e.py``).
Each fault of the table shared with the embedded-mode tests (``tests/streams/ingest_harness.py``)
is injected by the emulator into a meeting held by a worker process: every segment, chat message
and event stored once, every audio frame at its place once, the gaps recorded with reasons, no
second connection, no takeover, the stream ``stopped`` with Zoom's stop reason, the meeting ended.

The processes are shared by the module's tests (their start-up is most of a test's time); this
module must hold nothing else, since its worker would claim any stream in the test database.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.streams.ingest_harness import (
    CONFIG,
    FAULTS,
    Product,
    assert_gaps_recorded,
    assert_stored_equals_sent,
    emulator,
    play,
)

pytestmark = [pytest.mark.slow, pytest.mark.scaled, pytest.mark.faults, pytest.mark.timeout(180)]

SCALED_FAULTS = [
    "media_abort",
    "media_close",
    "signaling_abort",
    "signaling_close",
    "failover",
    "duplicate_webhook",
    "keepalive_storm",
]


@pytest.fixture(scope="module")
def scaled_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One Daphne + one ``rtms_worker`` for the whole table (saves their start-up per fault);
    each test still gets a clean database from ``transactional_db``."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql" or not settings.REDIS_URL:
        pytest.skip("scaled mode needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
    with django_db_blocker.unblock():  # the test database's name, for the processes
        product = Product(tmp_path_factory.mktemp("scaled-faults"), scaled=True)
    product.start_web()
    product.start_worker("w1")
    yield product
    product.stop()


@pytest.mark.parametrize("name", SCALED_FAULTS)
async def test_scaled_faults_lose_and_duplicate_nothing(scaled_worker, transactional_db, name):
    scaled = scaled_worker
    async with emulator(**CONFIG.get(name, {})) as emu:
        record, stream = await play(emu, scaled, faults=FAULTS[name])
    assert record.verdict(), record.verdict()
    assert emu.rejected_handshakes == []  # never a second connection for the stream
    data = await assert_stored_equals_sent(record, stream, scaled)
    recorded = assert_gaps_recorded(data, name)
    # one interruption per outage, each ended by one reconnect of the worker itself (no takeover)
    assert stream.reconnect_count == len(recorded)
    assert stream.audio_frames_dropped == 0
    if name == "failover":
        assert stream.server_urls_version == 2
    if name == "duplicate_webhook":
        assert len([w for w in record.webhooks if w["event"].endswith("rtms_started")]) >= 3
