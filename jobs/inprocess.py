"""Embedded-mode task runner: worker threads per Celery queue, inside the server process.

``RoutedTask.apply_async`` calls :func:`submit` instead of publishing to a broker (the choice is
:func:`jobs.runs_in_process`). A ``countdown`` is honoured with a daemon timer, as a broker
would hold the message (lost if the process stops: callers keep their state in the database). Each queue has
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
from concurrent.futures import Future, ThreadPoolExecutor, wait

from celery import Task
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_executors: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()
_accepting = True  # False once shutdown() began: new tasks are left to the next start
_submitted: set[Future] = set()  # not done yet: queued or running


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


def submit(
    task: Task, *, args: tuple, kwargs: dict, task_id: str | None = None, countdown: float | None = None
) -> InProcessResult:
    """Run ``task`` on its queue's threads, ``countdown`` seconds from now (None or <= 0: at once).
    After :func:`shutdown` began, nothing is run: the result's future is cancelled (a Whisper
    window stays ``pending`` in the database and is resumed at the next start,
    ``transcription.windows.audio_windows_resume``)."""
    task_id = task_id or str(uuid.uuid4())
    if countdown is not None and countdown > 0:
        return _submit_later(task, args=args, kwargs=kwargs, task_id=task_id, countdown=countdown)
    with _lock:
        accepting = _accepting
    if not accepting:
        future: Future = Future()
        future.cancel()
        logger.info("task %s[%s] not started: shutting down (left for the next start)", task.name, task_id)
        return InProcessResult(task_id, future)

    future = _executor(queue_for(task.name)).submit(_run, task, args, kwargs, task_id)
    with _lock:
        _submitted.add(future)
    future.add_done_callback(_forget)
    return InProcessResult(task_id, future)


def _submit_later(
    task: Task, *, args: tuple, kwargs: dict, task_id: str, countdown: float
) -> InProcessResult:
    outer: Future = Future()

    def fire() -> None:
        inner = submit(task, args=args, kwargs=kwargs, task_id=task_id).future
        if inner.cancelled():
            outer.cancel()
            return
        inner.add_done_callback(lambda done: _copy_result(done, outer))

    timer = threading.Timer(countdown, fire)
    timer.daemon = True
    timer.start()
    return InProcessResult(task_id, outer)


def _copy_result(done: Future, outer: Future) -> None:
    if done.cancelled():
        outer.cancel()
    elif done.exception() is not None:
        outer.set_exception(done.exception())
    else:
        outer.set_result(done.result())


def _forget(future: Future) -> None:
    with _lock:
        _submitted.discard(future)


def shutdown(grace: float) -> tuple[int, int]:
    """Stop taking tasks (SIGTERM/SIGINT of the server): tasks not started yet are cancelled,
    and tasks already running get up to ``grace`` seconds to finish. Returns ``(finished,
    cancelled)``: running tasks that finished in time, queued tasks dropped. Their state is in
    the database (a Whisper window stays ``pending``), so the next start resumes them. Idempotent."""
    global _accepting
    with _lock:
        _accepting = False
        executors = list(_executors.values())
        submitted = set(_submitted)
    for executor in executors:
        executor.shutdown(wait=False, cancel_futures=True)  # queued ones cancelled, running go on
    cancelled = sum(1 for f in submitted if f.cancelled())
    running = {f for f in submitted if not f.done()}
    done, not_done = wait(running, timeout=grace) if running else (set(), set())
    if not_done:
        logger.warning(
            "%d task(s) still running after the %.0f s shutdown grace; they are resumed at the next start",
            len(not_done),
            grace,
        )
    logger.info(
        "in-process tasks stopped: %d running task(s) finished, %d queued task(s) left for the next start",
        len(done),
        cancelled,
    )
    return len(done), cancelled


def reopen() -> None:
    """Take tasks again after :func:`shutdown` (a new start in the same process: tests)."""
    global _accepting
    with _lock:
        _accepting = True
        _executors.clear()


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
