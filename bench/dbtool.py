"""Database side of the benchmarks, run in a subprocess with the product's environment.

``python -m bench.dbtool COMMAND '<json args>'`` prints one JSON line. Commands:

* ``user {username, zoom_user_id}``: a user (linked to the Zoom operator id, so the emulator's
  meetings are theirs) and a logged-in session: ``{user_id, session}`` (the ``sessionid`` cookie).
* ``meeting {zoom_uuid, timeout}``: waits for the meeting a webhook created: ``{public_id, pk}``.
* ``seed {username, segments, participants}``: a meeting owned by the user with that many Zoom
  transcript segments, written through ``meetings.services`` (live pushes and outbound
  webhooks are switched off in this process: nobody is watching a meeting being seeded).
* ``settings {names}``: the product's values of these settings.
* ``streams {rtms_stream_ids}``: per stream its state and audio counters, and the creation time
  (epoch ms) of every stored Zoom transcript segment with its ``source_key``.
* ``windows {rtms_stream_ids}``: the streams' Whisper windows (kind, status, times).
"""

from __future__ import annotations

import json
import os
import sys
import time


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rtms_assistant.settings")
    import django

    django.setup()


def cmd_user(username: str, zoom_user_id: str = "") -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from meetings.models import ZoomIdentity

    user, _ = get_user_model().objects.get_or_create(username=username)
    if zoom_user_id:
        ZoomIdentity.objects.update_or_create(zoom_user_id=zoom_user_id, defaults={"user": user})
    client = Client()
    client.force_login(user)
    return {"user_id": user.pk, "session": client.cookies["sessionid"].value}


def cmd_meeting(zoom_uuid: str, timeout: float = 30.0) -> dict:
    from meetings.models import Meeting

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meeting = Meeting.objects.filter(zoom_uuid=zoom_uuid).first()
        if meeting is not None:
            return {"public_id": str(meeting.public_id), "pk": meeting.pk}
        time.sleep(0.05)
    raise SystemExit(f"no meeting for {zoom_uuid} within {timeout} s")


def cmd_seed(username: str, segments: int, participants: int = 4) -> dict:
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from meetings import live, outbound
    from meetings.services.meetings import meeting_get_or_create
    from meetings.services.participants import participant_upsert
    from meetings.services.transcript import transcript_segment_record

    live.after_commit = lambda *args, **kwargs: None  # seeding: no live pushes, no outbound
    outbound.emit_on_commit = lambda *args, **kwargs: None
    user = get_user_model().objects.get(username=username)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    meeting, _ = meeting_get_or_create(
        product="meeting",
        zoom_uuid=f"bench-seed-{time.time_ns()}==",
        started_at=started,
        topic="Seeded meeting",
    )
    meeting.owner = user
    meeting.save(update_fields=["owner"])
    with transaction.atomic():
        people = [
            participant_upsert(meeting=meeting, zoom_user_id=str(1000 + i), display_name=f"Speaker {i + 1}")
            for i in range(participants)
        ]
        for n in range(segments):
            transcript_segment_record(
                meeting=meeting,
                source="zoom",
                source_key=f"seed:{n}",
                text=f"Segment {n}: we agreed to review the budget and ship the release on Friday.",
                start_ms=n * 2000,
                end_ms=n * 2000 + 1800,
                participant=people[n % participants],
            )
    return {"public_id": str(meeting.public_id), "pk": meeting.pk}


def cmd_settings(names: list[str]) -> dict:
    from django.conf import settings

    return {name: getattr(settings, name) for name in names}


def cmd_streams(rtms_stream_ids: list[str]) -> dict:
    from meetings.models import TranscriptSegment
    from streams.models import Stream

    rows = Stream.objects.filter(rtms_stream_id__in=rtms_stream_ids)
    streams = {
        s.rtms_stream_id: {
            "state": s.state,
            "audio_frames": s.audio_frames,
            "audio_frames_dropped": s.audio_frames_dropped,
            "stop_reason": s.stop_reason,
            "reconnect_count": s.reconnect_count,
        }
        for s in rows
    }
    meeting_ids = [s.meeting_id for s in rows]
    segments = [
        [key, int(created.timestamp() * 1000)]
        for key, created in TranscriptSegment.objects.filter(
            meeting_id__in=meeting_ids, source="zoom"
        ).values_list("source_key", "created_at")
    ]
    return {"streams": streams, "segments": segments}


def cmd_windows(rtms_stream_ids: list[str]) -> dict:
    """The Whisper windows of these streams: ``[is_final, status, queued_ms, done_ms,
    speech_end_wall_ms]`` each (epoch ms; done_ms null while pending)."""
    from transcription.models import AudioWindow

    def ms(value) -> int | None:
        return None if value is None else int(value.timestamp() * 1000)

    rows = AudioWindow.objects.filter(stream__rtms_stream_id__in=rtms_stream_ids).values_list(
        "is_final", "status", "queued_at", "done_at", "speech_end_wall_ms"
    )
    return {"windows": [[f, status, ms(q), ms(d), w] for f, status, q, d, w in rows]}


def main() -> int:
    command, raw = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    _setup()
    handler = globals().get(f"cmd_{command}")
    if handler is None:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(handler(**json.loads(raw))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
