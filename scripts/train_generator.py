"""Train the OdorDiff generator (masked discrete diffusion over SELFIES). nanoGPT-style: every setting is in
the block below; override any with --key=value (the value must parse as the default's type; unknown keys
raise). Resumes from out_dir/train_state.pt when present.

    python scripts/train_generator.py                                  # CPU defaults (~85 min on 2 cores)
    python scripts/train_generator.py --device=cuda --bf16=True --batch_size=512 --d_model=256 ...
"""
from __future__ import annotations

import sys
from pathlib import Path

# ---- config -------------------------------------------------------------------------------------------
data_file = "runs/generator_data.pt"  # tokenised corpus; built from the data files when missing
out_dir = "odordiff_core/weights/generator"  # checkpoint folder (model.safetensors, config.json, heldout.json)
max_len = 40  # SELFIES tokens per molecule: covers odorant-sized molecules (<= 25 heavy atoms) and keeps sampling fast
n_aug = 8  # randomized SMILES per molecule
d_model = 192  # CPU default: a ~1.9M model trains usefully on 2 cores in ~85 min
n_layers = 4
n_heads = 6
dropout = 0.1
schedule = "loglinear"
batch_size = 128
lr = 1e-3
warmup_steps = 200
max_steps = 6000
max_minutes = 85.0  # wall-clock budget
cond_dropout = 0.15  # null-condition share of labelled molecules (classifier-free guidance)
eval_every = 200
patience = 8
eval_sequences = 1024  # held-out sequences per evaluation (0 = all, as in the shipped GPU run)
seed = 0
device = "cpu"
bf16 = False
machine = "2-core CPU"  # written into config.json: which machine trained the weights
resume = True
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
    cfg = _override({k: v for k, v in globals().items() if not k.startswith("_") and isinstance(v, (int, float, str, bool))}, argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from odordiff_core.generator import TrainConfig, prepare_corpus, train

    data = Path(cfg["data_file"])
    if not data.is_file():
        from odordiff_core.config import Settings

        print("preparing", data, prepare_corpus(Settings.from_env(), data, max_len=cfg["max_len"], n_aug=cfg["n_aug"],
                                                seed=cfg["seed"]), flush=True)
    fields = TrainConfig.__dataclass_fields__
    tcfg = TrainConfig(**{k: v for k, v in cfg.items() if k in fields})
    record = train(data, Path(cfg["out_dir"]), tcfg, resume=cfg["resume"], log=lambda s: print(s, flush=True))
    print(f"done: {record['steps']} steps, best held-out loss {record['best_heldout_loss']:.4f}, {record['minutes']} min")


if __name__ == "__main__":
    main(sys.argv[1:])
