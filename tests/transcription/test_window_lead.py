"""A window that continues a sentence is decoded with the sentence's start (its lead).

fleurs_en_002 (11.5 s, one reader) is cut at its 500 ms pause after "made famous": decoded
alone, the second window loses the context ("... account of the splinter is recorded ...");
decoded after the first window's audio with its text as a forced prefix it reads "its".
"""

from __future__ import annotations

import numpy as np
import pytest

from meetings.models import TranscriptSegment
from tests.factories import ParticipantFactory, StreamFactory
from transcription.audio import read_wav
from transcription.cutter import Window, cut_windows
from transcription.engines import strip_prefix
from transcription.models import AudioWindow
from transcription.service import LEAD_MAX_GAP_MS, lead_between, transcribe_samples
from transcription.windows import audio_window_create, audio_window_transcribe

from .conftest import make_recording, normalized, spec_for, word_error_rate

SECOND_HALF = "to foreigners after a glowing account of its splendours recorded by lord byron"


def window(start_ms: int, end_ms: int) -> Window:
    return Window(
        byte_offset=start_ms * 32,
        byte_length=(end_ms - start_ms) * 32,
        start_ms=start_ms,
        end_ms=end_ms,
        is_final=True,
        speech_ms=end_ms - start_ms,
    )


def test_the_lead_is_the_previous_window_and_the_pause_before_this_one():
    samples = np.arange(20 * 16000, dtype=np.float32)
    lead = lead_between(samples, window(1000, 4000), window(4300, 7000), "hello there")
    assert lead.text == "hello there"
    assert lead.samples[0] == 1000 * 16
    assert lead.samples.size == 3300 * 16  # 3 s window + 300 ms pause
    # live: the samples start later in the recording (the context read before the window)
    live = lead_between(
        samples[16000:], window(1000, 4000), window(4300, 7000), "hello there", samples_at=32000
    )
    assert np.array_equal(live.samples, lead.samples)


def test_no_lead_after_a_long_pause_without_text_or_without_the_audio():
    samples = np.zeros(30 * 16000, dtype=np.float32)
    assert lead_between(samples, window(0, 3000), window(3000 + LEAD_MAX_GAP_MS + 20, 6000), "hi") is None
    assert lead_between(samples, window(0, 3000), window(3200, 6000), "") is None
    assert lead_between(samples, None, window(3200, 6000), "hi") is None
    assert lead_between(samples, window(0, 3000), window(3200, 6000), "hi", samples_at=32) is None


def test_a_forced_prefix_is_left_out_of_what_the_engine_returns():
    assert strip_prefix(" Made  famous. To foreigners", "Made famous.") == "To foreigners"
    assert strip_prefix("Something else", "Made famous.") is None


@pytest.fixture(scope="module")
def fleurs_002(speech_dir):
    samples, _ = read_wav(speech_dir / "fleurs_en_002.wav")
    first, second = cut_windows(samples)  # the cutter's own cut, at the pause after "made famous"
    assert 5500 <= first.end_ms <= 6500
    return samples, first, second


def _span(samples, w):
    return samples[w.byte_offset // 2 : (w.byte_offset + w.byte_length) // 2]


@pytest.mark.slow
@pytest.mark.parametrize("engine_fixture", ["faster_engine", "openai_engine"])
def test_engines_return_only_the_words_after_the_prefix(request, engine_fixture, fleurs_002):
    engine = request.getfixturevalue(engine_fixture)
    samples, first, second = fleurs_002
    prefix = "To the north and within easy reach is the romantic and fascinating town of Sintra"
    joined = samples[first.byte_offset // 2 : (second.byte_offset + second.byte_length) // 2]
    segments = engine.transcribe(joined, language="en", beam_size=1, prefix=prefix)
    text = normalized(" ".join(s.text for s in segments))
    assert "north" not in text
    assert "sintra" not in text
    assert text.startswith("and which was made famous")
    assert text.endswith("lord byron")


@pytest.mark.slow
def test_a_continuation_decoded_with_its_lead_keeps_the_context(fleurs_002, faster_engine):
    samples, first, second = fleurs_002
    head = transcribe_samples(_span(samples, first), start_ms=first.start_ms, engine=faster_engine)
    alone = transcribe_samples(_span(samples, second), start_ms=second.start_ms, engine=faster_engine)
    led = transcribe_samples(
        _span(samples, second),
        start_ms=second.start_ms,
        engine=faster_engine,
        lead=lead_between(samples, first, second, head.text),
    )
    assert "made famous" in normalized(head.text)
    assert word_error_rate(SECOND_HALF, led.text) < word_error_rate(SECOND_HALF, alone.text)
    assert normalized(led.text).split()[:6] == ["to", "foreigners", "after", "a", "glowing", "account"]
    assert "sintra" not in normalized(led.text)  # the lead's words are not repeated
    assert (led.start_ms, led.end_ms) == (alone.start_ms, alone.end_ms)  # times are the window's


@pytest.mark.slow
@pytest.mark.django_db
def test_live_window_uses_the_previous_final_window_of_the_same_recording(
    settings, tmp_path, meeting, fleurs_002, faster_engine
):
    settings.MEDIA_ROOT = tmp_path
    samples, first, second = fleurs_002
    stream = StreamFactory(meeting=meeting)
    recording = make_recording(tmp_path, meeting, ParticipantFactory(meeting=meeting), samples)
    spec = spec_for(recording, stream, byte_offset=second.byte_offset, byte_length=second.byte_length)
    head = audio_window_create(
        spec=spec_for(recording, stream, byte_offset=first.byte_offset, byte_length=first.byte_length)
    )
    # The first window is still pending: the second is decoded on its own.
    tail = audio_window_create(spec=spec)
    assert audio_window_transcribe(window_id=tail.pk) == AudioWindow.Status.DONE
    alone = TranscriptSegment.objects.get(source_key=tail.source_key).text
    assert audio_window_transcribe(window_id=head.pk) == AudioWindow.Status.DONE
    # The same range again, now after its predecessor is done: decoded with the lead.
    AudioWindow.objects.filter(pk=tail.pk).update(status=AudioWindow.Status.PENDING)
    assert audio_window_transcribe(window_id=tail.pk) == AudioWindow.Status.DONE
    led = TranscriptSegment.objects.get(source_key=tail.source_key).text
    assert word_error_rate(SECOND_HALF, led) < word_error_rate(SECOND_HALF, alone)
    assert "made famous" not in normalized(led)


@pytest.mark.slow
@pytest.mark.django_db
def test_retranscription_decodes_each_continuation_with_its_lead(
    settings, tmp_path, meeting, fleurs_002, faster_engine
):
    from transcription.retranscribe import recording_retranscribe

    settings.MEDIA_ROOT = tmp_path
    samples, _first, second = fleurs_002
    make_recording(tmp_path, meeting, ParticipantFactory(meeting=meeting), samples)
    alone = transcribe_samples(_span(samples, second), start_ms=second.start_ms, engine=faster_engine)
    result = recording_retranscribe(meeting_id=meeting.pk, engine=faster_engine)
    assert result.segments == 2
    head, tail = TranscriptSegment.objects.filter(meeting=meeting).order_by("start_ms")
    assert "made famous" in normalized(head.text)
    assert word_error_rate(SECOND_HALF, tail.text) < word_error_rate(SECOND_HALF, alone.text)
