from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """A tool beside the product: ``manage.py demo`` (the whole product on recorded meetings)
    and ``manage.py rtms_emulator``. No model; the product never imports it."""

    name = "demo"
    verbose_name = "Demo and emulator commands"
