"""Issue 18, item 4: SIGTERM/SIGINT with Whisper work pending loses nothing and logs no
traceback. The server stops taking windows, lets the running ones finish within
``WHISPER_SHUTDOWN_GRACE_SECONDS``, leaves the rest ``pending``, and the next start transcribes
them (``transcription.windows.audio_windows_resume``)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from jobs import inprocess
from meetings.models import AudioRecording, TranscriptSegment
from rtms_assistant.processes import ROOT
from tests.factories import MeetingFactory, ParticipantFactory, StreamFactory
from tests.streams.ingest_harness import Product, db, wait_for
from transcription.audio import float32_to_pcm16, read_wav, write_wav
from transcription.models import AudioWindow

W = AudioWindow.Status


def test_shutdown_lets_running_tasks_finish_and_cancels_the_queued_ones(settings):
    settings.WHISPER_WORKERS = 1
    started, release, ran = threading.Event(), threading.Event(), []

    def body(n):
        started.set()
        release.wait(5)
        ran.append(n)

    task = SimpleNamespace(
        name="transcription.tasks.audio_window_transcribe",
        apply=lambda args, kwargs, task_id: SimpleNamespace(failed=lambda: False, result=body(*args)),
    )
    inprocess.reopen()
    try:
        results = [inprocess.submit(task, args=(n,), kwargs={}) for n in range(5)]
        assert started.wait(5)
        threading.Timer(0.3, release.set).start()  # the running one ends within the grace
        finished, cancelled = inprocess.shutdown(grace=5)
        assert (finished, cancelled) == (1, 4)
        assert ran == [0]
        assert results[0].future.done()
        assert all(r.future.cancelled() for r in results[1:])
        late = inprocess.submit(task, args=(9,), kwargs={})  # after shutdown: not run
        assert late.future.cancelled()
        assert ran == [0]
    finally:
        release.set()
        inprocess.reopen()


# --- the product: Daphne (embedded) stopped with windows queued, then started again --------------


def make_windows(media_root, speech, count: int) -> list[int]:
    """``count`` pending windows of JFK's 11 s speech, one after the other in one recording."""
    meeting = MeetingFactory()
    stream = StreamFactory(meeting=meeting, state="stopped")
    participant = ParticipantFactory(meeting=meeting, zoom_user_id="16778240", display_name="JFK")
    samples, _ = read_wav(speech / "jfk.wav")
    pause = np.zeros(8000, np.float32)
    pcm = float32_to_pcm16(np.concatenate([np.concatenate([samples, pause])] * count))
    relative = f"recordings/{meeting.pk}/s1/participant-16778240.wav"
    (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
    write_wav(media_root / relative, pcm)
    recording = AudioRecording.objects.create(
        meeting=meeting,
        stream_key="s1",
        participant=participant,
        kind=AudioRecording.Kind.PARTICIPANT,
        path=relative,
        start_ms=0,
        data_bytes=len(pcm),
    )
    step = (len(samples) + len(pause)) * 2
    ids = []
    for i in range(count):
        window = AudioWindow.objects.create(
            stream=stream,
            recording=recording,
            participant=participant,
            byte_offset=i * step,
            byte_length=len(samples) * 2,
            start_ms=i * step // 32,
            end_ms=(i * step + len(samples) * 2) // 32,
            source_key=f"w:{recording.pk}:{i * step}",
        )
        ids.append(window.pk)
    return ids


_make_windows = db(make_windows)


def statuses(ids: list[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in AudioWindow.objects.filter(pk__in=ids).values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


_statuses = db(statuses)


@db
def _whisper_segments() -> int:
    return TranscriptSegment.objects.filter(source="whisper").count()


@pytest.mark.slow
@pytest.mark.faults
@pytest.mark.timeout(240)
async def test_server_stopped_with_windows_pending_transcribes_them_all_after_a_restart(
    tmp_path, transactional_db, shared_data
):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("embedded mode runs on SQLite (the scaled Celery worker resumes the same way)")
    count = 8
    product = Product(
        tmp_path, scaled=False, env={"WHISPER_WORKERS": "1", "WHISPER_SHUTDOWN_GRACE_SECONDS": "30"}
    )
    ids = await _make_windows(product.media_root, shared_data / "speech", count)
    try:
        product.start_web()  # the first request starts the runtime: pending windows resumed

        async def some_done():
            return (await _statuses(ids)).get(W.DONE, 0) >= 1

        await wait_for(some_done, timeout=90, what="a first window transcribed", product=product)
        proc = product.procs["daphne"]
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        await asyncio.to_thread(proc.wait, 45)
        stopped_in = time.monotonic() - started
        first_run = product.log("daphne", tail=None)
        statuses = await _statuses(ids)
        assert statuses.get(W.PENDING, 0) >= 1, (statuses, first_run[-3000:])  # queued: left pending
        assert statuses.get(W.FAILED, 0) == 0
        assert "Traceback" not in first_run, first_run[-4000:]
        assert "cannot schedule new futures" not in first_run
        assert "left for the next start" in first_run
        assert stopped_in < 35

        product.start_web()  # the next start resumes the pending windows

        async def all_done():
            return (await _statuses(ids)).get(W.PENDING, 0) == 0

        await wait_for(all_done, timeout=120, what="every window transcribed", product=product)
        statuses = await _statuses(ids)
        assert statuses == {W.DONE: count}, statuses
        assert await _whisper_segments() == count
        assert "resumed" in product.log("daphne", tail=None)
    finally:
        product.stop()
    assert "Traceback" not in product.log("daphne", tail=None)


@pytest.mark.django_db
def test_a_celery_worker_on_transcription_resumes_pending_windows_at_start(monkeypatch, tmp_path):
    from transcription import tasks

    meeting = MeetingFactory()
    participant = ParticipantFactory(meeting=meeting)
    recording = AudioRecording.objects.create(
        meeting=meeting,
        stream_key="s1",
        participant=participant,
        kind=AudioRecording.Kind.PARTICIPANT,
        path="x.wav",
        data_bytes=64_000,
    )
    windows = [
        AudioWindow.objects.create(
            recording=recording,
            byte_offset=i * 3200,
            byte_length=3200,
            start_ms=i * 100,
            end_ms=i * 100 + 100,
            source_key=f"w:{i}",
            status=status,
        )
        for i, status in enumerate([W.PENDING, W.DONE, W.PENDING, W.EMPTY])
    ]
    queued: list[int] = []
    monkeypatch.setattr(
        tasks.audio_window_transcribe, "apply_async", lambda args, countdown=None: queued.extend(args)
    )

    def worker(*names):
        return SimpleNamespace(task_consumer=SimpleNamespace(queues=[SimpleNamespace(name=n) for n in names]))

    tasks.resume_pending_windows(sender=worker("default"))
    assert queued == []  # a worker of other queues leaves them alone
    tasks.resume_pending_windows(sender=worker("default", "transcription"))
    assert queued == [windows[0].pk, windows[2].pk]  # pending ones, oldest first


@pytest.mark.slow
@pytest.mark.scaled
@pytest.mark.faults
@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_stopped_with_windows_pending_leaves_them_for_the_next_one(tmp_path, shared_data):
    """Scaled: 6 pending windows nobody enqueued (their messages lost). A transcription worker
    resumes them at start; SIGTERM after the first (warm shutdown: no traceback); the next
    worker transcribes the rest; each window once."""
    import os
    import subprocess
    import sys

    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the scaled pass)")
    ids = make_windows(tmp_path / "media", shared_data / "speech", 6)
    db_settings = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | {
        "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
        "DJANGO_SECRET_KEY": "worker-test-secret",
        "DJANGO_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://{db_settings['USER'] or 'postgres'}@{db_settings['HOST'] or '127.0.0.1'}:"
        f"{db_settings['PORT'] or 5432}/{db_settings['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    command = [sys.executable, "-m", "celery", "-A", "rtms_assistant", "worker", "-Q", "transcription"]
    command += ["--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]

    def start(name: str) -> subprocess.Popen:
        with (tmp_path / f"{name}.log").open("wb") as log:
            return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_until(predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out: {what}\n{logs()}"
            time.sleep(0.2)

    def logs() -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(tmp_path.glob("w*.log")))

    first = start("w1")
    try:
        wait_until(lambda: statuses(ids).get(W.DONE, 0) >= 1, 120, "a first window")
        first.send_signal(signal.SIGTERM)
        first.wait(60)
        left = statuses(ids).get(W.PENDING, 0)
        assert left >= 1, statuses(ids)
        assert "Traceback" not in (tmp_path / "w1.log").read_text()
        second = start("w2")
        try:
            wait_until(lambda: statuses(ids).get(W.PENDING, 0) == 0, 150, "every window")
        finally:
            second.terminate()
            second.wait(60)
    finally:
        if first.poll() is None:
            first.kill()
    assert statuses(ids) == {W.DONE: 6}
    assert TranscriptSegment.objects.filter(source="whisper").count() == 6
    assert "resumed" in logs()
