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
* wakes within milliseconds on a webhook in the same process (``streams.wakeup``), otherwise
  polls every ``RTMS_WORKER_POLL_SECONDS``;
* on SIGTERM/SIGINT (``install_signal_handlers=True``, the ``rtms_worker`` command) hands every
  stream over: closes the connection without asking Zoom to end the stream, flushes audio and
  queued writes, releases the lease; another worker claims it immediately.

A :class:`StreamRunner` per stream consumes ``RTMSClient.events()``:

* audio frames go to :class:`streams.recording.StreamRecorder` (O(1) on the loop; flushed to the
  WAV files in batches off the loop; dropped and counted when the buffer is full);
* everything else goes through a bounded queue to one writer task that applies it in batches in
  the ORM thread (``database_sync_to_async``): transcript segments, chat, participant events,
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
import datetime as dt
import hashlib
import logging
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from meetings import services as meeting_services
from meetings.models import Meeting, Participant, ParticipantEvent
from streams import recording, services, wakeup
from streams.models import Stream
from streams.rtms import events as ev
from streams.rtms.protocol import (
    ChatOperation,
    DataOption,
    SessionState,
    StopReason,
    StreamState,
    TranscriptLanguage,
)

logger = logging.getLogger(__name__)

Kind = ParticipantEvent.Kind
FRAME_BYTES = 640


def default_worker_id(prefix: str) -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}"


# --- integration points (other modules of this project, imported lazily) -------------------------


def _client_classes():
    from streams.rtms.client import ClientConfig, RTMSClient

    return RTMSClient, ClientConfig


def _live_transcriber(*, stream_id: int, meeting_id: int, mode: str):
    """The live Whisper fallback (streams.live_transcription), or None if not installed."""
    try:
        from streams.live_transcription import LiveTranscriber
    except ImportError:
        return None
    return LiveTranscriber(
        stream_id=stream_id,
        meeting_id=meeting_id,
        mode=mode,
        fallback_after_s=settings.TRANSCRIPT_FALLBACK_SECONDS,
    )


def _windows_create(specs) -> None:
    from streams.transcription.service import audio_windows_create

    audio_windows_create(specs=specs)


def stop_reason_name(reason: int | None) -> str:
    if reason is None:
        return ""
    try:
        return StopReason(reason).name
    except ValueError:
        return f"STOP_REASON_{reason}"


def _language(code: int | None) -> str:
    if code is None:
        return ""
    try:
        return TranscriptLanguage(code).name.lower()[:16]
    except ValueError:
        return str(code)[:16]


def _dt(epoch_ms: int) -> dt.datetime:
    return meeting_services.epoch_ms_to_datetime(epoch_ms)


def _now_ms() -> int:
    return int(time.time() * 1000)


def chat_source_key(event: ev.ChatEvent) -> str:
    if event.message_id:
        return f"zoom:{event.message_id}"[:200]
    digest = hashlib.sha256(f"{event.user_id}|{event.timestamp}|{event.text}".encode()).hexdigest()
    return f"hash:{digest}"


def transcript_source_key(rtms_stream_id: str, event: ev.TranscriptEvent) -> str:
    return f"{rtms_stream_id}:{event.user_id}:{event.start_time or event.timestamp}"[:200]


# --- the writer: applies non-audio events in the ORM thread ----------------------------------------


@dataclass
class Outcome:
    """How a runner ended: ``finalize`` (stream over), ``handover`` (shutdown), ``lost`` (lease)."""

    kind: str
    state: str = Stream.State.STOPPED
    stop_reason: int | None = None
    detail: str = ""


class EventWriter:
    """Sync side of a runner: every method runs in the ORM thread (never on the event loop)."""

    def __init__(self, runner: StreamRunner) -> None:
        self.runner = runner
        self.claim = runner.claim
        self.sid = runner.claim.rtms_stream_id
        self._meeting: Meeting | None = None
        self._participants: dict[str, Participant] = {}

    @property
    def meeting(self) -> Meeting:
        if self._meeting is None:
            self._meeting = Meeting.objects.get(pk=self.claim.meeting_id)
        return self._meeting

    def participant(self, user_id: str, user_name: str = "") -> Participant | None:
        if not user_id:
            return None
        cached = self._participants.get(user_id)
        if cached is not None and (not user_name or cached.display_name == user_name):
            return cached
        participant = meeting_services.participant_upsert(
            meeting=self.meeting, zoom_user_id=user_id, display_name=user_name
        )
        self._participants[user_id] = participant
        return participant

    def apply_batch(self, batch: list[object]) -> None:
        close_old_connections()
        for event in batch:
            handler = getattr(self, f"on_{type(event).__name__}", None)
            if handler is not None:
                handler(event)

    def event(self, kind: str, *, user_id: str, user_name: str, timestamp: int, **extra) -> None:
        meeting_services.participant_event_record(
            meeting=self.meeting,
            kind=kind,
            source_key=f"{self.sid}:{kind}:{user_id}:{timestamp}"[:200],
            occurred_at=_dt(timestamp),
            participant=self.participant(user_id, user_name),
            **extra,
        )

    # -- media --

    def on_TranscriptEvent(self, event: ev.TranscriptEvent) -> None:
        if not event.text.strip():
            return
        start = event.start_time or event.timestamp
        origin = self.claim.meeting_started_ms
        meeting_services.transcript_segment_record(
            meeting=self.meeting,
            source="zoom",
            source_key=transcript_source_key(self.sid, event),
            text=event.text,
            start_ms=start - origin,
            end_ms=(event.end_time - origin) if event.end_time else None,
            participant=self.participant(event.user_id, event.user_name),
            speaker_name=event.user_name,
            language=_language(event.language),
        )
        if not self.runner.has_zoom_transcript:
            self.runner.has_zoom_transcript = True
            services.stream_has_zoom_transcript(stream_id=self.claim.stream_id)

    def on_ChatEvent(self, event: ev.ChatEvent) -> None:
        if event.operation != ChatOperation.NEW:
            logger.info("stream %s: chat operation %s not stored", self.sid, event.operation)
            return
        meeting_services.chat_message_record(
            meeting=self.meeting,
            source_key=chat_source_key(event),
            text=event.text,
            sent_at=_dt(event.timestamp),
            participant=self.participant(event.user_id, event.user_name),
            sender_name=event.user_name,
            recipient_name=event.recipient_name,
        )

    # -- participant events --

    def on_ParticipantJoined(self, event: ev.ParticipantJoined) -> None:
        self.event(Kind.JOIN, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp)

    def on_ParticipantLeft(self, event: ev.ParticipantLeft) -> None:
        self.event(Kind.LEAVE, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp)

    def on_ActiveSpeakerChanged(self, event: ev.ActiveSpeakerChanged) -> None:
        self.event(
            Kind.ACTIVE_SPEAKER, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp
        )

    def on_SharingStarted(self, event: ev.SharingStarted) -> None:
        self.event(
            Kind.SHARING_START, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp
        )

    def on_SharingStopped(self, event: ev.SharingStopped) -> None:
        self.event(Kind.SHARING_STOP, user_id=event.user_id, user_name="", timestamp=event.timestamp)

    def on_FirstPacketTimestamp(self, event: ev.FirstPacketTimestamp) -> None:
        services.stream_first_packet(stream_id=self.claim.stream_id, timestamp=event.timestamp)

    # -- pauses, interruptions, connection state --

    def pause(self, *, paused: bool, timestamp: int, scope: str, reason: int | None) -> None:
        open_pause = ParticipantEvent.objects.filter(
            meeting_id=self.claim.meeting_id,
            kind=Kind.PAUSE,
            end_offset_ms__isnull=True,
            source_key__startswith=f"{self.sid}:{Kind.PAUSE}:",
        ).exists()
        if paused and not open_pause:
            services.stream_gap_open(
                meeting_id=self.claim.meeting_id,
                rtms_stream_id=self.sid,
                kind=Kind.PAUSE,
                started_at=_dt(timestamp),
                scope=scope,
                reason=f"{scope} paused" + (f" ({stop_reason_name(reason)})" if reason else ""),
            )
            services.stream_mark_paused(stream_id=self.claim.stream_id, owner=self.runner.owner, paused=True)
        elif not paused and open_pause:
            services.stream_gaps_close(
                meeting_id=self.claim.meeting_id,
                rtms_stream_id=self.sid,
                kind=Kind.PAUSE,
                ended_at=_dt(timestamp),
            )
            self.event(Kind.RESUME, user_id="", user_name="", timestamp=timestamp, reason=f"{scope} resumed")
            services.stream_mark_paused(stream_id=self.claim.stream_id, owner=self.runner.owner, paused=False)

    def on_StreamStateChanged(self, event: ev.StreamStateChanged) -> None:
        if event.state == StreamState.PAUSED:
            self.pause(paused=True, timestamp=event.timestamp, scope="stream", reason=event.reason)
        elif event.state == StreamState.RESUMED:
            self.pause(paused=False, timestamp=event.timestamp, scope="stream", reason=event.reason)

    def on_SessionStateChanged(self, event: ev.SessionStateChanged) -> None:
        if event.state == SessionState.PAUSED:
            self.pause(paused=True, timestamp=event.timestamp, scope="session", reason=event.reason)
        elif event.state == SessionState.RESUMED:
            self.pause(paused=False, timestamp=event.timestamp, scope="session", reason=event.reason)

    def on_Interrupted(self, event: ev.Interrupted) -> None:
        self.gap_open(started_ms=event.timestamp, scope=event.scope, reason=f"{event.scope}: {event.reason}")
        services.stream_mark_interrupted(stream_id=self.claim.stream_id, owner=self.runner.owner)

    def gap_open(self, *, started_ms: int, scope: str, reason: str) -> None:
        services.stream_gap_open(
            meeting_id=self.claim.meeting_id,
            rtms_stream_id=self.sid,
            kind=Kind.INTERRUPTION,
            started_at=_dt(started_ms),
            scope=scope,
            reason=reason,
        )

    def on_Connected(self, event: ev.Connected) -> None:
        now = timezone.now()
        services.stream_mark_active(stream_id=self.claim.stream_id, owner=self.runner.owner)
        services.stream_gaps_close(
            meeting_id=self.claim.meeting_id, rtms_stream_id=self.sid, kind=Kind.INTERRUPTION, ended_at=now
        )
        if not self.claim.was_connected and not event.reconnect:
            meeting_services.participant_event_record(
                meeting=self.meeting,
                kind=Kind.STREAM_START,
                source_key=f"{self.sid}:{Kind.STREAM_START}",
                occurred_at=now,
                details={"rtms_stream_id": self.sid, "media": list(event.media)},
            )

    def takeover_gap(self) -> None:
        """A claim of a stream someone else had connected: the gap since their last frame."""
        claim = self.claim
        if claim.previous_owner:
            reason = f"worker takeover: lease of {claim.previous_owner} expired"
        else:
            reason = "worker handover (previous worker shut down)"
        since = claim.last_frame_at or claim.lease_expires_at or timezone.now()
        self.gap_open(started_ms=int(since.timestamp() * 1000), scope="worker", reason=reason)

    def finalize(self, outcome: Outcome) -> None:
        now = timezone.now()
        for kind in (Kind.INTERRUPTION, Kind.PAUSE):
            services.stream_gaps_close(
                meeting_id=self.claim.meeting_id, rtms_stream_id=self.sid, kind=kind, ended_at=now
            )
        stream = Stream.objects.filter(pk=self.claim.stream_id).values("stop_reason").first() or {}
        stop_reason = outcome.stop_reason if outcome.stop_reason is not None else stream.get("stop_reason")
        meeting_services.participant_event_record(
            meeting=self.meeting,
            kind=Kind.STREAM_STOP,
            source_key=f"{self.sid}:{Kind.STREAM_STOP}",
            occurred_at=now,
            reason=(stop_reason_name(stop_reason) or outcome.detail)[:200],
            details={"rtms_stream_id": self.sid, "stop_reason": stop_reason, "detail": outcome.detail[:300]},
        )
        recording.mix_build(meeting_id=self.claim.meeting_id, rtms_stream_id=self.sid)
        services.stream_mark_ended(
            stream_id=self.claim.stream_id,
            state=outcome.state,
            stop_reason=outcome.stop_reason,
            detail=outcome.detail,
            owner=self.runner.owner,
            ended_at=now,
        )


# --- the per-stream runner -------------------------------------------------------------------------


class StreamRunner:
    """One claimed stream: one RTMS client, a reader, a writer and an audio flusher."""

    def __init__(self, claim: services.Claim, *, owner: str) -> None:
        self.claim = claim
        self.owner = owner
        self.urls_version = claim.server_urls_version
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=settings.RTMS_EVENT_QUEUE_SIZE)
        self.writer = EventWriter(self)
        self.recorder = recording.StreamRecorder(
            meeting_id=claim.meeting_id,
            stream_id=claim.stream_id,
            rtms_stream_id=claim.rtms_stream_id,
            meeting_started_ms=claim.meeting_started_ms,
            max_buffer_bytes=settings.RTMS_AUDIO_BUFFER_MAX_BYTES,
        )
        self.transcriber = None
        self.client = None
        self.has_zoom_transcript = False
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.lease_deadline = time.monotonic() + settings.RTMS_LEASE_SECONDS
        self.stop_requested_at: float | None = None
        self.stop_reason: int | None = None
        self._flush_lock = asyncio.Lock()

    # -- signals from the supervisor --

    def resolve(self, outcome: Outcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)

    def on_lease(self, status: services.LeaseStatus) -> None:
        if not status.held:
            logger.warning("stream %s: lease lost; closing the connection", self.claim.rtms_stream_id)
            self.resolve(Outcome("lost"))
            return
        if status.state == Stream.State.STOPPING and self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
            self.stop_reason = status.stop_reason
            logger.info("stream %s: rtms_stopped received; closing", self.claim.rtms_stream_id)
        if status.server_urls_version > self.urls_version and self.client is not None:
            self.urls_version = status.server_urls_version
            logger.info("stream %s: failover to new server_urls", self.claim.rtms_stream_id)
            self.client.failover(status.server_urls)

    def check_deadlines(self) -> None:
        if time.monotonic() > self.lease_deadline:
            logger.warning("stream %s: lease not renewed in time; closing", self.claim.rtms_stream_id)
            self.resolve(Outcome("lost"))
        if (
            self.stop_requested_at is not None
            and time.monotonic() - self.stop_requested_at > settings.RTMS_STOP_GRACE_SECONDS
        ):
            self.resolve(Outcome("finalize", Stream.State.STOPPED, self.stop_reason, "rtms_stopped webhook"))

    # -- the run --

    async def run(self) -> Outcome:
        claim = self.claim
        if claim.previous_state == Stream.State.STOPPING:
            # The previous holder died while stopping: only finalize.
            outcome = Outcome("finalize", Stream.State.STOPPED, claim.stop_reason, "rtms_stopped webhook")
            await database_sync_to_async(self.writer.finalize)(outcome)
            return outcome
        if claim.was_connected:
            await database_sync_to_async(self.writer.takeover_gap)()
        meeting_mode = await database_sync_to_async(
            lambda: Meeting.objects.values_list("transcript_mode", flat=True).get(pk=claim.meeting_id)
        )()
        self.transcriber = _live_transcriber(
            stream_id=claim.stream_id, meeting_id=claim.meeting_id, mode=meeting_mode
        )
        RTMSClient, ClientConfig = _client_classes()
        self.client = RTMSClient(
            ClientConfig(
                client_id=settings.ZOOM_CLIENT_ID,
                client_secret=settings.ZOOM_CLIENT_SECRET,
                instance_id=claim.meeting_uuid,
                rtms_stream_id=claim.rtms_stream_id,
                server_urls=claim.server_urls,
                media=tuple(settings.RTMS_MEDIA),
                audio_data_opt=DataOption.AUDIO_MULTI_STREAMS,
                id_key="meeting_uuid",
            )
        )
        tasks = [
            asyncio.create_task(self._read(), name=f"rtms-read-{claim.rtms_stream_id}"),
            asyncio.create_task(self._write(), name=f"rtms-write-{claim.rtms_stream_id}"),
            asyncio.create_task(self._flush_loop(), name=f"rtms-flush-{claim.rtms_stream_id}"),
        ]
        try:
            outcome = await self.outcome
        finally:
            for task in tasks[2:]:
                task.cancel()
        if outcome.kind == "lost":
            await self._close_client(request_stream_close=False)
            tasks[0].cancel()
            tasks[1].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return outcome  # not ours any more: write nothing else
        if not tasks[0].done():  # handover, or the stop grace expired: we end the connection
            await self._close_client(request_stream_close=False)
        await asyncio.wait_for(asyncio.gather(tasks[0], return_exceptions=True), timeout=10)
        await self._close_client(request_stream_close=False)
        await self.queue.put(None)  # the writer drains everything before this marker
        await asyncio.wait_for(tasks[1], timeout=settings.RTMS_DRAIN_TIMEOUT_SECONDS)
        await asyncio.gather(tasks[2], return_exceptions=True)
        await self._flush_audio(final=True)
        if outcome.kind == "finalize":
            await database_sync_to_async(self.writer.finalize)(outcome)
        return outcome

    async def _close_client(self, *, request_stream_close: bool) -> None:
        if self.client is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    self.client.close(request_stream_close=request_stream_close), timeout=5
                )

    async def _read(self) -> None:
        """Consume the client's events: audio to the recorder, the rest to the writer queue."""
        ended: ev.StreamEnded | None = None
        async for event in self.client.events():
            if isinstance(event, ev.AudioFrame):
                self.recorder.add(
                    user_id=event.user_id,
                    user_name=event.user_name,
                    data=event.data,
                    timestamp=event.timestamp,
                )
                continue
            if isinstance(event, ev.AudioDropped):
                self.recorder.note_dropped(
                    user_id=event.user_id, user_name=event.user_name, frames=event.frames
                )
                continue
            if self.transcriber is not None:
                if isinstance(event, ev.TranscriptEvent):
                    self.transcriber.zoom_transcript_available(True)
                elif isinstance(event, ev.Connected) and "transcript" not in event.media:
                    self.transcriber.zoom_transcript_available(False)
            if isinstance(event, ev.StreamEnded):
                ended = event
                break
            await self.queue.put(event)
        if self.outcome.done():
            return
        if ended is None:
            self.resolve(Outcome("finalize", Stream.State.FAILED, None, "RTMS client stopped without an end"))
        elif self.stop_requested_at is not None:
            reason = ended.stop_reason if ended.stop_reason is not None else self.stop_reason
            self.resolve(Outcome("finalize", Stream.State.STOPPED, reason, ended.detail or "rtms_stopped"))
        elif ended.stop_reason is not None or ended.error is None:
            self.resolve(Outcome("finalize", Stream.State.STOPPED, ended.stop_reason, ended.detail))
        else:
            self.resolve(Outcome("finalize", Stream.State.FAILED, None, ended.detail or str(ended.error)))

    async def _write(self) -> None:
        """Apply queued events in order, in batches, in the ORM thread; ``None`` ends the drain."""
        while True:
            first = await self.queue.get()
            batch = [first]
            while not self.queue.empty() and len(batch) < 500:
                batch.append(self.queue.get_nowait())
            done = None in batch
            events = [e for e in batch if e is not None]
            if events:
                await database_sync_to_async(self.writer.apply_batch)(events)
            if done:
                return

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.RTMS_AUDIO_FLUSH_SECONDS)
            await self._flush_audio(final=False)

    async def _flush_audio(self, *, final: bool) -> None:
        async with self._flush_lock:
            batch = self.recorder.take_batch()
            if batch:
                stats = await database_sync_to_async(self.recorder.flush_sync)(batch)
            else:
                stats = recording.FlushStats()
            specs = []
            if self.transcriber is not None:
                for r in stats.ranges:
                    for offset in range(0, len(r.pcm), FRAME_BYTES):
                        specs += self.transcriber.feed(
                            recording_id=r.recording_id,
                            participant_id=r.participant_id,
                            pcm=r.pcm[offset : offset + FRAME_BYTES],
                            byte_offset=r.byte_offset + offset,
                            start_ms=r.start_ms + offset // recording.BYTES_PER_MS,
                        )
                if final:
                    specs += self.transcriber.flush()
            if specs:
                await database_sync_to_async(_windows_create)(specs)


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

    async def _lease_call(self, fn, /, **kwargs):
        def call():
            close_old_connections()
            return fn(**kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.lease_executor, call)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        wakeup.register(loop, self.wake)
        next_renew = 0.0
        logger.info("rtms ingest supervisor %s started", self.worker_id)
        try:
            while not self.stopping.is_set():
                woken = self.wake.is_set()
                self.wake.clear()
                if woken or time.monotonic() >= next_renew:
                    next_renew = time.monotonic() + self.lease_seconds / 3
                    await self._renew_all()
                await self._claim()
                for runner, _ in list(self.runners.values()):
                    runner.check_deadlines()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wait_any(), timeout=settings.RTMS_WORKER_POLL_SECONDS)
        finally:
            wakeup.unregister(self.wake)
            await self._shutdown()
            self.lease_executor.shutdown(wait=False)
            logger.info("rtms ingest supervisor %s stopped", self.worker_id)

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
        claims = await self._lease_call(
            services.stream_claim_next, owner=self.worker_id, lease_seconds=self.lease_seconds, limit=free
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
            self.runners.pop(runner.claim.stream_id, None)

    async def _renew_all(self) -> None:
        for stream_id, (runner, _) in list(self.runners.items()):
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
