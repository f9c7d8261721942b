"""WindowCutter and LiveTranscriber on real audio (no model: pure numpy)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from streams.rtms.protocol import FRAME_BYTES
from transcription.audio import BYTES_PER_MS, float32_to_pcm16, read_wav
from transcription.cutter import WindowCutter
from transcription.levels import frame_dbfs
from transcription.live import LiveTranscriber


def feed_all(cutter: WindowCutter, pcm: bytes, *, start_ms: int = 0, chunk: int = FRAME_BYTES):
    windows = []
    for offset in range(0, len(pcm), chunk):
        windows += cutter.feed(
            pcm[offset : offset + chunk], byte_offset=offset, start_ms=start_ms + offset // 32
        )
    return windows + cutter.flush()


@pytest.fixture(scope="module")
def tts_a(speech_dir):
    samples, _ = read_wav(speech_dir / "tts_meeting" / "meeting_spkA.wav")
    turns = json.loads((speech_dir / "tts_meeting" / "meeting.json").read_text())["turns"]
    return samples, [t for t in turns if t["speaker"] == "A"]


def test_windows_are_cut_at_pauses_and_cover_every_turn(tts_a):
    samples, turns = tts_a
    windows = feed_all(WindowCutter(), float32_to_pcm16(samples))
    finals = [w for w in windows if w.is_final]
    assert finals
    for window in finals:
        assert window.end_ms - window.start_ms <= 10_000
        assert window.byte_length == (window.end_ms - window.start_ms) * BYTES_PER_MS
        # The cut is in a pause: the 100 ms around the end are quiet compared with speech.
        end = window.end_ms * 16
        assert frame_dbfs(samples[max(0, end - 800) : end + 800]).max() < -45
    # Every loud (speech) frame of the speaker is inside some final window.
    levels = frame_dbfs(samples)
    covered = np.zeros(levels.size, dtype=bool)
    for w in finals:
        covered[w.start_ms // 20 : w.end_ms // 20] = True
    speech = levels > -45
    assert speech.sum() > 1000
    assert not (speech & ~covered).any()
    for turn in turns:  # and each turn overlaps a window
        assert [w for w in finals if w.start_ms < turn["end"] * 1000 and w.end_ms > turn["start"] * 1000]
    # No window for the long silences while the other participant talks.
    gaps = [(int(a["end"] * 1000) + 400, int(b["start"] * 1000) - 400) for a, b in itertools.pairwise(turns)]
    for lo, hi in gaps:
        assert not [w for w in finals if w.start_ms > lo and w.end_ms < hi]


def test_partials_come_while_speaking_then_the_final_of_the_same_window(tts_a):
    samples, _ = tts_a
    windows = feed_all(WindowCutter(partial_every_ms=1000), float32_to_pcm16(samples))
    partials = [w for w in windows if not w.is_final]
    assert partials
    for partial in partials:
        later = windows[windows.index(partial) + 1 :]
        final = next(w for w in later if w.is_final)
        assert final.byte_offset == partial.byte_offset  # same window: the final supersedes it
        assert final.byte_length >= partial.byte_length


def test_the_first_partial_comes_early_then_one_every_partial_every_ms(jfk):
    samples, _ = jfk
    windows = feed_all(WindowCutter(), float32_to_pcm16(samples))
    first_window = [w for w in windows if w.byte_offset == windows[0].byte_offset]
    partials = [w for w in first_window if not w.is_final and not w.is_tentative]
    assert len(partials) >= 2
    assert partials[0].end_ms - partials[0].start_ms <= 1_240  # 1.2 s after the window opened
    assert 2_400 <= partials[1].end_ms - partials[0].end_ms <= 2_600


def test_continuous_speech_is_cut_at_most_every_ten_seconds(jfk):
    samples, _ = jfk
    long_speech = np.concatenate([samples] * 3)  # 33 s; JFK's pauses are short
    windows = [
        w for w in feed_all(WindowCutter(min_pause_ms=2000), float32_to_pcm16(long_speech)) if w.is_final
    ]
    assert len(windows) >= 4
    assert all(w.end_ms - w.start_ms <= 10_000 for w in windows)
    # Consecutive windows of the forced cuts touch: no audio is lost between them.
    for a, b in itertools.pairwise(windows):
        assert b.byte_offset >= a.byte_offset + a.byte_length


def test_silence_and_a_click_make_no_window():
    silence = np.zeros(16000 * 3, dtype=np.float32)
    silence[16000:16100] = 0.8  # a 6 ms click
    assert feed_all(WindowCutter(), float32_to_pcm16(silence)) == []


def test_a_gap_in_the_stream_closes_the_open_window(jfk):
    samples, _ = jfk
    pcm = float32_to_pcm16(samples[: 16000 * 2])
    cutter = WindowCutter()
    windows = []
    for offset in range(0, len(pcm), FRAME_BYTES):
        windows += cutter.feed(pcm[offset : offset + FRAME_BYTES], byte_offset=offset, start_ms=offset // 32)
    assert cutter.in_speech
    # The next frame arrives 5 s later (in meeting time) but right after in the file.
    windows += cutter.feed(pcm[:FRAME_BYTES], byte_offset=len(pcm), start_ms=7000)
    assert [w.is_final for w in windows][-1] is True
    assert windows[-1].end_ms <= 2000


def test_meeting_time_follows_the_chunks_start_ms(jfk):
    samples, _ = jfk
    windows = feed_all(WindowCutter(), float32_to_pcm16(samples[:32000]), start_ms=60_000)
    assert windows
    assert all(w.start_ms >= 60_000 for w in windows)


# --- LiveTranscriber: when Whisper is active ---------------------------------------------------


def run_transcriber(transcriber: LiveTranscriber, pcm: bytes, *, transcript_at_ms: set[int] = frozenset()):
    specs = []
    for offset in range(0, len(pcm), FRAME_BYTES):
        ms = offset // 32
        if ms in transcript_at_ms:
            transcriber.zoom_transcript_available(True)
        specs += transcriber.feed(
            recording_id=7,
            participant_id=3,
            pcm=pcm[offset : offset + FRAME_BYTES],
            byte_offset=offset,
            start_ms=ms,
        )
    return specs + transcriber.flush()


def test_zoom_mode_never_transcribes(tts_a):
    pcm = float32_to_pcm16(tts_a[0])
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="zoom", fallback_after_s=0)
    transcriber.zoom_transcript_available(False)
    assert run_transcriber(transcriber, pcm) == []


def test_whisper_mode_transcribes_even_with_zoom_transcript(tts_a):
    pcm = float32_to_pcm16(tts_a[0])
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="whisper", fallback_after_s=8)
    specs = run_transcriber(transcriber, pcm, transcript_at_ms=set(range(0, 70_000, 1000)))
    assert specs
    assert all(s.recording_id == 7 and s.participant_id == 3 and s.meeting_id == 2 for s in specs)


def test_auto_without_transcript_media_transcribes(tts_a):
    pcm = float32_to_pcm16(tts_a[0])
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="auto", fallback_after_s=8)
    transcriber.zoom_transcript_available(False)
    specs = run_transcriber(transcriber, pcm)
    assert [s for s in specs if s.is_final]
    assert specs[0].start_ms < 500  # from the very first words


def test_auto_with_a_working_zoom_transcript_stays_quiet(tts_a):
    pcm = float32_to_pcm16(tts_a[0])
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="auto", fallback_after_s=8)
    transcriber.zoom_transcript_available(True)  # transcript media granted
    assert run_transcriber(transcriber, pcm, transcript_at_ms=set(range(0, 70_000, 3000))) == []
    assert not transcriber.active


def test_auto_falls_back_after_n_seconds_of_unanswered_speech_and_loses_nothing(tts_a):
    samples, turns = tts_a
    pcm = float32_to_pcm16(samples)
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="auto", fallback_after_s=8)
    transcriber.zoom_transcript_available(True)  # granted, but no transcript frame ever comes
    specs = run_transcriber(transcriber, pcm)
    assert transcriber.active
    assert transcriber.fallback
    finals = [s for s in specs if s.is_final]
    # The first turn (before the fallback engaged) is released from the backlog.
    assert finals[0].start_ms < turns[0]["end"] * 1000
    assert finals[-1].end_ms > turns[-1]["start"] * 1000


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="transcript mode"):
        LiveTranscriber(stream_id=1, meeting_id=2, mode="both", fallback_after_s=1)


def test_a_participant_who_stops_sending_is_closed_by_the_others_frames(jfk):
    """Zoom sends no packets for a silent participant: their pause is inferred from time."""
    speech = float32_to_pcm16(jfk[0][: 16000 * 2])  # 2 s of talk, then nothing at all
    silence = bytes(FRAME_BYTES)
    transcriber = LiveTranscriber(
        stream_id=1, meeting_id=2, mode="whisper", fallback_after_s=8, idle_wall_s=0
    )
    specs = []
    for offset in range(0, len(speech), FRAME_BYTES):
        specs += transcriber.feed(
            recording_id=1,
            participant_id=1,
            pcm=speech[offset : offset + FRAME_BYTES],
            byte_offset=offset,
            start_ms=offset // 32,
        )
    assert not [s for s in specs if s.is_final]
    closed_at = None
    for index in range(100):  # another participant's (silent) frames keep arriving
        ms = 2000 + index * 20
        out = transcriber.feed(
            recording_id=2, participant_id=2, pcm=silence, byte_offset=index * FRAME_BYTES, start_ms=ms
        )
        if [s for s in out if s.is_final and s.recording_id == 1]:
            closed_at = ms
            break
    assert closed_at is not None
    assert closed_at - 2000 <= 600


def test_batched_feeding_is_not_mistaken_for_silence(jfk):
    """The runner feeds a flush's ranges track after track: B lagging A in meeting time within
    one burst must not close B's window (the wall-clock guard)."""
    speech = float32_to_pcm16(jfk[0][: 16000 * 4])
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="whisper", fallback_after_s=8)
    finals = []
    for second in range(4):  # 1 s ranges: A's whole second, then B's
        for recording in (1, 2):
            base = second * 32000
            for offset in range(base, base + 32000, FRAME_BYTES):
                finals += [
                    s
                    for s in transcriber.feed(
                        recording_id=recording,
                        participant_id=recording,
                        pcm=speech[offset : offset + FRAME_BYTES],
                        byte_offset=offset,
                        start_ms=offset // 32,
                    )
                    if s.is_final and s.end_ms < 3000
                ]
    # JFK's first pause of >= 300 ms is after 5 s: any final here is a false close (without the
    # guard, B's window would close at every 1 s range boundary).
    assert finals == []


def lone_speaker(jfk) -> LiveTranscriber:
    """A transcriber fed 2 s of one participant's speech, who then sends nothing more."""
    speech = float32_to_pcm16(jfk[0][: 16000 * 2])
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="whisper", fallback_after_s=8)
    for offset in range(0, len(speech), FRAME_BYTES):
        transcriber.feed(
            recording_id=1,
            participant_id=1,
            pcm=speech[offset : offset + FRAME_BYTES],
            byte_offset=offset,
            start_ms=offset // 32,
        )
    return transcriber


def test_close_idle_closes_a_lone_speaker_on_the_runner_tick(jfk):
    transcriber = lone_speaker(jfk)
    assert transcriber.close_idle(2100) == []  # 100 ms of nothing is not a pause yet
    closed = transcriber.close_idle(2500)
    assert [s.is_final for s in closed] == [True]
    assert closed[0].end_ms <= 2000


def test_audio_already_answered_by_zoom_does_not_start_the_fallback(tts_a):
    """Zoom's utterances can reach the transcriber before their audio is fed: audio is fed in
    flush batches, and after a media-socket drop the emulator/Zoom replays buffered audio while the
    transcript socket kept delivering. Speech before the latest utterance's end (``until_ms``)
    is answered and must not start the fallback timer (it did: Whisper ran beside Zoom's
    transcript in the planning meeting)."""
    samples, turns = tts_a
    pcm = float32_to_pcm16(samples)
    transcriber = LiveTranscriber(stream_id=1, meeting_id=2, mode="auto", fallback_after_s=8)
    transcriber.zoom_transcript_available(True, until_ms=int(turns[-1]["end"] * 1000))
    assert run_transcriber(transcriber, pcm) == []
    assert not transcriber.fallback
    # The same audio with transcripts that end earlier is unanswered speech: the fallback engages.
    blind = LiveTranscriber(stream_id=1, meeting_id=2, mode="auto", fallback_after_s=8)
    blind.zoom_transcript_available(True, until_ms=int(turns[0]["end"] * 1000))
    assert [s for s in run_transcriber(blind, pcm) if s.is_final]
    assert blind.fallback


def test_a_tentative_final_comes_300_ms_into_the_pause_with_the_finals_range(jfk):
    speech = float32_to_pcm16(jfk[0][: 16000 * 3])
    silence = bytes(16000)  # 500 ms of digital silence
    cutter = WindowCutter()
    windows = []
    for offset in range(0, len(speech + silence), FRAME_BYTES):
        got = cutter.feed(
            (speech + silence)[offset : offset + FRAME_BYTES], byte_offset=offset, start_ms=offset // 32
        )
        windows += [(offset // 32, w) for w in got]
    tentative = [(ms, w) for ms, w in windows if w.is_tentative]
    final = [(ms, w) for ms, w in windows if w.is_final]
    assert len(tentative) == 1
    assert len(final) == 1
    (t_ms, t), (f_ms, f) = tentative[0], final[0]
    assert not t.is_final  # 200 ms earlier than the confirmed pause
    assert f_ms - t_ms == 200
    assert (t.byte_offset, t.byte_length, t.start_ms, t.end_ms) == (
        f.byte_offset,
        f.byte_length,
        f.start_ms,
        f.end_ms,
    )


def test_speech_resuming_after_a_tentative_makes_it_just_a_partial():
    rng = np.random.default_rng(1)

    def noise(ms: int, level: float) -> bytes:
        return float32_to_pcm16(rng.normal(0, level, ms * 16).astype(np.float32))

    # A quiet room, then "speech" (40 dB louder), a 400 ms pause (past the tentative, short of
    # the 500 ms pause), more speech, silence.
    pcm = noise(1000, 0.001) + noise(2000, 0.1) + noise(400, 0.001) + noise(2000, 0.1) + noise(1000, 0.001)
    windows = feed_all(WindowCutter(), pcm)
    tentatives = [w for w in windows if w.is_tentative]
    finals = [w for w in windows if w.is_final]
    assert len(finals) == 1  # one per pause; only the last one is final
    assert len(tentatives) == 2
    assert finals[0].byte_offset == tentatives[0].byte_offset
    assert tentatives[0].byte_length < finals[0].byte_length == tentatives[1].byte_length
    assert WindowCutter(early_final_ms=None).feed(pcm, byte_offset=0, start_ms=0) == [
        w
        for w in WindowCutter(early_final_ms=None).feed(pcm, byte_offset=0, start_ms=0)
        if not w.is_tentative
    ]
    with pytest.raises(ValueError, match="early_final_ms"):
        WindowCutter(early_final_ms=600)


def test_close_idle_sends_the_tentative_of_a_lone_speaker_once_then_the_final(jfk):
    transcriber = lone_speaker(jfk)
    assert transcriber.close_idle(2200) == []
    tentative = transcriber.close_idle(2300)
    assert [(s.is_final, s.is_tentative) for s in tentative] == [(False, True)]
    assert transcriber.close_idle(2400) == []  # once per range
    final = transcriber.close_idle(2500)
    assert [(s.is_final, s.is_tentative) for s in final] == [(True, False)]
    assert (final[0].byte_offset, final[0].byte_length) == (
        tentative[0].byte_offset,
        tentative[0].byte_length,
    )
