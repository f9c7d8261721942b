"""What made the AMI excerpt's 4-stream WER 38 %: Whisper loops and headset bleed (real model)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from transcription.audio import read_wav
from transcription.cutter import PEAK_CONTEXT_MS
from transcription.guards import is_repetition
from transcription.levels import suppress_crosstalk
from transcription.service import transcribe_samples

from .conftest import word_error_rate


def test_a_long_phrase_looping_three_times_is_a_hallucination():
    # Whisper's output for a cross-talk window of the AMI excerpt (MEE014's headset, 12-16 s).
    looped = (
        "Okay, so we're going to go for some seconds, so we're going to go for some seconds, "
        "so we're going to go for some seconds."
    )
    assert is_repetition(looped)
    assert is_repetition("Thank you. Thank you. Thank you.")


def test_repeats_inside_real_speech_are_kept():
    assert not is_repetition("Yeah, yeah, yeah, I agree with that.")
    assert not is_repetition("With menus, yeah, yeah.")
    assert not is_repetition("it doesn't make when you pick it up it doesn't make it really complicated")


@pytest.fixture(scope="module")
def ami(speech_dir) -> list[np.ndarray]:
    return [read_wav(speech_dir / "ami_meeting_excerpt" / f"source{i}.wav")[0] for i in range(4)]


def window_of(tracks: list[np.ndarray], index: int, start_s: float, end_s: float):
    lo, hi = int(start_s * 16000), int(end_s * 16000)
    others = [t[lo:hi] for j, t in enumerate(tracks) if j != index]
    context = tracks[index][max(0, hi - PEAK_CONTEXT_MS * 16) : hi]
    return tracks[index][lo:hi], others, context


def test_bleed_in_a_quiet_headset_is_not_transcribed_but_its_owner_is(ami, faster_engine):
    # 45-50 s: MEO015 (source0) talks; FEE013's headset (source1) picks him up ~30 dB below
    # FEE013's own voice. Normalizing that window's gain made Whisper write "I think it's" for her.
    bleed, others, context = window_of(ami, 1, 44.96, 50.24)
    assert suppress_crosstalk(bleed, others).own_speech_ms >= 500  # the cross-talk check lets it by
    assert (
        transcribe_samples(bleed, start_ms=44_960, others=others, engine=faster_engine, context=context)
        is None
    )
    own, others, context = window_of(ami, 1, 8.84, 15.49)
    result = transcribe_samples(own, start_ms=8_840, others=others, engine=faster_engine, context=context)
    assert result is not None
    assert "main things on the front" in result.text.lower()


def test_the_transcription_queue_runs_two_windows_at_once(settings):
    from jobs import inprocess

    assert settings.WHISPER_WORKERS == 2
    both = threading.Barrier(2)
    futures = [inprocess._executor("transcription").submit(both.wait, 20) for _ in range(2)]
    assert all(f.result(timeout=30) in (0, 1) for f in futures)  # a single thread would time out
    inprocess.drain(timeout=30)


def test_two_threads_transcribe_with_the_shared_faster_whisper_engine(faster_engine, jfk):
    samples, reference = jfk
    texts: list[str] = []

    def work() -> None:
        segments = faster_engine.transcribe(samples, language="en", beam_size=5)
        texts.append(" ".join(s.text for s in segments))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(texts) == 2
    assert [word_error_rate(reference, t) for t in texts] == [0.0, 0.0]
