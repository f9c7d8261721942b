"""Transcription still to come for a meeting: what its final summary waits for.

Whisper's audio windows and re-transcription runs are ``streams`` models, and ``meetings`` must
not import ``streams`` (dependencies point one way: streams -> meetings). So the dependency is
turned around:

* ``streams`` registers a function ``meeting_id -> milliseconds of audio not yet transcribed``
  here at start-up (``StreamsConfig.ready`` -> :func:`pending_audio_source_register`);
* ``meetings`` asks :func:`pending_audio_ms` (the summary gate in ``meetings.summaries``, the
  summary task, the meeting page and the API), knowing nothing about windows;
* ``streams`` tells ``meetings`` when transcription progressed (a window finished, a
  re-transcription step) by calling ``meetings.summaries.summary_request_when_transcribed``.

Without ``streams`` installed nothing is registered and nothing is ever pending.
"""

from __future__ import annotations

import math
from collections.abc import Callable

PendingAudioSource = Callable[[int], int]  # meeting pk -> ms of audio still to be transcribed

_sources: list[PendingAudioSource] = []


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
