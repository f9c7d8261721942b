"""The run-mode seam: where a task runs, embedded or scaled, is decided here and nowhere else.

Settings pick the mode (``RUN_MODE``, ``CELERY_TASKS_IN_PROCESS``); this package turns it into
behaviour. Domain code (``streams``, ``transcription``, ``meetings``) never reads the mode: it
enqueues a task by name with :func:`enqueue` (or calls Celery's own ``delay``/``apply_async``,
which ``rtms_assistant.celery.RoutedTask`` sends here), with the same countdowns in both modes:

* scaled: Celery publishes to the broker (``countdown`` held by the broker);
* embedded: :mod:`jobs.inprocess` runs the task on its queue's threads in the server process
  (``countdown`` held by a daemon timer).

Enqueuing by name keeps services from importing their ``tasks`` module (the tasks import the
services: importing back would make an import cycle). Names are checked at enqueue time:
:class:`TaskUnavailable` when no such task is registered.
"""

from __future__ import annotations

from celery import Task, current_app
from django.conf import settings
from django.db import transaction

from jobs import inprocess


class TaskUnavailable(RuntimeError):
    """No Celery task of that name is registered (the app that defines it is not installed)."""


def runs_in_process(task: Task) -> bool:
    """True when ``task`` runs on in-process threads (embedded mode), False when it goes to a
    broker (scaled mode) or runs eagerly (``CELERY_TASK_ALWAYS_EAGER``, some tests)."""
    return bool(getattr(settings, "CELERY_TASKS_IN_PROCESS", False)) and not task.app.conf.task_always_eager


def concurrent_calls(queue: str) -> int:
    """How many tasks of ``queue`` one process runs at once: the embedded mode's threads of that
    queue, or 1 in a (prefork) Celery worker. The Whisper engine sizes its models by it."""
    if getattr(settings, "CELERY_TASKS_IN_PROCESS", False):
        return inprocess.queue_threads(queue)
    return 1


def task(name: str) -> Task:
    """The registered Celery task ``name`` (``"meetings.tasks.webhook_deliver"``). Raises
    :class:`TaskUnavailable` when it is not registered."""
    app = current_app
    found = app.tasks.get(name)
    if found is None:
        app.loader.import_default_modules()  # runs the Django autodiscovery if it has not run
        found = app.tasks.get(name)
    if found is None:
        raise TaskUnavailable(f"{name} is not registered")
    return found


def enqueue(name: str, *args, countdown: float | None = None, on_commit: bool = False) -> None:
    """Run task ``name`` with positional ``args`` (ids: JSON-safe), ``countdown`` seconds from now
    (None: as soon as a worker is free), after the current transaction commits when
    ``on_commit``. Same behaviour in both run modes. Raises :class:`TaskUnavailable`."""
    found = task(name)
    if on_commit:
        transaction.on_commit(lambda: found.apply_async(args, countdown=countdown))
        return
    found.apply_async(args, countdown=countdown)
