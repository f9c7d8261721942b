"""Audio recording of an RTMS stream: one WAV per participant, plus the mixed track.

Format: PCM s16le, 16 kHz, mono (RTMS L16 defaults, PROTOCOL.md §10.1): 1 ms = 32 bytes, a 20 ms
frame = 640 bytes. Files live under ``MEDIA_ROOT/recordings/<meeting pk>/<stream>/`` and have an
``AudioRecording`` row each (``path`` relative to ``MEDIA_ROOT``).

How frames become files:

* **The event loop only appends.** :meth:`StreamRecorder.add` costs O(1): it appends
  ``(timestamp, bytes)`` to the track's pending list. When the pending bytes of all tracks exceed
  ``max_buffer_bytes`` (the disk or database is stalled), the frame is **dropped and counted**
  (``frames_dropped`` on the recording and the stream) instead of blocking the loop.
* **Batches are flushed off the loop** (:meth:`StreamRecorder.flush`, every
  ``RTMS_AUDIO_FLUSH_SECONDS`` and at the end) in one call on the runner's audio lane thread:
  resolve new tracks (participant + ``AudioRecording`` row), write, update the WAV header,
  update the counters of every track and the stream in one transaction (one commit).
* **Frames are placed by timestamp.** Byte position = (timestamp − track origin) × 32. A frame
  within 10 ms of the current end is appended contiguously (timestamp jitter); a later frame
  leaves a gap that reads as silence (muted users send no packets, §10.1), so file time = meeting
  time from the track's ``start_ms``; a frame wholly before the end was already written (re-sent
  after a reconnect or takeover) and is skipped (counted as a duplicate, never written twice).
* **Takeover continues the same file**: the origin comes from the row's ``start_ms``, the end from
  the file's size, so a new worker appends where the old one stopped.
* The WAV header is rewritten on every flush, so a growing file is always a valid WAV.
* **The mixed track** is produced at stream end (:func:`mix_build`) as the sum of the participant
  tracks aligned by ``start_ms``, clipped to int16, in 10 s blocks. If Zoom itself sends the mixed
  stream (``user_id`` 0, ``AUDIO_MIXED_STREAM``), that is recorded as the mixed track instead.

:meth:`StreamRecorder.flush_sync` returns, with its counters, every range it wrote as a
:class:`PcmRange` (silence gaps included, so ranges are contiguous per track): the live Whisper
cutter is fed from them on the loop, *after* the bytes are on disk, with byte offsets into the
file's data chunk.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from meetings.models import AudioRecording, Meeting
from meetings.services.meetings import epoch_ms_to_datetime
from meetings.services.participants import participant_upsert
from meetings.services.recordings import audio_recording_mix_store, audio_recording_track_get_or_create
from streams.models import Stream
from streams.rtms.protocol import PCM_BYTES_PER_MS, PCM_SAMPLE_RATE, WAV_HEADER_BYTES
from transcription.audio import wav_header

logger = logging.getLogger(__name__)

SAMPLE_RATE = PCM_SAMPLE_RATE
BYTES_PER_MS = PCM_BYTES_PER_MS
JITTER_BYTES = 10 * BYTES_PER_MS
MIXED_USER_ID = "0"


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40]
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def recording_relpath(*, meeting_id: int, rtms_stream_id: str, user_id: str) -> str:
    """Path relative to MEDIA_ROOT; user ``0`` is the mixed track."""
    name = "mixed" if user_id == MIXED_USER_ID else f"participant-{_safe(user_id)}"
    return f"recordings/{meeting_id}/{_safe(rtms_stream_id)}/{name}.wav"


@dataclass
class Track:
    """One participant's (or the mix's) file, as seen by the flush thread."""

    user_id: str
    user_name: str
    pending: list[tuple[int, bytes]] = field(default_factory=list)
    dropped: int = 0  # since the last flush
    # Resolved by the flush thread:
    recording_id: int | None = None
    participant_id: int | None = None
    path: Path | None = None
    origin_ts: int = 0  # epoch ms at data byte 0
    start_ms: int = 0  # origin relative to the meeting start
    end_bytes: int = 0  # data bytes on disk
    frames_written: int = 0
    frames_duplicate: int = 0
    frames_dropped: int = 0
    unrecorded_dropped: int = 0  # drops before the track had a row (flush thread only)
    last_ts: int | None = None
    # Counted (frames on disk, drops) but not yet saved on the row: a database error after the
    # file write keeps them here for the next flush instead of losing them.
    unsaved_frames: int = 0
    unsaved_dropped: int = 0


@dataclass(frozen=True, slots=True)
class PcmRange:
    """Bytes now on disk at ``byte_offset`` of a recording's data chunk; ``start_ms`` meeting time."""

    recording_id: int
    participant_id: int | None
    pcm: bytes
    byte_offset: int
    start_ms: int


@dataclass
class FlushStats:
    frames: int = 0  # distinct frames written (a re-sent frame is counted once)
    dropped: int = 0
    duplicates: int = 0
    bytes_written: int = 0
    ranges: list[PcmRange] = field(default_factory=list)


@functools.cache
def _counter_sql() -> tuple[str, str]:
    """The flush's counter UPDATEs as SQL (hot path: about 200 flushes a second on a busy
    worker, where compiling the equivalent ORM ``update(F(...) + n)`` cost more CPU than the
    audio itself): (recording, stream). Parameters: see :meth:`StreamRecorder._save_counters`;
    a NULL ``last_frame_at`` leaves the stored one. The one write of a ``meetings`` table outside
    ``meetings/services/`` (its rows are created there), kept here because it is the hot path."""
    q = connection.ops.quote_name  # identifiers come from the models, quoted; values are %s

    def col(model, name: str) -> str:
        return q(model._meta.get_field(name).column)

    rec, stream = AudioRecording, Stream
    recording_sql = (
        f"UPDATE {q(rec._meta.db_table)} SET {col(rec, 'data_bytes')} = %s, "  # noqa: S608
        f"{col(rec, 'frames_received')} = {col(rec, 'frames_received')} + %s, "
        f"{col(rec, 'frames_dropped')} = {col(rec, 'frames_dropped')} + %s "
        f"WHERE {col(rec, 'id')} = %s"
    )
    stream_sql = (
        f"UPDATE {q(stream._meta.db_table)} SET "  # noqa: S608
        f"{col(stream, 'audio_frames')} = {col(stream, 'audio_frames')} + %s, "
        f"{col(stream, 'audio_frames_dropped')} = {col(stream, 'audio_frames_dropped')} + %s, "
        f"{col(stream, 'last_frame_at')} = COALESCE(%s, {col(stream, 'last_frame_at')}) "
        f"WHERE {col(stream, 'id')} = %s"
    )
    return recording_sql, stream_sql


class StreamRecorder:
    """Collects one stream's audio frames and writes them in batches (see the module docstring).

    ``meeting_started_ms``: the meeting start (epoch ms) that ``start_ms`` is relative to.
    ``max_buffer_bytes``: pending audio allowed in memory before frames are dropped (counted).
    """

    def __init__(
        self,
        *,
        meeting_id: int,
        stream_id: int,
        rtms_stream_id: str,
        meeting_started_ms: int,
        max_buffer_bytes: int,
    ) -> None:
        self.meeting_id = meeting_id
        self.stream_id = stream_id
        self.rtms_stream_id = rtms_stream_id
        self.meeting_started_ms = meeting_started_ms
        self.max_buffer_bytes = max_buffer_bytes
        self.tracks: dict[str, Track] = {}
        self.pending_bytes = 0
        self.frames_received = 0
        self.frames_dropped = 0
        # Stream-row counters not yet saved (see Track.unsaved_frames).
        self.unsaved_frames = 0
        self.unsaved_dropped = 0
        self.unsaved_last_ts: int | None = None

    # -- event loop side (cheap) --

    def add(self, *, user_id: str, user_name: str, data: bytes, timestamp: int) -> bool:
        """Queue one frame; returns False when it was dropped because the buffer is full."""
        track = self.tracks.get(user_id)
        if track is None:
            track = self.tracks[user_id] = Track(user_id=user_id, user_name=user_name)
        elif user_name and not track.user_name:
            track.user_name = user_name
        self.frames_received += 1
        if self.pending_bytes + len(data) > self.max_buffer_bytes:
            track.dropped += 1
            self.frames_dropped += 1
            if self.frames_dropped in (1, 10, 100) or self.frames_dropped % 1000 == 0:
                logger.warning(
                    "stream %s: audio buffer full, %d frame(s) dropped so far",
                    self.rtms_stream_id,
                    self.frames_dropped,
                )
            return False
        track.pending.append((timestamp, data))
        self.pending_bytes += len(data)
        return True

    def note_dropped(self, *, user_id: str, user_name: str, frames: int) -> None:
        """Frames the RTMS client itself dropped (its queue was full): counted, never written."""
        track = self.tracks.get(user_id)
        if track is None:
            track = self.tracks[user_id] = Track(user_id=user_id, user_name=user_name)
        track.dropped += frames
        self.frames_received += frames
        self.frames_dropped += frames

    def take_batch(self) -> dict[str, tuple[list[tuple[int, bytes]], int]]:
        """Swap out the pending frames (on the loop) for a flush: ``{user_id: (frames, dropped)}``."""
        batch = {}
        for user_id, track in self.tracks.items():
            if track.pending or track.dropped:
                batch[user_id] = (track.pending, track.dropped)
                track.pending = []
                track.dropped = 0
        self.pending_bytes = 0
        return batch

    def requeue(self, batch: dict[str, tuple[list[tuple[int, bytes]], int]]) -> None:
        """Give back what a failed :meth:`flush_sync` left in ``batch`` (the database was down):
        the next flush writes it, ahead of newer frames. The buffer bound still applies to new
        frames (:meth:`add` drops and counts beyond it)."""
        for user_id, (frames, dropped) in batch.items():
            track = self.tracks[user_id]
            track.pending[:0] = frames
            track.dropped += dropped
            self.pending_bytes += sum(len(data) for _, data in frames)

    @property
    def has_unsaved(self) -> bool:
        """Counters a failed flush could not save yet (the next flush saves them)."""
        return bool(self.unsaved_frames or self.unsaved_dropped)

    # -- flush thread side (sync, ORM + file I/O) --

    def flush_sync(self, batch: dict[str, tuple[list[tuple[int, bytes]], int]]) -> FlushStats:
        """Write a batch from :meth:`take_batch`. Runs on the audio lane (a thread, never the loop).

        Each track's entry is removed from ``batch`` once its frames are on disk and counted, so
        when a database error propagates (``_resolve`` or the counter UPDATEs), ``batch`` holds
        exactly what is still unwritten (give it back with :meth:`requeue`) and the counts of
        what was written wait in the ``unsaved_*`` fields for the next flush: nothing is lost or
        counted twice.
        """
        stats = FlushStats()
        for user_id in list(batch):
            frames, dropped = batch[user_id]
            track = self.tracks[user_id]
            if track.recording_id is None:
                if not frames:  # the stream counts them now, the recording once it exists
                    track.unrecorded_dropped += dropped
                    stats.dropped += dropped
                    self.unsaved_dropped += dropped
                    del batch[user_id]
                    continue
                self._resolve(track, first_ts=frames[0][0])
            recorded_dropped = dropped + track.unrecorded_dropped
            track.unrecorded_dropped = 0
            written, duplicates = self._write(track, frames, stats.ranges)
            del batch[user_id]
            stats.frames += len(frames) - duplicates
            stats.duplicates += duplicates
            stats.dropped += dropped
            stats.bytes_written += written
            track.frames_written += len(frames) - duplicates
            track.frames_duplicate += duplicates
            track.frames_dropped += recorded_dropped
            track.unsaved_frames += len(frames) - duplicates
            track.unsaved_dropped += recorded_dropped
            self.unsaved_frames += len(frames) - duplicates
            self.unsaved_dropped += dropped
            if frames:
                track.last_ts = frames[-1][0]
                self.unsaved_last_ts = max(self.unsaved_last_ts or 0, track.last_ts)
        self._save_counters()
        return stats

    def _save_counters(self) -> None:
        """Persist the counted-but-unsaved frames and drops (recording rows, then the stream) in
        one transaction: one commit per flush, however many tracks. The ``unsaved_*`` fields are
        cleared only after the commit, so a failed flush leaves them for the next one."""
        tracks = [  # the loop may add tracks meanwhile: a snapshot
            track
            for track in list(self.tracks.values())
            if track.recording_id is not None and (track.unsaved_frames or track.unsaved_dropped)
        ]
        stream_dirty = bool(self.unsaved_frames or self.unsaved_dropped)
        if not tracks and not stream_dirty:
            return
        recording_sql, stream_sql = _counter_sql()
        last_ts = self.unsaved_last_ts
        last_frame_at = (
            connection.ops.adapt_datetimefield_value(epoch_ms_to_datetime(last_ts))
            if last_ts is not None
            else None
        )
        with transaction.atomic(), connection.cursor() as cursor:
            if tracks:  # one statement per track, sent in one executemany call
                cursor.executemany(
                    recording_sql,
                    [
                        (track.end_bytes, track.unsaved_frames, track.unsaved_dropped, track.recording_id)
                        for track in tracks
                    ],
                )
            if stream_dirty:
                cursor.execute(
                    stream_sql, (self.unsaved_frames, self.unsaved_dropped, last_frame_at, self.stream_id)
                )
        for track in tracks:
            track.unsaved_frames = track.unsaved_dropped = 0
        if stream_dirty:
            self.unsaved_frames = self.unsaved_dropped = 0
            self.unsaved_last_ts = None

    def _resolve(self, track: Track, *, first_ts: int) -> None:
        meeting = Meeting.objects.get(pk=self.meeting_id)
        mixed = track.user_id == MIXED_USER_ID
        participant = None
        if not mixed:
            participant = participant_upsert(
                meeting=meeting, zoom_user_id=track.user_id, display_name=track.user_name
            )
        relpath = recording_relpath(
            meeting_id=self.meeting_id, rtms_stream_id=self.rtms_stream_id, user_id=track.user_id
        )
        recording, created = audio_recording_track_get_or_create(
            meeting=meeting,
            stream_key=self.rtms_stream_id,
            participant=participant,
            path=relpath,
            start_ms=first_ts - self.meeting_started_ms,
        )
        track.recording_id = recording.pk
        track.participant_id = participant.pk if participant else None
        track.start_ms = recording.start_ms
        track.origin_ts = self.meeting_started_ms + recording.start_ms
        track.path = Path(settings.MEDIA_ROOT) / recording.path
        track.path.parent.mkdir(parents=True, exist_ok=True)
        if track.path.exists():
            size = track.path.stat().st_size - WAV_HEADER_BYTES
            track.end_bytes = max(0, size - size % 2)
            if not created:
                logger.info(
                    "stream %s: continuing %s at %d bytes",
                    self.rtms_stream_id,
                    recording.path,
                    track.end_bytes,
                )
        else:
            track.end_bytes = 0
            with track.path.open("wb") as fh:
                fh.write(wav_header(0))

    def _write(
        self, track: Track, frames: list[tuple[int, bytes]], ranges: list[PcmRange]
    ) -> tuple[int, int]:
        """Place frames by timestamp; returns (bytes written incl. silence, duplicate frames).

        Placed frames only move forward (each starts at or after the previous one's end), so the
        batch becomes one contiguous range from the old end (gaps as zero bytes, which is what a
        gap reads as) written with one ``write`` per track, not one per frame."""
        if track.path is None:
            raise RuntimeError("track written before it was resolved")
        duplicates = 0
        start_end = end = track.end_bytes
        chunks: list[bytes] = []
        origin_ts = track.origin_ts
        for timestamp, data in frames:
            if len(data) % 2:
                data = data[:-1]
            pos = (timestamp - origin_ts) * BYTES_PER_MS
            if abs(pos - end) <= JITTER_BYTES:
                pos = end
            elif pos < end:
                if pos + len(data) <= end:
                    duplicates += 1
                    continue
                data = data[end - pos :]  # partial overlap: keep only the new tail
                pos = end
            else:
                chunks.append(bytes(pos - end))  # the silence the gap reads as
            chunks.append(data)
            end = pos + len(data)
        if end == start_end:
            return 0, duplicates
        pcm = b"".join(chunks)
        with track.path.open("r+b") as fh:
            fh.seek(WAV_HEADER_BYTES + start_end)
            fh.write(pcm)
            fh.seek(0)
            fh.write(wav_header(end))
        track.end_bytes = end
        ranges.append(
            PcmRange(
                recording_id=track.recording_id,
                participant_id=track.participant_id,
                pcm=pcm,
                byte_offset=start_end,
                start_ms=track.start_ms + start_end // BYTES_PER_MS,
            )
        )
        return end - start_end, duplicates

    def summary(self) -> dict[str, dict[str, int]]:
        """Per user: frames written/duplicate/dropped and data bytes (for logs and tests)."""
        return {
            user_id: {
                "frames_written": t.frames_written,
                "frames_duplicate": t.frames_duplicate,
                "frames_dropped": t.frames_dropped,
                "data_bytes": t.end_bytes,
            }
            for user_id, t in self.tracks.items()
        }


MIX_BLOCK_BYTES = 10 * 1000 * BYTES_PER_MS  # 10 s


def mix_build(*, meeting_id: int, rtms_stream_id: str) -> AudioRecording | None:
    """Build (or rebuild) the mixed WAV of one stream from its participant tracks; sync, ORM.

    Sum of the tracks aligned by ``start_ms``, clipped to int16; returns the mixed recording, or
    None when there are no participant tracks or Zoom sent its own mixed stream.
    """
    existing = AudioRecording.objects.filter(
        meeting_id=meeting_id, stream_key=rtms_stream_id, kind=AudioRecording.Kind.MIXED
    ).first()
    if existing is not None and existing.frames_received > 0:
        return existing  # Zoom's own mix (user_id 0) was recorded
    tracks = list(
        AudioRecording.objects.filter(
            meeting_id=meeting_id, stream_key=rtms_stream_id, kind=AudioRecording.Kind.PARTICIPANT
        )
    )
    tracks = [t for t in tracks if (Path(settings.MEDIA_ROOT) / t.path).exists()]
    if not tracks:
        return None
    origin_ms = min(t.start_ms for t in tracks)
    spans = []
    for t in tracks:
        path = Path(settings.MEDIA_ROOT) / t.path
        size = path.stat().st_size - WAV_HEADER_BYTES
        offset = (t.start_ms - origin_ms) * BYTES_PER_MS
        spans.append((path, offset, size - size % 2))
    total = max(offset + size for _, offset, size in spans)
    relpath = recording_relpath(meeting_id=meeting_id, rtms_stream_id=rtms_stream_id, user_id=MIXED_USER_ID)
    out_path = Path(settings.MEDIA_ROOT) / relpath
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handles = [(path.open("rb"), offset, size) for path, offset, size in spans]
    try:
        with out_path.open("wb") as out:
            out.write(wav_header(total))
            for block_start in range(0, total, MIX_BLOCK_BYTES):
                block_len = min(MIX_BLOCK_BYTES, total - block_start)
                acc = np.zeros(block_len // 2, dtype=np.int32)
                for fh, offset, size in handles:
                    lo = max(block_start, offset)
                    hi = min(block_start + block_len, offset + size)
                    if hi <= lo:
                        continue
                    fh.seek(WAV_HEADER_BYTES + lo - offset)
                    samples = np.frombuffer(fh.read(hi - lo), dtype="<i2")
                    start = (lo - block_start) // 2
                    acc[start : start + len(samples)] += samples
                out.write(np.clip(acc, -32768, 32767).astype("<i2").tobytes())
    finally:
        for fh, _, _ in handles:
            fh.close()
    return audio_recording_mix_store(
        meeting_id=meeting_id, stream_key=rtms_stream_id, path=relpath, start_ms=origin_ms, data_bytes=total
    )
