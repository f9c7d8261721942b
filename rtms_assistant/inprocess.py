"""Embedded-mode task runner: worker threads per Celery queue, inside the server process.

``RoutedTask.apply_async`` calls :func:`submit` instead of publishing to a broker. Each queue has
its own threads, like a ``celery worker -Q <queue>`` per queue in scaled mode, so a Whisper window
never competes with a summary for the same thread: ``default`` has one, ``transcription`` has
``WHISPER_WORKERS`` (2 by default: with four people talking at once, one thread queued their
windows behind each other, ~0.6 s each with tiny.en, and the AMI scenario's median latency was
5 s; the engine runs one call per thread, on ``WHISPER_CPU_THREADS`` threads each).
Task bodies run through ``Task.apply`` (retries included) and database connections are
closed after each task.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from celery import Task
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_executors: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


class InProcessResult:
    """The part of ``AsyncResult`` our callers use: ``id`` and a blocking ``get``."""

    def __init__(self, task_id: str, future: Future) -> None:
        self.id = task_id
        self.future = future

    def get(self, timeout: float | None = None):
        return self.future.result(timeout=timeout)


def queue_for(task_name: str) -> str:
    route = settings.CELERY_TASK_ROUTES.get(task_name, {})
    return route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE)


def queue_threads(queue: str) -> int:
    """Worker threads of ``queue`` in embedded mode."""
    if queue == "transcription":
        return max(1, int(getattr(settings, "WHISPER_WORKERS", 1)))
    return 1


def _executor(queue: str) -> ThreadPoolExecutor:
    with _lock:
        if queue not in _executors:
            _executors[queue] = ThreadPoolExecutor(
                max_workers=queue_threads(queue), thread_name_prefix=f"task-{queue}"
            )
        return _executors[queue]


def _run(task: Task, args: tuple, kwargs: dict, task_id: str):
    close_old_connections()
    try:
        result = task.apply(args=args, kwargs=kwargs, task_id=task_id)
        if result.failed():
            logger.error("task %s[%s] failed: %r", task.name, task_id, result.result)
        return result.result
    finally:
        close_old_connections()


def submit(task: Task, *, args: tuple, kwargs: dict, task_id: str | None = None) -> InProcessResult:
    task_id = task_id or str(uuid.uuid4())
    future = _executor(queue_for(task.name)).submit(_run, task, args, kwargs, task_id)
    return InProcessResult(task_id, future)


def drain(timeout: float = 60.0) -> None:
    """Wait until every queue is idle (used by the demo and tests)."""
    for queue, executor in list(_executors.items()):
        # One no-op per thread: the pool starts them in FIFO order, so all of them finishing
        # means everything queued before them has started (and, held by the barrier, finished).
        threads = queue_threads(queue)
        barrier = threading.Barrier(threads)
        futures = [executor.submit(barrier.wait, timeout) for _ in range(threads)]
        for future in futures:
            future.result(timeout=timeout)
