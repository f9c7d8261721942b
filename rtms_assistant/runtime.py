"""Embedded mode: run RTMS ingestion inside the ASGI server process, on the server's loop.

Daphne does not implement ASGI lifespan events, so :func:`with_embedded_runtime` wraps the
application and, on its first call (the first HTTP request or WebSocket), binds the running
loop for live fan-out (``meetings.live.bind_server_loop``) and starts the ingest supervisor
(``streams.ingest.supervise``) as a task on that loop. In scaled mode it returns the
application unchanged: ``manage.py rtms_worker`` runs ingestion instead.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


class EmbeddedRuntime:
    def __init__(self, app) -> None:
        self.app = app
        self.started = False
        self.supervisor: asyncio.Task | None = None

    def start(self) -> None:
        from meetings import live
        from streams import ingest

        self.started = True
        loop = asyncio.get_running_loop()
        live.bind_server_loop(loop)
        self.supervisor = loop.create_task(ingest.supervise(worker_id=ingest.default_worker_id("embedded")))
        logger.info("embedded mode: RTMS ingestion running inside the server process")

    async def __call__(self, scope, receive, send):
        if not self.started and scope.get("type") in ("http", "websocket"):
            self.start()
        return await self.app(scope, receive, send)


def with_embedded_runtime(app):
    if settings.EMBEDDED:
        return EmbeddedRuntime(app)
    return app
