"""Training of the odor predictor: the MLP ensemble on the GS-LF set, and the weights folder it ships in.

The runtime (`odordiff_core/odor.py`) only loads what `save_predictor` writes; `odordiff train predictor`
and the cross-validation (`odordiff_core/eval/predictor.py`) call `train_ensemble`.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from .. import features
from ..chem import Mol, connectivity_key, to_mol
from ..config import PACKAGE_DATA_DIR, Settings
from ..datasets import LabelledSet, raw_label_sources, read_package_table
from ..errors import DataError, InvalidInput
from ..graph import DMPNN, MolGraph, batch_graphs
from ..odor import MLP, Neighbours, PredictorConfig, TrainedEnsemble, scale_features
from ..scores import KNOWN_SCORES_FILE


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns (mean, std) that leave fingerprint columns unchanged and standardise descriptors."""
    mu = np.zeros(X.shape[1], np.float32)
    sd = np.ones(X.shape[1], np.float32)
    mu[features.N_FINGERPRINT:] = X[:, features.N_FINGERPRINT:].mean(0)
    sd[features.N_FINGERPRINT:] = X[:, features.N_FINGERPRINT:].std(0) + 1e-3
    return mu, sd


def _fit(net: nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n: int, epochs: int, batch_size: int,
         lr: float, weight_decay: float, seed: int, fused: bool) -> None:
    """Trains `net` in place: AdamW, one-cycle learning rate peaking at lr, `epochs` passes over n rows in a shuffled
    order of their own generator (seed); batch_loss(row indices) returns a batch's loss. Leaves it in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay, fused=fused)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            loss = batch_loss(perm[i:i + batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()


def train_member(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig, seed: int) -> MLP:
    """Returns one MLP trained with BCE on scaled features X (N, F) and 0/1 labels Y (N, L)."""
    torch.manual_seed(seed)  # weight init; training is single-process and not shared with sessions
    net = MLP(X.shape[1], Y.shape[1], cfg)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    _fit(net, lambda idx: nn.functional.binary_cross_entropy_with_logits(net(Xt[idx]), Yt[idx]), len(Xt), cfg.epochs,
         cfg.batch_size, cfg.lr, cfg.weight_decay, seed, fused=True)  # fused: 5x faster step
    return net


def train_graph_member(graphs: Sequence[MolGraph], Y: np.ndarray, cfg: PredictorConfig, seed: int) -> DMPNN:
    """Returns the message-passing member trained with BCE on the molecules' graphs and 0/1 labels Y (N, L)."""
    torch.manual_seed(seed * 1000 + 77)  # weight init, apart from the MLP members' seeds
    net = DMPNN(Y.shape[1], cfg.graph_hidden, cfg.graph_depth, cfg.graph_dropout)
    Yt = torch.from_numpy(np.ascontiguousarray(Y, np.float32))

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(net(batch_graphs([graphs[j] for j in idx.tolist()])),
                                                              Yt[idx])

    _fit(net, batch_loss, len(graphs), cfg.graph_epochs, cfg.graph_batch_size, cfg.graph_lr, cfg.weight_decay, seed,
         fused=False)  # as screened (the step is a small share of a graph batch's time)
    return net


LABEL_MAP_FILE = PACKAGE_DATA_DIR / "labels" / "label_map.csv"
EXTRA_SOURCES = ("ifra", "goodscents", "leffingwell")  # datasets.raw_label_sources


@dataclass(frozen=True)
class LabelMap:
    """Raw odor terms -> the 138 labels: a term equal to a label maps to it; the others through label_map.csv."""

    labels: tuple[str, ...]
    synonyms: dict[tuple[str, str], tuple[str, ...]]  # (source or "any", lower-case term) -> labels

    def columns(self, source: str, terms: Sequence[str]) -> set[int]:
        """Returns the label columns the terms of one source's record map to (unmapped terms are dropped)."""
        index = {lab: j for j, lab in enumerate(self.labels)}
        out: set[int] = set()
        for t in terms:
            if t in index:
                out.add(index[t])
            for lab in self.synonyms.get((source, t), self.synonyms.get(("any", t), ())):
                out.add(index[lab])
        return out


def load_label_map(labels: Sequence[str], path: Path = LABEL_MAP_FILE) -> LabelMap:
    """Reads label_map.csv (source, term, label, rationale). Raises DataError naming the row when a label is not
    one of `labels`, a source is unknown or a rationale is missing."""
    synonyms: dict[tuple[str, str], tuple[str, ...]] = {}
    for line, r in enumerate(read_package_table(path), start=2):
        if r.get("label") not in labels or r.get("source") not in ("any", *EXTRA_SOURCES) or not (
                r.get("rationale") or "").strip():
            raise DataError(f"{path} line {line}: needs a source in any/{'/'.join(EXTRA_SOURCES)}, a label among "
                            f"the {len(labels)} GS-LF labels and a rationale; got {r}. Fix the row.")
        key = (r["source"], (r.get("term") or "").strip().lower())
        synonyms[key] = (*synonyms.get(key, ()), r["label"])
    return LabelMap(tuple(labels), synonyms)


@dataclass(frozen=True)
class ExtraData:
    """Other label sources mapped onto the labels, for training only (never scored)."""

    positives: np.ndarray  # (N, L + A) 0/1 extra positives of the labelled set's rows (aligned with its X), then
    # their A extra tasks
    X: np.ndarray  # (M, F) features of molecules outside the labelled set
    Y: np.ndarray  # (M, L + A) their mapped labels and extra tasks
    tasks: tuple[str, ...] = ()  # the A extra tasks ("source:term"), learnt by the members and then dropped

    def for_training(self, rows: np.ndarray) -> ExtraData:
        """Returns the part for a training fold: the extra positives of `rows` only, every outside molecule."""
        return ExtraData(self.positives[rows], self.X, self.Y, self.tasks)


@dataclass(frozen=True)
class ExtraCounts:
    """What one source added: records read, extra positives on labelled molecules, molecules outside the set."""

    source: str
    records: int
    new_positives: int
    outside_molecules: int


def build_extra(keys: Sequence[str], Y: np.ndarray, label_map: LabelMap,
                records: dict[str, list[tuple[str, tuple[str, ...]]]], leave_out: frozenset[str] = frozenset(),
                aux_min: int = 0) -> tuple[ExtraData, list[Mol], list[ExtraCounts]]:
    """Maps each source's records onto the labels and returns (extra data with X empty, the outside molecules
    to featurise, in the rows of extra.Y, and the counts per source).

    keys: the labelled set's molecule identities (chem.connectivity_key), aligned with Y. A record of a labelled
    molecule adds positives to that row; any other record becomes (or adds to) an outside molecule unless its key is
    in `leave_out` (e.g. a transfer test set). With aux_min > 0, every unmapped "source:term" recorded for at least
    aux_min labelled molecules becomes an extra task (a column after the L labels). Records mapping to nothing
    are dropped.
    """
    row = {k: i for i, k in enumerate(keys)}
    L = Y.shape[1]
    found: dict[str, tuple[Mol, set[int], set[str]]] = {}  # key -> (molecule, label columns, unmapped terms)
    counts = []
    for source, recs in records.items():
        new_pairs: set[tuple[int, int]] = set()
        outside: set[str] = set()
        for smiles, terms in recs:
            mol = to_mol(smiles)
            key = connectivity_key(mol) if mol is not None else ""
            if mol is None or not key or (key not in row and key in leave_out):
                continue
            entry = found.setdefault(key, (mol, set(), set()))
            cols = label_map.columns(source, terms)
            entry[1].update(cols)
            entry[2].update(f"{source}:{t}" for t in terms if not label_map.columns(source, (t,)))
            if key in row:
                new_pairs.update((row[key], j) for j in cols if Y[row[key], j] == 0)
            elif cols:
                outside.add(key)
        counts.append(ExtraCounts(source, len(recs), len(new_pairs), len(outside)))
    tally: dict[str, int] = {}
    for k, (_, _, unmapped) in found.items():
        if k in row:
            for t in unmapped:
                tally[t] = tally.get(t, 0) + 1
    aux = sorted(t for t, n in tally.items() if aux_min and n >= aux_min)
    aux_col = {t: L + a for a, t in enumerate(aux)}
    positives = np.zeros((len(Y), L + len(aux)), np.float32)
    outside_mols, outside_rows = [], []
    for k, (mol, cols, unmapped) in found.items():
        vec = np.zeros(L + len(aux), np.float32)
        vec[sorted(cols | {aux_col[t] for t in unmapped if t in aux_col})] = 1.0
        if k in row:
            positives[row[k]] = vec
        elif cols:
            outside_mols.append(mol)
            outside_rows.append(vec)
    positives[:, :L] = np.where(Y > 0, 0.0, positives[:, :L])  # only what Y lacks
    Yo = np.array(outside_rows, np.float32).reshape(-1, L + len(aux))
    return ExtraData(positives, np.zeros((0, 0), np.float32), Yo, tuple(aux)), outside_mols, counts


def load_extra(settings: Settings, data: LabelledSet, sources: Sequence[str],
               leave_out: frozenset[str] = frozenset(), aux_min: int = 0) -> tuple[ExtraData, list[ExtraCounts]]:
    """Returns the chosen raw sources mapped onto data's labels (outside molecules featurised) and their counts."""
    unknown = set(sources) - set(EXTRA_SOURCES)
    if unknown:
        raise InvalidInput(f"Unknown label source(s) {sorted(unknown)}; choose from {', '.join(EXTRA_SOURCES)}.")
    raw = raw_label_sources(settings)
    extra, mols, counts = build_extra([connectivity_key(m) for m in data.mols], data.Y, load_label_map(data.labels),
                                      {s: raw[s] for s in sources}, leave_out, aux_min)
    X = features.featurize(mols) if mols else np.zeros((0, features.N_FINGERPRINT + features.N_DESCRIPTORS),
                                                        np.float32)
    return ExtraData(extra.positives, X, extra.Y, extra.tasks), counts


def recipe_extra(settings: Settings, data: LabelledSet, cfg: PredictorConfig) -> ExtraData | None:
    """Returns the recipe's other label sources (cfg.extra_sources, cfg.extra_task_min) for `data`, None without any."""
    return load_extra(settings, data, cfg.extra_sources, aux_min=cfg.extra_task_min)[0] if cfg.extra_sources else None


def _drop_extra_tasks(net: MLP, n_labels: int) -> MLP:
    """Returns the member with its output layer cut to the first n_labels outputs (the extra tasks only shaped
    the hidden layer), so the shipped weights keep their format."""
    last = cast(nn.Linear, net.net[4])
    if last.out_features > n_labels:
        cut = nn.Linear(last.in_features, n_labels)
        with torch.no_grad():
            cut.weight.copy_(last.weight[:n_labels])
            cut.bias.copy_(last.bias[:n_labels])
        net.net[4] = cut
    return net


def train_ensemble(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig, extra: ExtraData | None = None,
                   graphs: Sequence[MolGraph] | None = None) -> TrainedEnsemble:
    """Trains cfg.members MLPs with different seeds on raw features X (N, F) and labels Y (N, L), and with
    cfg.graph_weight > 0 the message-passing member on `graphs` (X's molecules, graph.mol_graphs) and Y.

    With `extra` (aligned with X's rows), the MLP members learn from Y plus the extra positives and from the
    outside molecules too; the neighbour memory holds X and Y only (the runtime rebuilds it from GS-LF).
    """
    if cfg.graph_weight and (graphs is None or len(graphs) != len(X)):
        raise ValueError("graph_weight > 0: pass the graphs of X's molecules (graph.mol_graphs)")
    Xm, Ym = X, Y
    if extra is not None:
        L = Y.shape[1]
        Xm = np.concatenate([X, extra.X]).astype(np.float32)
        own = np.concatenate([np.maximum(Y, extra.positives[:, :L]), extra.positives[:, L:]], axis=1)
        Ym = np.concatenate([own, extra.Y]).astype(np.float32)
    mu, sd = _standardizer(Xm)
    Xs = scale_features(Xm, mu, sd).numpy()
    members = tuple(_drop_extra_tasks(train_member(Xs, Ym, cfg, seed=cfg.seed * 1000 + k), Y.shape[1])
                    for k in range(cfg.members))
    graph = train_graph_member(graphs or [], Y, cfg, cfg.seed) if cfg.graph_weight else None
    neighbours = Neighbours.from_counts(features.atom_pair_counts_from(X), Y, cfg)
    return TrainedEnsemble.from_config(members, mu, sd, neighbours, cfg, graph)


def save_predictor(ens: TrainedEnsemble, labels: Sequence[str], cfg: PredictorConfig, out_dir: Path,
                   meta: dict) -> str:
    """Writes weights.safetensors (fp16 member weights, "m<k>." for the MLPs, "g." for the graph member) +
    config.json; returns the model version."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {"mu": torch.from_numpy(ens.mu), "sd": torch.from_numpy(ens.sd)}
    for k, m in enumerate(ens.members):
        for name, t in m.state_dict().items():
            tensors[f"m{k}.{name}"] = t.detach().to(torch.float16).contiguous()  # fp16 halves the file
    if ens.graph is not None:
        for name, t in ens.graph.state_dict().items():
            tensors[f"g.{name}"] = t.detach().to(torch.float16).contiguous()
    path = out_dir / "weights.safetensors"
    save_file(tensors, str(path))
    # The version names the weights and the recipe that blends them (kNN vote, label mix): a change of either is
    # another model for the caches and the known scores.
    digest = hashlib.sha256(path.read_bytes() + json.dumps(asdict(cfg), sort_keys=True).encode()).hexdigest()[:12]
    version = f"predictor-1+{digest}"
    config = {
        "version": version,
        "features": features.FEATURES_VERSION,
        "n_features": int(ens.mu.shape[0]),
        "labels": list(labels),
        "config": asdict(cfg),
        **meta,
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    return version


def save_known_scores(probs: np.ndarray, predictor_version: str, out_dir: Path, meta: dict[str, str]) -> Path:
    """Writes the known odorants' predicted probabilities (M, L) as float16 safetensors keyed to the predictor
    version (the runtime's `scores.load_known_scores` refuses another version); returns the path."""
    path = out_dir / KNOWN_SCORES_FILE
    tensors = {"probs": torch.from_numpy(np.ascontiguousarray(probs, np.float32)).to(torch.float16)}
    save_file(tensors, str(path), metadata={"predictor_version": predictor_version, **meta})
    return path
