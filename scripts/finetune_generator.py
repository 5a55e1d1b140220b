"""Rejection-sampling fine-tuning of the generator (odordiff_core/train/rsft.py): one round from the generator in
ODORDIFF_GENERATOR_DIR (default: the shipped one) into out_dir. nanoGPT-style: override any setting of `RsftConfig`
with --key=value. The kept samples are written to <out_dir>/kept.jsonl and read back when the run is restarted.

    python scripts/finetune_generator.py --out_dir=runs/rsft/r1 --machine="2-core Xeon (AMX), CPU"
Then evaluate with ODORDIFF_GENERATOR_DIR=runs/rsft/r1 odordiff evaluate generator, and copy the folder's
model.safetensors, config.json and heldout.json into odordiff_core/weights/generator to ship it.
"""
from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odordiff_core.train.rsft import RsftConfig, run_round  # noqa: E402

# ---- config -------------------------------------------------------------------------------------------
data_file = "runs/generator_data.pt"  # the tokenised corpus of scripts/train_generator.py (built when missing)
out_dir = "runs/rsft/r1"
_RECIPE = {f.name: f.default for f in fields(RsftConfig)}
# -------------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    from train_generator import _override  # the same --key=value parsing as the training script

    from odordiff_core.config import Settings

    cfg = _override({"data_file": data_file, "out_dir": out_dir, **_RECIPE}, argv)
    data, out = Path(cfg["data_file"]), Path(cfg["out_dir"])
    settings = Settings.from_env()
    if not data.is_file():
        from odordiff_core.train.generator import prepare_corpus

        print("preparing", data, prepare_corpus(settings, data), flush=True)
    rcfg = RsftConfig(**{f.name: cfg[f.name] for f in fields(RsftConfig)})
    rec = run_round(settings, data, out, rcfg, kept_file=out / "kept.jsonl", log=lambda s: print(s, flush=True))
    print(f"done: {rec['rsft']['steps_done']} steps, {rec['rsft']['minutes']} min, {rec['kept']['n']} kept samples")


if __name__ == "__main__":
    main(sys.argv[1:])
