"""Writes of audio recordings: one row per participant track (or Zoom's mixed track) of a stream,
and the mixed WAV built from the tracks after a stream stops.

The WAV files themselves are written by the recorder (``streams/recording.py``); ``path`` is
relative to ``MEDIA_ROOT``, ``start_ms`` is milliseconds from the meeting start, ``data_bytes``
the PCM bytes after the 44-byte header. The recorder's per-flush counters (``data_bytes``,
``frames_received``, ``frames_dropped``) stay one raw UPDATE batch in the recorder, beside the
stream's own counters, because that is the ingest hot path.
"""

from __future__ import annotations

from meetings.models import AudioRecording, Meeting, Participant


def audio_recording_track_get_or_create(
    *, meeting: Meeting, stream_key: str, participant: Participant | None, path: str, start_ms: int
) -> tuple[AudioRecording, bool]:
    """The recording of one track of stream ``stream_key``: a participant's (``participant``
    given) or Zoom's mixed one (``participant=None``). Created with ``path`` and ``start_ms`` on
    the track's first frame; a resumed stream gets the existing row back (``created`` False)."""
    return AudioRecording.objects.get_or_create(
        meeting=meeting,
        stream_key=stream_key,
        kind=AudioRecording.Kind.PARTICIPANT if participant is not None else AudioRecording.Kind.MIXED,
        participant=participant,
        defaults={"path": path, "start_ms": start_ms},
    )


def audio_recording_mix_store(
    *, meeting_id: int, stream_key: str, path: str, start_ms: int, data_bytes: int
) -> AudioRecording:
    """Record (or update) the mixed recording the recorder built from a stream's tracks."""
    recording, _ = AudioRecording.objects.update_or_create(
        meeting_id=meeting_id,
        stream_key=stream_key,
        kind=AudioRecording.Kind.MIXED,
        participant=None,
        defaults={"path": path, "start_ms": start_ms, "data_bytes": data_bytes},
    )
    return recording
