"""The run-mode seam (jobs/): enqueue by name, countdowns honoured in-process, one backoff."""

from __future__ import annotations

import threading
import time

import pytest
from celery import shared_task

import jobs
from jobs import inprocess
from jobs.backoff import backoff_delay

RAN: list[tuple[int, float]] = []
RAN_EVENT = threading.Event()


@shared_task(name="tests.test_jobs.record_run")
def record_run(value: int) -> None:
    RAN.append((value, time.monotonic()))
    RAN_EVENT.set()


@pytest.fixture
def in_process(settings):
    """Embedded mode for real: in-process threads, Celery's eager mode off (restored after)."""
    settings.CELERY_TASKS_IN_PROCESS = True
    previous = record_run.app.conf.task_always_eager
    record_run.app.conf.task_always_eager = False
    yield
    record_run.app.conf.task_always_eager = previous


def test_backoff_doubles_from_initial_and_stops_at_the_cap():
    assert [backoff_delay(n, initial=0.5, cap=10.0) for n in range(0, 8)] == [
        0.5, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0,
    ]  # fmt: skip
    assert backoff_delay(10_000, initial=1.0, cap=30.0) == 30.0  # no overflow


def test_enqueue_refuses_an_unknown_task_name():
    with pytest.raises(jobs.TaskUnavailable):
        jobs.enqueue("tests.test_jobs.no_such_task", 1)


def test_in_process_countdown_waits_then_runs(in_process):
    assert jobs.runs_in_process(record_run)
    RAN.clear()
    RAN_EVENT.clear()
    started = time.monotonic()
    jobs.enqueue("tests.test_jobs.record_run", 7, countdown=0.3)
    assert not RAN  # not yet: the countdown holds it
    assert RAN_EVENT.wait(timeout=10)
    inprocess.drain(timeout=10)
    [(value, at)] = RAN
    assert value == 7
    assert at - started >= 0.3


def test_a_countdown_after_shutdown_is_cancelled(in_process):
    inprocess.shutdown(grace=1)
    try:
        result = inprocess.submit(record_run, args=(1,), kwargs={}, countdown=0.05)
        deadline = time.monotonic() + 5
        while not result.future.done() and time.monotonic() < deadline:
            RAN_EVENT.wait(0.05)
        assert result.future.cancelled()
    finally:
        inprocess.reopen()
