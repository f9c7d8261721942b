"""WSGI entry point, kept for tooling; the product is served over ASGI (asgi.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rtms_assistant.settings")
application = get_wsgi_application()
