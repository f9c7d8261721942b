from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(sender, using=None, **kwargs) -> None:
    from meetings import search  # here, not at module level: it imports models, not loaded yet

    search.ensure_index(using=using)


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Meetings"

    def ready(self) -> None:
        # Full-text search objects (SQLite FTS5 tables + triggers, PostgreSQL GIN indexes) need
        # no migration file: they are (re)created after every migrate (meetings/search.py).
        post_migrate.connect(_ensure_search_index, sender=self, dispatch_uid="meetings_search_index")
