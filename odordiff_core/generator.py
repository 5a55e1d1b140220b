"""The trained generator's checkpoint: loads `model.safetensors` + `config.json` into a `Generator`.

A checkpoint folder holds `model.safetensors` (float32 weights), `config.json` (version, ModelConfig,
vocabulary and its digest, schedule, the 138 labels, training record) and `heldout.json` (the 10% of
labelled molecules kept out of training, for `odordiff evaluate generator`). The loader refuses a folder
whose vocabulary or labels do not match what the weights were trained with. Corpus preparation, training
and saving live in `odordiff_core.train.generator`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelNotFound
from .model import Denoiser, ModelConfig
from .schedule import Schedule, get_schedule
from .tokens import Vocab

FORMAT = "odordiff-generator-1"  # bump when the checkpoint layout changes


def condition_vector(weights: np.ndarray) -> np.ndarray:
    """Returns the model's condition for label weights (..., 138): weights scaled to sum 1 (zeros stay zeros).

    Training uses a molecule's 0/1 labels, inference the interpreter's 0..1 weights; scaling both to sum 1
    makes the condition express the relative mix of descriptors, which is what both share.
    """
    w = np.clip(np.asarray(weights, dtype=np.float32), 0.0, None)
    s = w.sum(axis=-1, keepdims=True)
    return np.divide(w, s, out=np.zeros_like(w), where=s > 0)


@dataclass(frozen=True)
class Generator:
    """A loaded generator: the denoiser (eval mode, never mutated), its vocabulary and schedule."""

    model: Denoiser
    vocab: Vocab
    schedule: Schedule
    labels: tuple[str, ...]  # the 138 GS-LF labels the condition vector is ordered by
    version: str  # "generator-<format>+<weights sha256[:10]>"
    config: dict  # the whole config.json
    path: Path

    def heldout(self) -> list[dict]:
        """Returns the held-out labelled molecules ({smiles, inchikey}) never seen in training."""
        f = self.path / "heldout.json"
        return json.loads(f.read_text()) if f.is_file() else []


def load_generator(path: Path) -> Generator:
    """Returns the generator in a checkpoint folder, on CPU in eval mode.

    Raises ModelNotFound when the files are missing or the config does not match the weights.
    """
    from safetensors.torch import load_file

    path = Path(path)
    wfile, cfile = path / "model.safetensors", path / "config.json"
    if not wfile.is_file() or not cfile.is_file():
        raise ModelNotFound(f"No generator checkpoint at {path} (need model.safetensors and config.json). "
                            f"Run `odordiff train generator`, or set ODORDIFF_WEIGHTS_DIR to a folder holding generator/.")
    cfg = json.loads(cfile.read_text())
    vocab = Vocab(tuple(cfg["vocab"]))
    if cfg.get("format") != FORMAT or vocab.digest() != cfg.get("vocab_digest"):
        raise ModelNotFound(f"Generator checkpoint at {path} has format {cfg.get('format')!r} / vocab digest "
                            f"{cfg.get('vocab_digest')!r}; this code reads {FORMAT!r} with digest {vocab.digest()!r}. "
                            f"Retrain with `odordiff train generator`.")
    mcfg = ModelConfig(**cfg["model"])
    if mcfg.vocab_size != vocab.size or mcfg.n_cond != len(cfg["labels"]):
        raise ModelNotFound(f"Generator config at {path} does not match its vocab ({vocab.size}) or labels "
                            f"({len(cfg['labels'])}). Retrain with `odordiff train generator`.")
    model = Denoiser(mcfg)
    try:
        model.load_state_dict(load_file(wfile))
    except RuntimeError as exc:
        raise ModelNotFound(f"Weights in {wfile} do not fit the config ({exc}). Retrain with "
                            f"`odordiff train generator`.") from None
    model.eval()
    digest = hashlib.sha256(wfile.read_bytes()).hexdigest()[:10]
    return Generator(model, vocab, get_schedule(cfg["schedule"]), tuple(cfg["labels"]),
                     f"generator-1.0+{digest}", cfg, path)
