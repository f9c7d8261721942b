"""Transcription still to come for a meeting: what its final summary waits for.

Whisper's audio windows and re-transcription runs are ``streams`` models, and ``meetings`` must
not import ``streams`` (dependencies point one way: streams -> meetings). So the dependency is
turned around:

* ``streams`` registers a function ``meeting_id -> milliseconds of audio not yet transcribed``
  here at start-up (``StreamsConfig.ready`` -> :func:`pending_audio_source_register`);
* ``meetings`` asks :func:`pending_audio_ms` (the summary gate in ``meetings.services.summaries``, the
  summary task, the meeting page and the API), knowing nothing about windows;
* ``streams`` tells ``meetings`` when transcription progressed (a window finished, a
  re-transcription step) by calling ``meetings.services.summaries.summary_request_when_transcribed``.

It also registers ``meeting_id -> ms the live transcript is behind`` (:func:`lag_source_register`,
read by :func:`transcript_lag_ms`: now minus the end of the oldest audio not transcribed yet),
which the meeting page ("Transcript N s behind"), the API and ``/metrics`` show.

Without ``streams`` installed nothing is registered and nothing is ever pending.
"""

from __future__ import annotations

import math
from collections.abc import Callable

PendingAudioSource = Callable[[int], int]  # meeting pk -> ms of audio still to be transcribed

LagSource = Callable[[int], int]  # meeting pk -> ms the live transcript is behind

# The page shows "Transcript N s behind" from this lag on (a final line normally takes 1-2 s).
LAG_VISIBLE_MS = 5_000

_sources: list[PendingAudioSource] = []
_lag_sources: list[LagSource] = []


def pending_audio_source_register(source: PendingAudioSource) -> PendingAudioSource:
    """Add ``source`` (once; registering it again changes nothing). Returns it (a decorator)."""
    if source not in _sources:
        _sources.append(source)
    return source


def pending_audio_ms(*, meeting_id: int) -> int:
    """Milliseconds of the meeting's audio still to be transcribed (0: the transcript is complete)."""
    return sum(max(0, int(source(meeting_id))) for source in _sources)


def pending_audio_seconds(*, meeting_id: int) -> int:
    """:func:`pending_audio_ms` in whole seconds, rounded up (any pending audio is at least 1 s)."""
    return math.ceil(pending_audio_ms(meeting_id=meeting_id) / 1000)


def lag_source_register(source: LagSource) -> LagSource:
    """Add a lag ``source`` (once). Returns it."""
    if source not in _lag_sources:
        _lag_sources.append(source)
    return source


def transcript_lag_ms(*, meeting_id: int) -> int:
    """Milliseconds the meeting's live transcript is behind (0: caught up)."""
    return max((max(0, int(source(meeting_id))) for source in _lag_sources), default=0)
