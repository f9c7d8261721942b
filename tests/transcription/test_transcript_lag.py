"""How far behind the live transcript is: the selector, the meeting page's "Transcript N s
behind" line, the API field, and when the line is pushed (no model runs here)."""

from __future__ import annotations

import time

import pytest

from meetings.models import AudioRecording
from tests.factories import ParticipantFactory, StreamFactory
from transcription import windows
from transcription.live import WindowSpec
from transcription.models import AudioWindow
from transcription.selectors import transcription_lag_ms

pytestmark = pytest.mark.django_db


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def recording(meeting):
    participant = ParticipantFactory(meeting=meeting)
    return AudioRecording.objects.create(
        meeting=meeting,
        participant=participant,
        kind=AudioRecording.Kind.PARTICIPANT,
        stream_key="s1",
        path="x.wav",
        start_ms=0,
        data_bytes=32 * 60_000,
    )


def spec(recording, *, offset_s: int, speech_end_wall_ms: int, is_final: bool = True) -> WindowSpec:
    return WindowSpec(
        stream_id=StreamFactory(meeting=recording.meeting).pk,
        meeting_id=recording.meeting_id,
        recording_id=recording.pk,
        participant_id=recording.participant_id,
        byte_offset=offset_s * 32_000,
        byte_length=32_000,
        start_ms=offset_s * 1000,
        end_ms=offset_s * 1000 + 1000,
        is_final=is_final,
        speech_end_wall_ms=speech_end_wall_ms,
    )


def test_lag_is_now_minus_the_end_of_the_oldest_untranscribed_audio(meeting, recording):
    assert transcription_lag_ms(meeting.pk) == 0
    now = now_ms()
    old = windows.audio_window_create(spec=spec(recording, offset_s=0, speech_end_wall_ms=now - 9_000))
    windows.audio_window_create(spec=spec(recording, offset_s=2, speech_end_wall_ms=now - 4_000))
    assert transcription_lag_ms(meeting.pk, now_ms=now) == 9_000
    AudioWindow.objects.filter(pk=old.pk).update(status=AudioWindow.Status.DONE)
    assert transcription_lag_ms(meeting.pk, now_ms=now) == 4_000
    AudioWindow.objects.update(status=AudioWindow.Status.EMPTY)
    assert transcription_lag_ms(meeting.pk, now_ms=now) == 0


def test_the_page_says_how_far_behind_only_past_a_few_seconds(client, user, meeting, recording):
    client.force_login(user)
    windows.audio_window_create(spec=spec(recording, offset_s=0, speech_end_wall_ms=now_ms() - 1_000))
    html = client.get(meeting.get_absolute_url()).content.decode()
    assert 'id="transcript-lag"' in html
    assert "hidden" in html.split('id="transcript-lag"')[1].split(">")[0]
    windows.audio_window_create(spec=spec(recording, offset_s=3, speech_end_wall_ms=now_ms() - 12_000))
    html = client.get(meeting.get_absolute_url()).content.decode()
    tag = html.split('id="transcript-lag"')[1].split("</p>")[0]
    assert "hidden" not in tag.split(">")[0]
    assert 'Transcript <span class="lag-seconds">12</span> s behind' in tag


def test_the_api_exposes_the_lag(client, user, meeting, recording):
    client.force_login(user)
    windows.audio_window_create(spec=spec(recording, offset_s=0, speech_end_wall_ms=now_ms() - 7_000))
    data = client.get(f"/api/meetings/{meeting.public_id}/").json()
    assert 6.9 <= data["transcript_lag_seconds"] < 9


def test_new_windows_push_the_lag_only_when_behind(
    meeting, recording, monkeypatch, django_capture_on_commit_callbacks
):
    # the windows stay pending (no task is enqueued): only the lag pushes run on commit
    monkeypatch.setattr(windows.jobs, "enqueue", lambda *args, **kwargs: None)
    pushed = []
    monkeypatch.setattr(
        windows.meeting_fragments, "push_transcript_lag", lambda m, lag_ms=None: pushed.append(lag_ms)
    )
    with django_capture_on_commit_callbacks(execute=True):
        windows.audio_windows_create(specs=[spec(recording, offset_s=0, speech_end_wall_ms=now_ms() - 300)])
    assert pushed == []  # on time: pages are not bothered
    with django_capture_on_commit_callbacks(execute=True):
        windows.audio_windows_create(specs=[spec(recording, offset_s=2, speech_end_wall_ms=now_ms())])
    assert pushed == []
    AudioWindow.objects.filter(byte_offset=0).update(speech_end_wall_ms=now_ms() - 6_000)
    with django_capture_on_commit_callbacks(execute=True):
        windows.audio_windows_create(specs=[spec(recording, offset_s=4, speech_end_wall_ms=now_ms())])
    assert len(pushed) == 1
    assert pushed[0] >= 6_000


def test_a_late_window_finishing_pushes_the_new_lag_and_a_window_on_time_does_not(
    meeting, recording, monkeypatch
):
    pushed = []
    monkeypatch.setattr(
        windows.meeting_fragments, "push_transcript_lag", lambda m, lag_ms=None: pushed.append(m)
    )
    windows._lag_changed(meeting.pk, now_ms() - 500)
    assert pushed == []
    windows._lag_changed(meeting.pk, now_ms() - 8_000)
    assert pushed == [meeting.pk]


def test_the_pushed_line_is_replaced_by_id_and_hidden_when_caught_up(meeting, recording):
    from meetings.fragments import render_transcript_lag

    behind = render_transcript_lag(meeting, lag_ms=15_000)
    assert 'hx-swap-oob="true"' in behind
    assert "hidden" not in behind
    assert ">15<" in behind
    caught_up = render_transcript_lag(meeting)
    assert 'data-lag-ms="0"' in caught_up
    assert " hidden" in caught_up
