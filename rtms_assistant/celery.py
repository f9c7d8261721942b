"""The Celery application.

Scaled mode: tasks go to a Celery worker through the Redis broker (queues ``default`` and
``transcription``). Embedded mode (``CELERY_TASKS_IN_PROCESS``): ``apply_async`` hands the task to
an in-process thread per queue instead (jobs/inprocess.py), so the one ASGI process runs
everything and the event loop is never blocked. The choice is ``jobs.runs_in_process`` (the one
run-mode seam); task code and countdowns are the same in both modes.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.contrib.django.task import DjangoTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rtms_assistant.settings")


class RoutedTask(DjangoTask):
    """A Task whose ``apply_async`` runs in-process in embedded mode (``delay_on_commit`` included)."""

    def apply_async(
        self,
        args=None,
        kwargs=None,
        task_id=None,
        producer=None,
        link=None,
        link_error=None,
        shadow=None,
        **options,
    ):
        import jobs  # not at module level: jobs reads Django settings, which load after this module
        from jobs import inprocess

        if jobs.runs_in_process(self):
            return inprocess.submit(
                self,
                args=tuple(args or ()),
                kwargs=dict(kwargs or {}),
                task_id=task_id,
                countdown=options.get("countdown"),
            )
        return super().apply_async(
            args,
            kwargs,
            task_id=task_id,
            producer=producer,
            link=link,
            link_error=link_error,
            shadow=shadow,
            **options,
        )


app = Celery("rtms_assistant", task_cls=RoutedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
