"""ASGI entry point: HTTP (Django) and WebSocket (Channels) in one application.

In embedded mode the application also hosts RTMS ingestion: the first ASGI call starts the
ingest supervisor on the server's own event loop (Daphne has no lifespan events), and binds
that loop for the in-memory channel layer (rtms_assistant/runtime.py).
"""

from __future__ import annotations

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rtms_assistant.settings")
django_asgi_app = get_asgi_application()  # populate the app registry before importing consumers

from meetings.routing import websocket_urlpatterns  # noqa: E402
from rtms_assistant.runtime import with_embedded_runtime  # noqa: E402
from streams.webhooks import FastPath  # noqa: E402

application = with_embedded_runtime(
    ProtocolTypeRouter(
        {
            "http": FastPath(django_asgi_app),  # POST /webhooks/zoom/ without Django's request stack
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
