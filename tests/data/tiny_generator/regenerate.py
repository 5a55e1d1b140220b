"""Rebuilds the tiny generator checkpoint used by the unit tests (~30 s on 2 CPU cores).

    .venv/bin/python tests/data/tiny_generator/regenerate.py

A 2-layer, d=32 model trained for 150 steps on 600 labelled molecules: it produces valid (SELFIES)
but chemically poor molecules, which is all the tests need; the golden test uses the shipped model.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from odordiff_core.config import Settings  # noqa: E402
from odordiff_core.train.generator import CorpusConfig, TrainConfig, prepare_corpus, train  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    data = Path(tmp) / "tiny.pt"
    print(prepare_corpus(Settings.from_env(), data, CorpusConfig(max_len=40, n_aug=2, max_molecules=600)))
    cfg = TrainConfig(d_model=32, n_layers=2, n_heads=4, dropout=0.0, batch_size=64, lr=3e-3, warmup_steps=20,
                      max_steps=150, max_minutes=85.0, eval_every=50, patience=100, device="cpu", bf16=False,
                      machine="2-core CPU (test fixture)")
    train(data, HERE, cfg, resume=False)
(HERE / "train_state.pt").unlink(missing_ok=True)
