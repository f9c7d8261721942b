"""WAV recording: frames placed by timestamp, silence for gaps, duplicates skipped, takeover
continuation, valid headers while growing, bounded buffer with counted drops, the mixed track."""

from __future__ import annotations

import wave

import numpy as np
import pytest
from django.db import OperationalError, connection

from meetings.models import AudioRecording
from streams import recording
from streams.models import Stream
from tests.factories import StreamFactory

FRAME = 640


def frame(value: int) -> bytes:
    return np.full(FRAME // 2, value, dtype="<i2").tobytes()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def recorder_for(stream: Stream, **kwargs) -> recording.StreamRecorder:
    return recording.StreamRecorder(
        meeting_id=stream.meeting_id,
        stream_id=stream.pk,
        rtms_stream_id=stream.rtms_stream_id,
        meeting_started_ms=int(stream.meeting.started_at.timestamp() * 1000),
        max_buffer_bytes=kwargs.pop("max_buffer_bytes", 1 << 20),
    )


def flush(rec: recording.StreamRecorder) -> recording.FlushStats:
    return rec.flush_sync(rec.take_batch())


def read_wav(path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.mark.django_db
def test_frames_are_placed_by_timestamp_with_silence_in_gaps(media_root):
    stream = StreamFactory()
    rec = recorder_for(stream)
    t0 = rec.meeting_started_ms + 1000  # the participant's first frame, 1 s into the meeting
    rec.add(user_id="16778240", user_name="Alice", data=frame(100), timestamp=t0)
    rec.add(user_id="16778240", user_name="Alice", data=frame(200), timestamp=t0 + 21)  # 1 ms jitter
    flush(rec)  # the file is valid while growing
    row = AudioRecording.objects.get()
    assert (row.start_ms, row.data_bytes, row.frames_received) == (1000, 2 * FRAME, 2)
    assert len(read_wav(media_root / row.path)) == 640
    rec.add(user_id="16778240", user_name="Alice", data=frame(300), timestamp=t0 + 100)  # muted 60 ms
    stats = flush(rec)
    samples = read_wav(media_root / row.path)
    assert len(samples) == 100 * 16 + 320
    assert (samples[:320] == 100).all()
    assert (samples[320:640] == 200).all()
    assert (samples[640:1600] == 0).all()  # the gap reads as silence: file time = meeting time
    assert (samples[1600:] == 300).all()
    assert stats.ranges[0].byte_offset == 2 * FRAME
    assert len(stats.ranges[0].pcm) == 100 * 32 - 2 * FRAME + FRAME  # silence + frame, contiguous
    assert row.participant is not None
    assert row.participant.display_name == "Alice"


@pytest.mark.django_db
def test_resent_frames_are_written_once(media_root):
    stream = StreamFactory()
    rec = recorder_for(stream)
    t0 = rec.meeting_started_ms
    for i in range(5):
        rec.add(user_id="1", user_name="A", data=frame(i + 1), timestamp=t0 + 20 * i)
    flush(rec)
    for i in range(2, 7):  # a reconnect replays frames 2-4, then 5-6 are new
        rec.add(user_id="1", user_name="A", data=frame(i + 1), timestamp=t0 + 20 * i)
    stats = flush(rec)
    assert (stats.frames, stats.duplicates) == (2, 3)
    row = AudioRecording.objects.get()
    assert row.frames_received == 7
    samples = read_wav(media_root / row.path)
    assert [int(samples[i * 320]) for i in range(7)] == [1, 2, 3, 4, 5, 6, 7]
    assert Stream.objects.get().audio_frames == 7


@pytest.mark.django_db
def test_takeover_continues_the_same_file(media_root):
    stream = StreamFactory()
    first = recorder_for(stream)
    t0 = first.meeting_started_ms + 500
    for i in range(3):
        first.add(user_id="1", user_name="A", data=frame(7), timestamp=t0 + 20 * i)
    flush(first)
    second = recorder_for(stream)  # another worker, after a takeover
    second.add(user_id="1", user_name="A", data=frame(7), timestamp=t0 + 40)  # replayed
    second.add(user_id="1", user_name="A", data=frame(9), timestamp=t0 + 100)
    flush(second)
    row = AudioRecording.objects.get()
    samples = read_wav(media_root / row.path)
    assert len(samples) == (100 + 20) * 16
    assert (samples[: 3 * 320] == 7).all()
    assert (samples[3 * 320 : 100 * 16] == 0).all()
    assert (samples[100 * 16 :] == 9).all()
    assert row.frames_received == 4


@pytest.mark.django_db
def test_full_buffer_drops_and_counts(media_root):
    stream = StreamFactory()
    rec = recorder_for(stream, max_buffer_bytes=3 * FRAME)
    t0 = rec.meeting_started_ms
    accepted = [rec.add(user_id="1", user_name="A", data=frame(1), timestamp=t0 + 20 * i) for i in range(5)]
    assert accepted == [True, True, True, False, False]
    rec.note_dropped(user_id="1", user_name="A", frames=4)  # the client's own drops
    flush(rec)
    stream.refresh_from_db()
    assert (stream.audio_frames, stream.audio_frames_dropped) == (3, 6)
    assert AudioRecording.objects.get().frames_dropped == 6


@pytest.mark.django_db
def test_mix_is_the_clipped_sum_aligned_by_start(media_root):
    stream = StreamFactory()
    rec = recorder_for(stream)
    t0 = rec.meeting_started_ms
    for i in range(3):
        rec.add(user_id="1", user_name="A", data=frame(30000), timestamp=t0 + 20 * i)
    for i in range(2):
        rec.add(user_id="2", user_name="B", data=frame(10000), timestamp=t0 + 40 + 20 * i)
    flush(rec)
    mixed = recording.mix_build(meeting_id=stream.meeting_id, rtms_stream_id=stream.rtms_stream_id)
    samples = read_wav(media_root / mixed.path)
    assert len(samples) == 4 * 320
    assert (samples[:640] == 30000).all()
    assert (samples[640:960] == 32767).all()  # 30000 + 10000 clipped
    assert (samples[960:] == 10000).all()
    assert mixed.data_bytes == 4 * FRAME


@pytest.mark.django_db(transaction=True)
def test_a_failed_counter_save_is_retried_next_flush_without_double_counting(media_root, monkeypatch):
    """The counters of a flush are saved in one transaction: when the stream's UPDATE fails, the
    recording's UPDATE is rolled back too and both are saved, once, by the next flush."""
    stream = StreamFactory()
    rec = recorder_for(stream)
    t0 = rec.meeting_started_ms
    for i in range(3):
        rec.add(user_id="1", user_name="A", data=frame(1), timestamp=t0 + 20 * i)
    stream_table = Stream._meta.db_table

    def stream_update_fails(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and stream_table in sql.split("SET")[0]:
            raise OperationalError("database restarting")
        return execute(sql, params, many, context)

    batch = rec.take_batch()
    with connection.execute_wrapper(stream_update_fails), pytest.raises(OperationalError):
        rec.flush_sync(batch)
    assert AudioRecording.objects.get().frames_received == 0  # rolled back with the stream's
    rec.add(user_id="1", user_name="A", data=frame(1), timestamp=t0 + 60)
    flush(rec)
    stream.refresh_from_db()
    assert stream.audio_frames == 4
    assert AudioRecording.objects.get().frames_received == 4
