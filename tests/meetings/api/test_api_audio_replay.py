"""Click-to-play (issue 20): the audio cue of a line, and recordings served with Range requests."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from meetings.models import AudioRecording
from meetings.selectors.recordings import playback_cue
from tests.factories import ParticipantFactory, TranscriptSegmentFactory

BYTES_PER_MS = 32


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def recording(meeting, media_root, *, kind, start_ms, seconds, participant=None, name=None):
    """A real WAV of ``seconds`` (s16le 16 kHz mono) and its row, as the recorder leaves them."""
    relative = f"recordings/{meeting.pk}/s1/{name or kind}.wav"
    path = media_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = seconds * 16_000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\x10\x00" * samples)
    return AudioRecording.objects.create(
        meeting=meeting,
        stream_key="s1",
        kind=kind,
        participant=participant,
        path=relative,
        start_ms=start_ms,
        data_bytes=samples * 2,
    )


@pytest.fixture
def alice(meeting):
    return ParticipantFactory(meeting=meeting, display_name="Alice")


@pytest.mark.django_db
def test_a_line_plays_from_the_mixed_recording_at_its_start_minus_the_recording_start(
    api, meeting, media_root, alice
):
    mixed = recording(meeting, media_root, kind="mixed", start_ms=1_500, seconds=20)
    recording(meeting, media_root, kind="participant", participant=alice, start_ms=1_500, seconds=20)
    line = TranscriptSegmentFactory(meeting=meeting, participant=alice, start_ms=12_000)
    response = api.get(f"/api/meetings/{meeting.public_id}/audio/cue/?segment={line.pk}")
    assert response.status_code == 200
    cue = response.json()
    assert cue == {
        "segment_id": line.pk,
        "recording_id": mixed.pk,
        "kind": "mixed",
        "participant_id": None,
        "url": f"/api/meetings/{meeting.public_id}/audio/?recording={mixed.pk}",
        "offset_ms": 10_500,
        "duration_ms": 20_000,
    }
    audio = api.get(cue["url"], HTTP_RANGE=f"bytes={44 + 10_500 * BYTES_PER_MS}-")
    assert audio.status_code == 206
    assert audio["Content-Range"] == f"bytes {44 + 10_500 * 32}-{44 + 20_000 * 32 - 1}/{44 + 20_000 * 32}"


@pytest.mark.django_db
def test_while_live_without_a_mix_the_speakers_own_track_is_used(api, meeting, media_root, alice):
    bob = ParticipantFactory(meeting=meeting, display_name="Bob")
    recording(meeting, media_root, kind="participant", participant=bob, start_ms=0, seconds=30, name="bob")
    own = recording(meeting, media_root, kind="participant", participant=alice, start_ms=4_000, seconds=10)
    line = TranscriptSegmentFactory(meeting=meeting, participant=alice, start_ms=9_000)
    cue = api.get(f"/api/meetings/{meeting.public_id}/audio/cue/?segment={line.pk}").json()
    assert (cue["recording_id"], cue["kind"], cue["offset_ms"]) == (own.pk, "participant", 5_000)
    assert cue["participant_id"] == alice.pk


@pytest.mark.django_db
def test_a_line_no_recording_covers_is_404(api, meeting, media_root, alice):
    recording(meeting, media_root, kind="mixed", start_ms=0, seconds=5)
    after_the_end = TranscriptSegmentFactory(meeting=meeting, participant=alice, start_ms=6_000)
    response = api.get(f"/api/meetings/{meeting.public_id}/audio/cue/?segment={after_the_end.pk}")
    assert response.status_code == 404
    assert response.json()["detail"] == "No recording for this line"
    assert playback_cue(meeting=meeting, segment_id=after_the_end.pk) is None


@pytest.mark.django_db
def test_the_cue_needs_a_line_of_this_meeting(api, meeting, media_root, other_user):
    from tests.factories import MeetingFactory

    recording(meeting, media_root, kind="mixed", start_ms=0, seconds=5)
    elsewhere = TranscriptSegmentFactory(meeting=MeetingFactory(owner=other_user), start_ms=1_000)
    base = f"/api/meetings/{meeting.public_id}/audio/cue/"
    assert api.get(base).status_code == 400
    assert api.get(f"{base}?segment=abc").status_code == 400
    assert api.get(f"{base}?segment={elsewhere.pk}").status_code == 404


@pytest.mark.django_db
def test_a_stranger_gets_404_and_no_audio(other_api, meeting, media_root, alice):
    mixed = recording(meeting, media_root, kind="mixed", start_ms=0, seconds=5)
    line = TranscriptSegmentFactory(meeting=meeting, participant=alice, start_ms=1_000)
    cue = other_api.get(f"/api/meetings/{meeting.public_id}/audio/cue/?segment={line.pk}")
    assert cue.status_code == 404
    assert "recording" not in cue.content.decode()
    audio = other_api.get(
        f"/api/meetings/{meeting.public_id}/audio/?recording={mixed.pk}", HTTP_RANGE="bytes=0-"
    )
    assert audio.status_code == 404
    assert b"RIFF" not in audio.content


@pytest.mark.django_db
def test_audio_by_recording_id_serves_ranges_and_stays_inside_the_meeting(
    api, meeting, media_root, other_user
):
    from tests.factories import MeetingFactory

    mixed = recording(meeting, media_root, kind="mixed", start_ms=0, seconds=2)
    size = 44 + 2 * 32_000
    url = f"/api/meetings/{meeting.public_id}/audio/?recording={mixed.pk}"
    full = api.get(url)
    assert full.status_code == 200
    assert full["Accept-Ranges"] == "bytes"
    assert full["Content-Length"] == str(size)
    head = api.get(url, HTTP_RANGE="bytes=0-43")
    assert head.status_code == 206
    assert b"".join(head.streaming_content)[:4] == b"RIFF"
    assert head["Content-Range"] == f"bytes 0-43/{size}"
    past = api.get(url, HTTP_RANGE=f"bytes={size}-")
    assert past.status_code == 416
    assert past["Content-Range"] == f"bytes */{size}"
    theirs = recording(MeetingFactory(owner=other_user), media_root, kind="mixed", start_ms=0, seconds=1)
    assert api.get(f"/api/meetings/{meeting.public_id}/audio/?recording={theirs.pk}").status_code == 404
    assert api.get(f"/api/meetings/{meeting.public_id}/audio/?recording=0").status_code == 400


@pytest.mark.django_db
def test_errors_are_json_even_when_wav_was_asked_for(api, meeting):
    response = api.get(f"/api/meetings/{meeting.public_id}/audio/?format=wav&participant=%00&recording=1")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "participant" in response.json()
    missing = api.get(f"/api/meetings/{meeting.public_id}/audio/?format=wav", HTTP_ACCEPT="audio/wav")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No recording"}
