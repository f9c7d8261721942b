"""Ingest supervisor: claims RTMS streams and runs one connection per stream, storing everything.

Run modes (same code): **embedded**, :func:`supervise` runs as a task on the ASGI server's loop
(``rtms_assistant/runtime.py``); **scaled**, ``python manage.py rtms_worker`` runs it in its own
process (any number of them).

The supervisor (:func:`supervise`):

* claims claimable streams (``pending``, released, or whose lease expired) with one conditional
  UPDATE each (``streams.services.stream_claim_next``): a stream has exactly one holder, hence
  exactly one live RTMS connection;
* renews its leases every ``RTMS_LEASE_SECONDS / 3`` s on a dedicated thread with its own
  database connection (a slow writer never delays a renewal), and from each renewal learns of
  failovers (``server_urls_version`` bumped → ``client.failover``) and stop requests (``stopping``
  after ``rtms_stopped`` → close cleanly). A renewal that fails, or that has not succeeded for a
  whole lease period, closes the connection at once: never two live connections for one stream;
* applies pending webhooks (the view only stores them: ``webhook_events.webhook_events_apply``, in
  arrival order, each once, on a thread of its own, then wakes the claim loop): meetings and
  streams are created, failovers and stops applied here, off the webhook's request path; an
  event stored before a crash is applied at the next start;
* wakes within milliseconds on a webhook in the same process (``streams.wakeup``), otherwise
  polls every ``RTMS_WORKER_POLL_SECONDS``;
* on SIGTERM/SIGINT (``install_signal_handlers=True``, the ``rtms_worker`` command) hands every
  stream over: closes the connection without asking Zoom to end the stream, flushes audio and
  queued writes, releases the lease; another worker claims it immediately.

A :class:`streams.runner.StreamRunner` per stream (its ORM side: :mod:`streams.writer`) consumes
``RTMSClient.events()``:

* audio frames go to :class:`streams.recording.StreamRecorder` (O(1) on the loop; flushed to the
  WAV files in batches off the loop; dropped and counted when the buffer is full);
* everything else goes through a bounded queue to one writer task that applies it in batches in
  the stream's event lane (a database thread of its own, ``streams/lanes.py``; a stream always
  uses the same lane, so its writes stay in order): transcript segments, chat, participant events,
  gaps, state. Each row has an idempotency key, so anything Zoom re-sends after a reconnect or a
  takeover is stored once. Keep-alives are answered by the client itself: a slow database only
  fills the queue (and then the client's own bounded audio queue, which drops and reports).

Idempotency keys (``source_key``): transcript ``<rtms_stream_id>:<user_id>:<start_time or
timestamp>``; chat ``zoom:<message_id>`` or ``hash:<sha256(user_id|timestamp|text)>``; events
``<rtms_stream_id>:<kind>:<user_id>:<timestamp>``; gaps ``<rtms_stream_id>:<kind>:<scope>:<ms>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from meetings import live
from streams import services, wakeup, webhook_events
from streams.runner import StreamRunner
from streams.writer import Outcome

logger = logging.getLogger(__name__)
APPLY_BATCH = 50  # pending webhooks applied per round before claiming


def default_worker_id(prefix: str) -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}"


# --- the supervisor ----------------------------------------------------------------------------------


class Supervisor:
    def __init__(self, *, worker_id: str, max_streams: int | None = None) -> None:
        self.worker_id = worker_id
        self.max_streams = max_streams or settings.RTMS_WORKER_MAX_STREAMS
        self.lease_seconds = settings.RTMS_LEASE_SECONDS
        self.runners: dict[int, tuple[StreamRunner, asyncio.Task]] = {}
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        # Leases on their own thread (own DB connection): a busy ORM thread never delays them.
        self.lease_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtms-lease")
        # Pending webhooks are applied on a third thread: a burst of them never delays a renewal.
        self.apply_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtms-webhooks")
        self.apply_wake = asyncio.Event()

    async def _lease_call(self, fn, /, **kwargs):
        def call():
            close_old_connections()
            return fn(**kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.lease_executor, call)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        wakeup.register(loop, self.wake)
        listener = asyncio.create_task(wakeup.listen(self.wake), name="rtms-wake-listener")
        applier = asyncio.create_task(self._apply_webhooks(), name="rtms-webhook-applier")
        next_renew = 0.0
        logger.info("rtms ingest supervisor %s started", self.worker_id)
        try:
            while not self.stopping.is_set():
                woken = self.wake.is_set()
                self.wake.clear()
                self.apply_wake.set()  # a wake-up or a poll: look for pending webhooks too
                if woken or time.monotonic() >= next_renew:
                    next_renew = time.monotonic() + self.lease_seconds / 3
                    await self._renew_all()
                try:
                    await self._claim()
                except DatabaseError as exc:  # unreachable database: try again next round
                    logger.warning("supervisor %s: claiming failed: %s", self.worker_id, exc)
                for runner, _ in list(self.runners.values()):
                    runner.check_deadlines()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wait_any(), timeout=settings.RTMS_WORKER_POLL_SECONDS)
        finally:
            wakeup.unregister(self.wake)
            listener.cancel()
            applier.cancel()
            await asyncio.gather(listener, applier, return_exceptions=True)
            await self._shutdown()
            self.lease_executor.shutdown(wait=False)
            self.apply_executor.shutdown(wait=False)
            logger.info("rtms ingest supervisor %s stopped", self.worker_id)

    async def _apply_webhooks(self) -> None:
        """Apply pending webhooks (``webhook_events.webhook_events_apply``) whenever the loop looks, in
        batches of ``APPLY_BATCH``; wake the claim loop after each batch that applied anything.
        Runs at start too: events recorded before a crash are applied then."""
        loop = asyncio.get_running_loop()

        def apply() -> int:
            close_old_connections()
            with live.use_loop(loop):  # pushes go out on this loop, not a new one per push
                return webhook_events.webhook_events_apply(limit=APPLY_BATCH)

        while True:
            self.apply_wake.clear()
            try:
                applied = await loop.run_in_executor(self.apply_executor, apply)
            except DatabaseError as exc:  # unreachable database: the events stay pending
                logger.warning("supervisor %s: applying webhooks failed: %s", self.worker_id, exc)
                applied = 0
            except Exception:
                logger.exception("supervisor %s: applying webhooks crashed", self.worker_id)
                applied = 0
            if applied:
                self.wake.set()  # new or changed streams: claim now
            if applied < APPLY_BATCH:
                await self.apply_wake.wait()

    async def _wait_any(self) -> None:
        waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(self.stopping.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _claim(self) -> None:
        free = self.max_streams - len(self.runners)
        if free <= 0:
            return
        # Never a stream this worker still runs (e.g. closing after a lost lease): its old
        # connection must be gone before a new one is opened.
        claims = await self._lease_call(
            services.stream_claim_next,
            owner=self.worker_id,
            lease_seconds=self.lease_seconds,
            limit=free,
            exclude_ids=list(self.runners),
        )
        for claim in claims:
            runner = StreamRunner(claim, owner=self.worker_id)
            runner.lease_deadline = time.monotonic() + self.lease_seconds - 0.5
            task = asyncio.create_task(self._run_runner(runner), name=f"rtms-stream-{claim.rtms_stream_id}")
            self.runners[claim.stream_id] = (runner, task)

    async def _run_runner(self, runner: StreamRunner) -> None:
        sid = runner.claim.rtms_stream_id
        try:
            outcome = await runner.run()
            logger.info("stream %s runner done: %s %s", sid, outcome.kind, outcome.detail)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug or an unreachable database: stop renewing; the lease expires and the stream
            # is retried (by any worker) after RTMS_LEASE_SECONDS: a natural back-off.
            logger.exception("stream %s runner crashed", sid)
            await runner._close_client(request_stream_close=False)
        finally:
            if self.runners.get(runner.claim.stream_id, (None,))[0] is runner:
                del self.runners[runner.claim.stream_id]

    async def _renew_all(self) -> None:
        for stream_id, (runner, _) in list(self.runners.items()):
            if runner.outcome.done() and runner.outcome.result().kind == "lost":
                continue  # closing: renewing would only delay the takeover
            started = time.monotonic()
            try:
                status = await self._lease_call(
                    services.stream_lease_renew,
                    stream_id=stream_id,
                    owner=self.worker_id,
                    lease_seconds=self.lease_seconds,
                )
            except DatabaseError:  # unreachable database: keep the old deadline, retry next time
                logger.warning("stream %s: lease renewal failed", runner.claim.rtms_stream_id, exc_info=True)
                continue
            if status.held:
                runner.lease_deadline = started + self.lease_seconds - 0.5
            runner.on_lease(status)

    async def _shutdown(self) -> None:
        """Hand every held stream over: close, flush, release (another worker claims at once)."""
        if not self.runners:
            return
        for runner, _ in self.runners.values():
            runner.resolve(Outcome("handover"))
        tasks = [task for _, task in self.runners.values()]
        runners = [runner for runner, _ in self.runners.values()]
        await asyncio.wait(tasks, timeout=settings.RTMS_DRAIN_TIMEOUT_SECONDS + 5)
        for runner in runners:
            if runner.outcome.done() and runner.outcome.result().kind == "handover":
                await self._lease_call(
                    services.stream_lease_release, stream_id=runner.claim.stream_id, owner=self.worker_id
                )
                logger.info("stream %s handed over", runner.claim.rtms_stream_id)
        await asyncio.to_thread(wakeup.notify)  # other workers: claim the released streams now

    def request_stop(self) -> None:
        self.stopping.set()


async def supervise(
    *, worker_id: str, install_signal_handlers: bool = False, max_streams: int | None = None
) -> None:
    """Run the ingest supervisor until cancelled or (with signal handlers) SIGTERM/SIGINT."""
    supervisor = Supervisor(worker_id=worker_id, max_streams=max_streams)
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, supervisor.request_stop)
    try:
        await supervisor.run()
    finally:
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
