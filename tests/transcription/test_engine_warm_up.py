"""The Whisper engine is loaded before a meeting's first window needs it (issue 21's stall at a
meeting's start): ``engines.engine_warm_up``, run on a transcription thread when the embedded
server starts, and once per pool process when a Celery worker on ``transcription`` starts."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest

from jobs import inprocess
from rtms_assistant import runtime
from transcription import engines, tasks

pytestmark = pytest.mark.slow  # loads the real tiny.en model


@pytest.fixture
def engine_cache(monkeypatch):
    """This process's engine cache, empty for the test (the loaded engines are kept aside)."""
    monkeypatch.setattr(engines, "_engines", {})
    return engines._engines


def test_warm_up_loads_the_configured_engine_that_windows_then_use(engine_cache):
    assert engines.engine_warm_up() is True
    assert len(engine_cache) == 1
    assert engines.get_engine() is next(iter(engine_cache.values()))
    assert len(engine_cache) == 1


def test_an_unavailable_engine_is_logged_not_raised(engine_cache, settings, tmp_path, caplog):
    settings.WHISPER_ENGINE = "openai-whisper"
    settings.WHISPER_CHECKPOINT = tmp_path / "missing.pt"
    with caplog.at_level(logging.WARNING, logger="transcription.engines"):
        assert engines.engine_warm_up() is False
    assert "not warmed up" in caplog.text
    assert "missing.pt" in caplog.text
    assert engine_cache == {}


@pytest.mark.django_db(transaction=True)  # the task thread closes its database connections
def test_the_embedded_server_start_warms_the_engine_on_a_transcription_thread(
    engine_cache, settings, monkeypatch, request
):
    settings.CELERY_TASKS_IN_PROCESS = True
    conf = tasks.engine_warm_up.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False  # the threads, as deployed
    request.addfinalizer(lambda: setattr(conf, "task_always_eager", eager))
    resumed = []
    monkeypatch.setattr("transcription.windows.audio_windows_resume", lambda **kw: resumed.append(kw))
    threads = []
    real_warm_up = engines.engine_warm_up

    def warm_up():
        threads.append(threading.current_thread().name)
        return real_warm_up()

    monkeypatch.setattr(engines, "engine_warm_up", warm_up)
    inprocess.reopen()
    runtime._prepare_transcription()
    inprocess.drain()
    assert len(engine_cache) == 1
    assert threads, "the warm-up did not run"
    assert threads[0].startswith("task-transcription"), threads
    assert resumed == [{"release_claims": True}]


def test_a_celery_worker_on_transcription_sends_one_warm_up_per_pool_process(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.engine_warm_up, "delay", lambda: sent.append("warm"))
    monkeypatch.setattr(tasks.windows, "audio_windows_resume", lambda: 0)

    def worker(*queues, concurrency=2):
        return SimpleNamespace(
            task_consumer=SimpleNamespace(queues=[SimpleNamespace(name=q) for q in queues]),
            controller=SimpleNamespace(concurrency=concurrency),
        )

    tasks.resume_pending_windows(sender=worker("transcription", concurrency=2))
    assert sent == ["warm", "warm"]
    tasks.resume_pending_windows(sender=worker("default"))
    assert sent == ["warm", "warm"]
