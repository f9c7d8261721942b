"""The Celery application.

Scaled mode: tasks go to a Celery worker through the Redis broker (queues ``default`` and
``transcription``). Embedded mode (``CELERY_TASKS_IN_PROCESS``): ``apply_async`` hands the task to
an in-process thread per queue instead (rtms_assistant/inprocess.py), so the one ASGI process runs
everything and the event loop is never blocked. Task code is the same in both modes.
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
        from django.conf import settings

        if getattr(settings, "CELERY_TASKS_IN_PROCESS", False) and not self.app.conf.task_always_eager:
            from rtms_assistant import inprocess

            return inprocess.submit(self, args=tuple(args or ()), kwargs=dict(kwargs or {}), task_id=task_id)
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
