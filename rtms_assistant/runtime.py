"""Embedded mode: run RTMS ingestion inside the ASGI server process, on the server's loop.

Daphne does not implement ASGI lifespan events, so :func:`with_embedded_runtime` wraps the
application and, on its first call (the first HTTP request or WebSocket), binds the running
loop for live fan-out (``meetings.live.bind_server_loop``) and starts the ingest supervisor
(``streams.ingest.supervise``) as a task on that loop; the Whisper engine is warmed up and
pending windows resumed on the transcription threads. In scaled mode it returns the
application unchanged: ``manage.py rtms_worker`` runs ingestion instead.
"""

from __future__ import annotations

import asyncio
import logging
import sys

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
        self._on_server_shutdown(self.shutdown)
        self.resumer = loop.run_in_executor(None, _prepare_transcription)

    @staticmethod
    def _on_server_shutdown(callback) -> None:
        """Run ``callback`` (returning a Deferred) before Daphne's reactor shuts down (SIGTERM,
        SIGINT): the loop still runs then, so live pushes of finishing tasks still go out."""
        if "twisted.internet.reactor" not in sys.modules:  # not under Daphne: install nothing
            return
        from twisted.internet import reactor

        if reactor.running:
            reactor.addSystemEventTrigger("before", "shutdown", callback)

    def shutdown(self):
        """Stop taking in-process tasks; running Whisper windows get ``WHISPER_SHUTDOWN_GRACE_SECONDS``
        to finish, the rest stay ``pending`` for the next start. Returns a Deferred for Twisted."""
        from twisted.internet.defer import Deferred

        from jobs import inprocess

        logger.info("server shutting down: stopping in-process tasks")
        future = asyncio.ensure_future(
            asyncio.to_thread(inprocess.shutdown, settings.WHISPER_SHUTDOWN_GRACE_SECONDS)
        )
        return Deferred.fromFuture(future)

    async def __call__(self, scope, receive, send):
        if not self.started and scope.get("type") in ("http", "websocket"):
            self.start()
        return await self.app(scope, receive, send)


def _prepare_transcription() -> None:
    """At start: the Whisper engine is loaded on a transcription thread (so a meeting's first
    windows do not wait for it), then the windows a previous run left ``pending`` are
    transcribed."""
    from django.db import close_old_connections

    import jobs
    from transcription.windows import audio_windows_resume

    jobs.enqueue("transcription.tasks.engine_warm_up")  # queued first: the resumed windows follow it
    try:
        audio_windows_resume(release_claims=True)  # one process: nothing else can be running them
    except Exception:  # a database problem at start-up must not take the server down
        logger.exception("could not resume pending Whisper windows")
    finally:
        close_old_connections()


def with_embedded_runtime(app):
    if settings.EMBEDDED:
        return EmbeddedRuntime(app)
    return app
