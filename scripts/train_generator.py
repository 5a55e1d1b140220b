"""Train the OdorDiff generator (masked discrete diffusion over SELFIES). nanoGPT-style: every setting is in
the block below; override any with --key=value (the value must parse as the default's type; unknown keys
raise). Resumes from out_dir/train_state.pt when present.

The recipe (model, optimiser, budget, corpus) is not repeated here: it is `TrainConfig` and `CorpusConfig` in
odordiff_core/train/generator.py, whose defaults trained the shipped weights (one CUDA GPU, bf16, ~5 min).

    python scripts/train_generator.py --data_file=runs/gen40.pt --out_dir=<dir>     # the shipped recipe
    python scripts/train_generator.py --device=cpu --bf16=False --max_minutes=85 --d_model=192 ...   # on a CPU
"""
from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odordiff_core.train.generator import CorpusConfig, TrainConfig, prepare_corpus, train  # noqa: E402

# ---- config -------------------------------------------------------------------------------------------
data_file = "runs/generator_data.pt"  # tokenised corpus; built from the data files when missing
out_dir = "odordiff_core/weights/generator"  # checkpoint folder (model.safetensors, config.json, heldout.json)
resume = True
# every scalar field of CorpusConfig and TrainConfig, at its default (`seed` sets both)
_RECIPE = {f.name: f.default for c in (CorpusConfig, TrainConfig) for f in fields(c)
           if isinstance(f.default, (int, float, str, bool))}
# -------------------------------------------------------------------------------------------------------


def _override(cfg: dict, argv: list[str]) -> dict:
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"expected --key=value, got {arg!r}")
        key, val = arg[2:].split("=", 1)
        if key not in cfg:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(cfg))}")
        typ = type(cfg[key])
        cfg[key] = (val.lower() in ("1", "true", "yes")) if typ is bool else typ(val)
    return cfg


def main(argv: list[str]) -> None:
    cfg = _override({"data_file": data_file, "out_dir": out_dir, "resume": resume, **_RECIPE}, argv)
    data = Path(cfg["data_file"])
    if not data.is_file():
        from odordiff_core.config import Settings

        ccfg = CorpusConfig(**{f.name: cfg[f.name] for f in fields(CorpusConfig) if f.name in cfg})
        print("preparing", data, prepare_corpus(Settings.from_env(), data, ccfg), flush=True)
    tcfg = TrainConfig(**{f.name: cfg[f.name] for f in fields(TrainConfig) if f.name in cfg})
    record = train(data, Path(cfg["out_dir"]), tcfg, resume=cfg["resume"], log=lambda s: print(s, flush=True))
    print(f"done: {record['steps']} steps, best held-out loss {record['best_heldout_loss']:.4f}, {record['minutes']} min")


if __name__ == "__main__":
    main(sys.argv[1:])
