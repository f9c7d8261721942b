"""One claimed stream: an RTMS client, a reader, a writer and an audio flusher (see streams/ingest.py).

Its database work runs on the ORM lanes of :mod:`streams.lanes`: the stream's writes on its
event lane (in order), audio flushes and the Whisper windows they produce on the audio lane.
:class:`StreamRunner` stays one class (about 400 lines): its reader, writer and flusher tasks
share one stream's state (the recorder, the live transcriber, the outcome future, the flush
lock, the unfinished batch) and end together in :meth:`StreamRunner.run`; split, they would
hand that state back and forth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from django.conf import settings
from django.db import DatabaseError

from meetings.models import Meeting
from streams import recording, services
from streams.lanes import TRANSIENT_DB_ERRORS, Lane, audio_lane, db_retry, event_lane
from streams.models import Stream
from streams.rtms import events as ev
from streams.rtms.errors import RTMSStreamEnded
from streams.rtms.protocol import FRAME_BYTES, DataOption
from streams.writer import EventWriter, Outcome

logger = logging.getLogger(__name__)
FEED_CHUNK_BYTES = 10 * FRAME_BYTES  # 200 ms of audio per LiveTranscriber.feed call


# --- integration points (other modules of this project, imported lazily) -------------------------


def _client_classes():
    from streams.rtms.client import ClientConfig, RTMSClient

    return RTMSClient, ClientConfig


def _live_transcriber(*, stream_id: int, meeting_id: int, mode: str):
    """The live Whisper fallback (transcription.live), or None if not installed."""
    try:
        from transcription.live import LiveTranscriber
    except ImportError:
        return None
    return LiveTranscriber(
        stream_id=stream_id,
        meeting_id=meeting_id,
        mode=mode,
        fallback_after_s=settings.TRANSCRIPT_FALLBACK_SECONDS,
    )


def _windows_create(specs) -> None:
    from transcription.windows import audio_windows_create

    audio_windows_create(specs=specs)


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
        self._unfinished: dict | None = None  # a cancelled flush's batch, see _reclaim_unfinished
        self._media_end_ms: int | None = None  # meeting ms at the end of the newest audio fed
        self._media_end_wall = 0.0  # time.monotonic() when it arrived
        self._audio_wall = 0.0  # time.monotonic() when the newest audio frame arrived
        self._buffer_drops: dict[str, ev.AudioDropped] = {}  # user_id -> run of buffer-full drops
        self.events_lane = event_lane(claim.stream_id)
        self.audio_lane = audio_lane()

    # -- signals from the supervisor --

    def resolve(self, outcome: Outcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)

    def on_lease(self, status: services.LeaseStatus) -> None:
        if self.outcome.done():
            return
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
            try:
                self.client.failover(status.server_urls)
            except (RTMSStreamEnded, ValueError) as exc:  # already over, or unusable URLs
                logger.warning("stream %s: failover not applied: %s", self.claim.rtms_stream_id, exc)

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
            await self._db(self.writer.finalize, outcome, what="finalize")
            return outcome
        if claim.was_connected:
            await self._db(self.writer.takeover_gap, what="takeover gap")
        meeting_mode = await self._db(
            lambda: Meeting.objects.values_list("transcript_mode", flat=True).get(pk=claim.meeting_id),
            what="meeting mode",
        )
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
                reconnect_window=settings.RTMS_RECONNECT_WINDOW_SECONDS,
                reconnect_initial_delay=settings.RTMS_RECONNECT_INITIAL_DELAY_SECONDS,
                reconnect_max_delay=settings.RTMS_RECONNECT_MAX_DELAY_SECONDS,
                reconnect_jitter=settings.RTMS_RECONNECT_JITTER,
            )
        )
        tasks = [
            asyncio.create_task(self._read(), name=f"rtms-read-{claim.rtms_stream_id}"),
            asyncio.create_task(self._write(), name=f"rtms-write-{claim.rtms_stream_id}"),
            asyncio.create_task(self._flush_loop(), name=f"rtms-flush-{claim.rtms_stream_id}"),
        ]
        for task in tasks:
            task.add_done_callback(self._task_done)
        try:
            outcome = await self.outcome
        finally:
            for task in tasks[2:]:
                task.cancel()
        if outcome.kind == "crashed":  # stop renewing: another worker retries after the lease
            await self._close_client(request_stream_close=False)
            tasks[0].cancel()
            await asyncio.gather(tasks[0], return_exceptions=True)
            if not tasks[1].done():
                # The writer is healthy (another task failed): still store what was queued, as
                # after a lost lease (keys make a concurrent write by the next holder harmless).
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._drain_writer(tasks[1]), settings.RTMS_DRAIN_TIMEOUT_SECONDS)
            tasks[1].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise RuntimeError(outcome.detail)
        if not tasks[0].done():  # lease lost, handover, or the stop grace expired: we end it
            await self._close_client(request_stream_close=False)
        await asyncio.wait_for(asyncio.gather(tasks[0], return_exceptions=True), timeout=10)
        await self._close_client(request_stream_close=False)
        # Queued events are still stored, even after a lost lease: their keys make a concurrent
        # write by the new holder harmless. Audio files have one writer only, the holder.
        await self.queue.put(None)  # the writer drains everything before this marker
        await asyncio.wait_for(tasks[1], timeout=settings.RTMS_DRAIN_TIMEOUT_SECONDS)
        await asyncio.gather(tasks[2], return_exceptions=True)
        if outcome.kind == "lost":
            drops = await self._db(self._drop_pending_audio, what="drop pending audio", lane=self.audio_lane)
            await self._record_drops(drops)
            return outcome
        await self._flush_audio(final=True)
        if outcome.kind == "finalize":
            await self._db(self.writer.finalize, outcome, what="finalize")
        return outcome

    async def _drain_writer(self, writer: asyncio.Task) -> None:
        await self.queue.put(None)  # the writer drains everything before this marker
        await asyncio.gather(asyncio.shield(writer), return_exceptions=True)

    async def _db(self, fn, /, *args, what: str, lane: Lane | None = None):
        """``fn(*args)`` on the stream's event lane (or ``lane``), transient errors retried."""
        return await db_retry(
            fn, *args, what=what, rtms_stream_id=self.claim.rtms_stream_id, lane=lane or self.events_lane
        )

    def _reclaim_unfinished(self) -> None:
        """On the audio lane, after a flush the ending runner cancelled (the lane ran it to the
        end): give back what it could not write (the database was down), so the final flush
        writes it or a lost lease counts it as dropped, instead of losing it uncounted."""
        if self._unfinished:
            self.recorder.requeue(self._unfinished)
        self._unfinished = None

    def _drop_pending_audio(self) -> list[ev.AudioDropped]:
        """Lease lost: unflushed audio must not be written by us any more; count it as dropped
        (with the counters of audio already written that a failed flush could not save).
        Returns the dropped runs, one per participant, for their gaps (:meth:`_record_drops`)."""
        self._reclaim_unfinished()
        batch = self.recorder.take_batch()
        drops = self._drops_of(batch, "not written: the worker lost the stream's lease")
        frames = sum(len(frames) + dropped for frames, dropped in batch.values())
        if frames:
            logger.warning(
                "stream %s: lease lost, %d audio frame(s) dropped", self.claim.rtms_stream_id, frames
            )
            self.recorder.unsaved_dropped += frames
            self.recorder.frames_dropped += frames
        self.recorder._save_counters()
        return drops

    def _drops_of(self, batch: dict, reason: str) -> list[ev.AudioDropped]:
        """The frames of a flush batch (``{user_id: (frames, dropped)}``) as one AudioDropped
        run per participant with ``reason`` (frames counted as dropped earlier, without their
        timestamps, already have their gap)."""
        drops = []
        for user_id, (frames, _) in batch.items():
            if frames:
                track = self.recorder.tracks[user_id]
                timestamps = [ts for ts, _ in frames]
                drops.append(
                    ev.AudioDropped(
                        user_id,
                        track.user_name,
                        len(frames),
                        sum(len(data) for _, data in frames),
                        min(timestamps),
                        max(timestamps),
                        reason,
                    )
                )
        return drops

    async def _record_drops(self, drops: list[ev.AudioDropped]) -> None:
        """The gaps of audio the runner itself dropped (a lost lease, a failed flush), with their
        reason, on the event lane. Best effort: a database that refuses them is logged."""
        if not drops:
            return
        try:
            await self._db(self.writer.apply_batch, drops, what="audio drop gaps")
        except DatabaseError as exc:
            logger.error("stream %s: audio drop gaps not recorded: %s", self.claim.rtms_stream_id, exc)

    def _task_done(self, task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is None:
            return
        logger.error(
            "stream %s: %s failed", self.claim.rtms_stream_id, task.get_name(), exc_info=task.exception()
        )
        self.resolve(Outcome("crashed", detail=f"{task.get_name()}: {task.exception()!r}"))

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
                self._audio_wall = time.monotonic()
                kept = self.recorder.add(
                    user_id=event.user_id,
                    user_name=event.user_name,
                    data=event.data,
                    timestamp=event.timestamp,
                )
                if not kept:  # buffer full: counted by the recorder; the gap is recorded below
                    self._note_buffer_drop(event)
                elif event.user_id in self._buffer_drops:
                    await self.queue.put(self._buffer_drops.pop(event.user_id))
                continue
            if isinstance(event, ev.AudioDropped):
                self.recorder.note_dropped(
                    user_id=event.user_id, user_name=event.user_name, frames=event.frames
                )
                await self.queue.put(event)  # the writer records the gap, with its reason
                continue
            if self.transcriber is not None:
                if isinstance(event, ev.TranscriptEvent):
                    end_epoch_ms = event.end_time or event.timestamp
                    self.transcriber.zoom_transcript_available(
                        True, until_ms=end_epoch_ms - self.claim.meeting_started_ms if end_epoch_ms else None
                    )
                elif isinstance(event, ev.Connected) and "transcript" not in event.media:
                    self.transcriber.zoom_transcript_available(False)
            if isinstance(event, ev.StreamEnded):
                ended = event
                break
            await self.queue.put(event)
        for drop in self._buffer_drops.values():  # runs of dropped audio still open at the end
            await self.queue.put(drop)
        self._buffer_drops.clear()
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

    def _note_buffer_drop(self, frame: ev.AudioFrame) -> None:
        """A frame the full audio buffer refused: extend that participant's run of dropped
        frames, handed to the writer (a gap with its reason) when their audio is kept again."""
        run = self._buffer_drops.get(frame.user_id)
        if run is None:
            self._buffer_drops[frame.user_id] = ev.AudioDropped(
                frame.user_id, frame.user_name, 1, len(frame.data), frame.timestamp, frame.timestamp
            )
        else:
            self._buffer_drops[frame.user_id] = ev.AudioDropped(
                run.user_id,
                run.user_name,
                run.frames + 1,
                run.bytes + len(frame.data),
                run.first_timestamp,
                max(run.last_timestamp, frame.timestamp),
            )

    async def _write(self) -> None:
        """Apply queued events in order, in batches, on the event lane; ``None`` ends the drain."""
        while True:
            first = await self.queue.get()
            batch = [first]
            while not self.queue.empty() and len(batch) < 500:
                batch.append(self.queue.get_nowait())
            done = None in batch
            events = [e for e in batch if e is not None]
            if events:
                try:  # idempotent keys: a batch retried after a lost connection stores nothing twice
                    await self._db(self.writer.apply_batch, events, what="write events")
                except TRANSIENT_DB_ERRORS:
                    logger.error(
                        "stream %s: %d event(s) not stored (database unavailable); giving the stream up",
                        self.claim.rtms_stream_id,
                        len(events) + self.queue.qsize(),
                    )
                    raise
            if done:
                return

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.RTMS_AUDIO_FLUSH_SECONDS)
            await self._flush_audio(final=False)

    async def _flush_audio(self, *, final: bool) -> None:
        async with self._flush_lock:
            if final:
                await self.audio_lane.call(self._reclaim_unfinished)
            batch = self.recorder.take_batch()
            stats = recording.FlushStats()
            if batch or self.recorder.has_unsaved:
                try:
                    if final:  # the last chance: retry a database outage (bounded)
                        stats = await self._db(
                            self.recorder.flush_sync, batch, what="final audio flush", lane=self.audio_lane
                        )
                    else:
                        try:
                            stats = await self.audio_lane.call(self.recorder.flush_sync, batch)
                        except asyncio.CancelledError:
                            # The runner is ending: the lane still runs this flush, and what it
                            # cannot write stays in ``batch`` (taken back by _reclaim_unfinished).
                            self._unfinished = batch
                            raise
                except TRANSIENT_DB_ERRORS as exc:
                    if final:
                        raise
                    # Database down (restarting): what was not written (left in ``batch``) waits
                    # for the next flush; if the outage lasts, the buffer bound drops and counts.
                    self.recorder.requeue(batch)
                    logger.warning(
                        "stream %s: audio flush postponed (database unavailable): %s",
                        self.claim.rtms_stream_id,
                        exc,
                    )
                    return
                except (DatabaseError, OSError) as exc:  # disk full, a refused write
                    lost = sum(len(frames) for frames, _ in batch.values())
                    logger.error(
                        "stream %s: audio flush failed, %d frame(s) lost: %s",
                        self.claim.rtms_stream_id,
                        lost,
                        exc,
                    )
                    drops = self._drops_of(batch, f"not written: the audio flush failed ({exc})"[:120])
                    for user_id, (frames, _) in batch.items():
                        track = self.recorder.tracks[user_id]
                        self.recorder.note_dropped(
                            user_id=user_id, user_name=track.user_name, frames=len(frames)
                        )
                    await self._record_drops(drops)
            specs = []
            if self.transcriber is not None:
                # Fed in chunks of FEED_CHUNK_BYTES, not frame by frame: the cutter measures the
                # levels of a whole chunk in one numpy call (per-frame calls cost ~25 µs a frame).
                for r in stats.ranges:
                    for offset in range(0, len(r.pcm), FEED_CHUNK_BYTES):
                        specs += self.transcriber.feed(
                            recording_id=r.recording_id,
                            participant_id=r.participant_id,
                            pcm=r.pcm[offset : offset + FEED_CHUNK_BYTES],
                            byte_offset=r.byte_offset + offset,
                            start_ms=r.start_ms + offset // recording.BYTES_PER_MS,
                        )
                if final:
                    specs += self.transcriber.flush()
                else:
                    # Silent participants send no packets: close their windows at the pause, on
                    # every tick, also when nobody sent anything (meeting time then advances with
                    # the wall clock since the newest frame arrived: not since this flush, which
                    # would close a pause up to a flush interval late).
                    if stats.ranges:
                        self._media_end_ms = max(
                            r.start_ms + len(r.pcm) // recording.BYTES_PER_MS for r in stats.ranges
                        )
                        self._media_end_wall = self._audio_wall or time.monotonic()
                    if self._media_end_ms is not None:
                        elapsed_ms = int((time.monotonic() - self._media_end_wall) * 1000)
                        specs += self.transcriber.close_idle(self._media_end_ms + elapsed_ms)
            if specs:
                await self.audio_lane.call(_windows_create, specs)
