"""Trains the generator: corpus preparation, the training recipe (`TrainConfig`), the loop, and saving.

`odordiff train generator` and `scripts/train_generator.py` run this; the runtime only loads what it writes
(`odordiff_core.generator.load_generator`). `CorpusConfig` and `TrainConfig` defaults are the recipe of the
shipped weights (`weights/generator/config.json`, `record.data` and `record.train`): the CLI and the script
change a value only when the user passes it.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..chem import Mol
from ..config import Settings
from ..errors import InvalidInput
from ..generator import FORMAT, condition_vector
from ..model import Denoiser, ModelConfig
from ..schedule import Schedule, get_schedule
from ..tokens import Vocab
from .loss import masked_diffusion_loss

# ----------------------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class CorpusConfig:
    """How the tokenised training set is built; the defaults built the shipped weights' data."""

    max_len: int = 40  # SELFIES tokens per molecule: covers odorant-sized molecules (<= 25 heavy atoms), fast sampling
    n_aug: int = 8  # randomized SMILES per molecule
    holdout_frac: float = 0.10  # labelled molecules kept out of all training (for `odordiff evaluate generator`)
    val_frac: float = 0.05  # of the rest: the held-out loss for early stopping
    seed: int = 0
    max_molecules: int | None = None  # keep only the first that many (labelled first): the tiny test checkpoint


def prepare_corpus(settings: Settings, out_file: Path, cfg: CorpusConfig = CorpusConfig()) -> dict:
    """Builds the tokenised training set and writes it to out_file (a torch file needing only torch to read).

    Molecules: GS-LF + Pyrfume corpus + IFRA glossary molecules, stereo removed, deduplicated by connectivity
    key (first InChIKey block). holdout_frac of the labelled GS-LF molecules (fixed seed) are kept out of all
    training for evaluation; val_frac of the remaining molecules give the held-out loss for early stopping.
    Each molecule appears as n_aug randomized SMILES -> SELFIES. Returns the summary written with the data.
    """
    from rdkit import Chem

    from ..chem import canonical_smiles, connectivity_key, inchikey, to_mol
    from ..datasets import GENERATOR_CORPUS_FILES, load_labelled, read_frame
    from ..tokens import build_vocab, random_smiles, to_selfies

    lab = load_labelled(settings)  # GENERATOR_CORPUS_FILES[0]
    keys: dict[str, int] = {}  # connectivity key -> molecule index
    mols: list[Mol] = []
    label_rows: list[int] = []  # label_rows[i] = row of lab.Y or -1
    for j, m in enumerate(lab.mols):
        k = connectivity_key(m)
        if k and k not in keys:
            keys[k] = len(mols)
            mols.append(m)
            label_rows.append(j)
    n_labelled = len(mols)
    for name in GENERATOR_CORPUS_FILES[1:]:
        df = read_frame(name, settings)
        for s in df["IsomericSMILES"].astype(str):
            mol = to_mol(s)
            if mol is None or len(Chem.GetMolFrags(mol)) != 1:  # salts and mixtures are not odorant structures
                continue
            k = connectivity_key(mol)
            if k and k not in keys:
                keys[k] = len(mols)
                mols.append(mol)
                label_rows.append(-1)
    if cfg.max_molecules is not None:
        mols, label_rows = mols[:cfg.max_molecules], label_rows[:cfg.max_molecules]
        n_labelled = min(n_labelled, cfg.max_molecules)
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(n_labelled)
    heldout = set(perm[: int(round(cfg.holdout_frac * n_labelled))].tolist())
    rest = [i for i in range(len(mols)) if i not in heldout]
    val = set(rng.choice(rest, size=int(round(cfg.val_frac * len(rest))), replace=False).tolist())

    seqs: dict[int, list[str]] = {}
    for i in rest:
        sf_list = [to_selfies(s) for s in random_smiles(mols[i], cfg.n_aug, seed=cfg.seed + i)]
        seqs[i] = [s for s in sf_list if s]
    vocab = build_vocab([s for v in seqs.values() for s in v])
    xs: list[list[int]] = []
    ys: list[int] = []
    split: list[int] = []
    n_too_long = 0
    for i in rest:
        enc = [e for e in (vocab.encode(s, cfg.max_len) for s in seqs[i]) if e is not None]
        n_too_long += not enc
        xs += enc
        ys += [label_rows[i]] * len(enc)
        split += [1 if i in val else 0] * len(enc)

    heldout_ids = [{"smiles": lab.smiles[label_rows[i]], "inchikey": inchikey(mols[i])} for i in sorted(heldout)]
    summary = {"n_molecules": len(mols), "n_labelled": n_labelled, "n_heldout": len(heldout), "n_val": len(val),
               "n_too_long": n_too_long, "n_sequences": len(xs), "max_len": cfg.max_len, "n_aug": cfg.n_aug,
               "seed": cfg.seed, "files": list(GENERATOR_CORPUS_FILES)}
    data = {"x": torch.tensor(xs, dtype=torch.uint8 if vocab.size < 256 else torch.int16),
            "y_row": torch.tensor(ys, dtype=torch.int32), "val": torch.tensor(split, dtype=torch.bool),
            "Y": torch.from_numpy(condition_vector(lab.Y)), "labels": list(lab.labels), "vocab": list(vocab.tokens),
            "heldout": heldout_ids, "summary": summary,
            "train_smiles": [canonical_smiles(mols[i]) for i in rest]}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, out_file)
    return summary


# ----------------------------------------------------------------------------------------------------------
# training


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. Defaults: the run that trained the shipped weights (config.json `record.train`).

    That run used one CUDA GPU with bf16 autocast for 4.5 min; on a CPU pass device="cpu", bf16=False and a
    larger max_minutes (or a smaller model): the defaults are not a CPU recipe.
    """

    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 8
    dropout: float = 0.1
    schedule: str = "loglinear"
    batch_size: int = 512
    lr: float = 1.5e-3  # peak AdamW learning rate, cosine-decayed to lr/10
    warmup_steps: int = 300
    weight_decay: float = 0.01
    max_steps: int = 40000
    max_minutes: float = 6.3  # wall-clock budget; training stops (and keeps the best weights) when spent
    cond_dropout: float = 0.15  # share of labelled molecules trained with the null condition (for guidance)
    eval_every: int = 500  # steps between held-out loss evaluations and checkpoints
    patience: int = 10  # evaluations without a better held-out loss before stopping early
    eval_sequences: int = 0  # held-out sequences per evaluation, evenly strided (0 = all; CPU: 1024 keeps it short)
    seed: int = 0
    device: str = "cuda"  # "cpu" or "cuda"
    bf16: bool = True  # bf16 autocast
    machine: str = "unknown"  # recorded in config.json (which machine trained the weights)
    extra: dict = field(default_factory=dict)


def _batches(n: int, batch: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - batch + 1, batch):
            yield perm[i:i + batch]


def train(data_file: Path, out_dir: Path, cfg: TrainConfig, *, resume: bool = True,
          log: Callable[[str], object] = print) -> dict:
    """Trains the generator from a prepared data file; writes checkpoints and the best weights into out_dir.

    Resumable: `out_dir/train_state.pt` holds model, optimizer and step. Logs train/held-out loss.
    Stops at max_steps, max_minutes or when the held-out loss has not improved for `patience` evaluations.
    Returns the training record also written into config.json. Raises InvalidInput when cfg.device is
    "cuda" and no CUDA device is available.
    """
    dev = torch.device(cfg.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInput(f"device is {cfg.device!r} (the shipped recipe) but no CUDA device is available; train on "
                           f"the CPU with device cpu and bf16 off (CLI: --device cpu --no-bf16; script: "
                           f"--device=cpu --bf16=False), with a larger time budget.")
    data = torch.load(data_file, weights_only=True)  # plain tensors, lists, dicts of str/int/float: no pickle code
    vocab = Vocab(tuple(data["vocab"]))
    x_all = data["x"].long()  # (M, L)
    y_row = data["y_row"].long()  # (M,)
    Y = data["Y"]  # (N_lab, 138)
    is_val = data["val"]
    mcfg = ModelConfig(vocab_size=vocab.size, max_len=x_all.shape[1], n_cond=Y.shape[1], d_model=cfg.d_model,
                       n_layers=cfg.n_layers, n_heads=cfg.n_heads, dropout=cfg.dropout)
    torch.manual_seed(cfg.seed)  # parameter init only; a training run is a script, not a shared service
    model = Denoiser(mcfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    schedule = get_schedule(cfg.schedule)
    x_tr, y_tr = x_all[~is_val].to(dev), y_row[~is_val].to(dev)
    x_va, y_va = x_all[is_val].to(dev), y_row[is_val].to(dev)
    x_va, y_va = strided(x_va, y_va, cfg.eval_sequences)
    Y = Y.to(dev)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_file = out_dir / "train_state.pt"
    step, best, bad, elapsed, history = 0, math.inf, 0, 0.0, []
    if resume and state_file.is_file():
        st = torch.load(state_file, map_location=dev, weights_only=True)  # state dicts, numbers, list of dicts
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, best, bad, elapsed, history = st["step"], st["best"], st["bad"], st["elapsed"], st["history"]
        log(f"resumed at step {step} (best held-out loss {best:.4f})")
    log(f"model {model.n_params() / 1e6:.2f}M params; {len(x_tr)} train / {len(x_va)} held-out sequences; "
        f"vocab {vocab.size}, max_len {mcfg.max_len}, device {dev}")
    gen = torch.Generator("cpu").manual_seed(cfg.seed + step)
    batches = _batches(len(x_tr), cfg.batch_size, gen)
    total_steps = cfg.max_steps

    def heldout_loss() -> float:
        return heldout_loss_of(model, x_va, y_va, Y, schedule, bf16=cfg.bf16, batch=1024)

    t0 = time.time() - elapsed
    model.train()
    while step < total_steps:
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps)
        lr *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total_steps)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        idx = next(batches).to(dev)
        cond, keep = condition_of(Y, y_tr[idx], cfg.cond_dropout, gen)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            loss = masked_diffusion_loss(model, x_tr[idx], cond, keep, schedule)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % cfg.eval_every == 0 or step == total_steps:
            val = heldout_loss()
            minutes = (time.time() - t0) / 60
            history.append({"step": step, "train_loss": float(loss.detach()), "heldout_loss": val, "minutes": round(minutes, 2)})
            improved = val < best
            if improved:
                best, bad = val, 0
                save(out_dir, model, vocab, data["labels"], schedule, data["heldout"], record={})
            else:
                bad += 1
            log(f"step {step:6d}  loss {float(loss.detach()):.4f}  held-out {val:.4f}{' *' if improved else ''}  "
                f"lr {lr:.2e}  {minutes:.1f} min")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best, "bad": bad,
                        "elapsed": time.time() - t0, "history": history}, state_file)
            if bad >= cfg.patience:
                log(f"early stop: held-out loss has not improved for {bad} evaluations")
                break
            if minutes >= cfg.max_minutes:
                log(f"time budget of {cfg.max_minutes} min spent")
                break
    record = {"steps": step, "best_heldout_loss": best, "minutes": round((time.time() - t0) / 60, 2),
              "machine": cfg.machine, "n_params": model.n_params(), "train": cfg.__dict__,
              "data": data["summary"], "history": history}
    _update_record(out_dir, record)
    return record


def strided(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns n evenly strided rows of x and y (all of them when n is 0 or not smaller): the held-out subset."""
    if n and len(x) > n:
        stride = len(x) // n
        return x[::stride][:n], y[::stride][:n]
    return x, y


def condition_of(Y: torch.Tensor, rows: torch.Tensor, drop: float,
                 gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (condition (B, 138), keep (B,)) for label rows (-1 = unlabelled: the null condition); with drop > 0
    that share of the rows also gets the null condition (condition dropout, drawn from the CPU generator gen)."""
    keep = rows >= 0
    if drop > 0:
        keep &= torch.rand(rows.shape, generator=gen).to(rows.device) >= drop
    return Y[rows.clamp_min(0)], keep


def heldout_loss_of(model: Denoiser, x: torch.Tensor, y: torch.Tensor, Y: torch.Tensor, schedule: Schedule, *,
                    bf16: bool, batch: int) -> float:
    """Returns the mean NELBO of held-out sequences x with label rows y, in eval mode, with a fixed noise draw
    (seed 1234; the draw depends on `batch`); leaves the model in train mode."""
    model.eval()
    dev = x.device
    g = torch.Generator(dev).manual_seed(1234)
    tot = 0.0
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x), batch):
            xb, rb = x[i:i + batch], y[i:i + batch]
            cond, keep = condition_of(Y, rb, 0.0, None)
            tot += float(masked_diffusion_loss(model, xb, cond, keep, schedule, g)) * len(xb)
    model.train()
    return tot / max(len(x), 1)


# ----------------------------------------------------------------------------------------------------------
# checkpoint


def save(out_dir: Path, model: Denoiser, vocab: Vocab, labels: list[str], schedule: Schedule,
         heldout: list[dict], record: dict) -> None:
    """Writes model.safetensors (float32, CPU), config.json and heldout.json into out_dir (what load_generator reads)."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, out_dir / "model.safetensors")
    (out_dir / "model.safetensors").chmod(0o644)  # safetensors writes 0600; the weights ship in git
    cfg = {"format": FORMAT, "model": model.cfg.to_dict(), "vocab": list(vocab.tokens), "vocab_digest": vocab.digest(),
           "schedule": schedule.name, "labels": list(labels), "condition": "label weights scaled to sum 1",
           "record": record}
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=1))
    (out_dir / "heldout.json").write_text(json.dumps(heldout))


def _update_record(out_dir: Path, record: dict) -> None:
    f = out_dir / "config.json"
    if f.is_file():
        cfg = json.loads(f.read_text())
        cfg["record"] = record
        f.write_text(json.dumps(cfg, indent=1))
