"""The predictor's speed-ups change no output: features, probabilities, spread and similarity stay bit for bit.

`features.featurize` calls RDKit's descriptor functions directly (each family of VSA bins from one call); `odor`
keeps the first layers transposed, computes the neighbour similarity once and with a sparse product. Each test compares with the plain way: RDKit's
`Descriptors` wrappers one by one and the dense forward, as the predictor computed them before (issue 17).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from rdkit.Chem import MACCSkeys

from odordiff_core import features
from odordiff_core.chem import to_mol, without_rdkit_log
from odordiff_core.datasets import GSLF_FILE, read_frame
from odordiff_core.graph import graph_proba, mol_graphs
from odordiff_core.odor import TrainedEnsemble, mix_labels, scale_features

UNUSUAL = (  # each takes a fallback or edge path of the fast code
    "[K+].[Cl-]",  # no Gasteiger parameters for K (PEOE_VSA)
    "CC(=O)[O-].[Na+]", "[Li+].[OH-]", "[Cu+2]", "[I-]",  # ions, disconnected fragments
    "[H][H]", "[2H]C([2H])([2H])O", "C[C@H](O)[2H]",  # H atoms kept in the graph
    "C", "O", "[Fe]", "[Se]", "C#N", "N#N", "[C-]#[O+]",  # one or two atoms, no bonds
    "[Pt](Cl)(Cl)(N)N", "C[Si](C)(C)C", "CC[Sn](CC)(CC)CC", "OB(O)c1ccccc1", "P(=O)(O)(O)O",
    "[O-][N+](=O)c1ccccc1", "[CH3]", "C12C3C4C1C5C2C3C45", "C1CC2CCC1C2", "c1ccc2ccccc2c1", "[nH]1cccc1",
    "FC(F)(F)C(F)(F)F", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.fixture(scope="module")
def odorants(settings) -> list[str]:
    return read_frame(GSLF_FILE, settings)["nonStereoSMILES"].tolist()[::20]  # 250 spread over the training file


@pytest.fixture(scope="module")
def smiles(odorants) -> list[str]:
    return odorants + list(UNUSUAL)


def _fresh(smiles: list[str]) -> list:
    """New Mol objects each time: RDKit caches results on a molecule, and generated candidates arrive uncached."""
    with without_rdkit_log():
        mols = [to_mol(s) for s in smiles]
    assert all(m is not None for m in mols)
    return mols


def _plain_featurize(mols: list) -> np.ndarray:
    """The feature matrix the plain way: per-molecule fingerprints, MACCS keys and every `Descriptors` wrapper."""
    out = np.zeros((len(mols), features.N_FINGERPRINT + features.N_DESCRIPTORS), dtype=np.float32)
    ends = np.cumsum((2048, 1024, 2048, 167))
    for i, mol in enumerate(mols):
        out[i, :ends[0]] = features._MORGAN.GetCountFingerprintAsNumPy(mol)
        out[i, ends[0]:ends[1]] = features._ATOM_PAIR.GetCountFingerprintAsNumPy(mol)
        out[i, ends[1]:ends[2]] = features._FEATURE_MORGAN.GetCountFingerprintAsNumPy(mol)
        out[i, ends[2]:ends[3]] = [int(b) for b in MACCSkeys.GenMACCSKeys(mol).ToBitString()]
        out[i, features.N_FINGERPRINT:] = [f(mol) for _, f in features.DESCRIPTORS]  # type: ignore[operator]
    np.log1p(out[:, :ends[2]], out=out[:, :ends[2]])
    d = np.nan_to_num(out[:, features.N_FINGERPRINT:], nan=0.0, posinf=0.0, neginf=0.0)
    out[:, features.N_FINGERPRINT:] = np.sign(d) * np.log1p(np.abs(d))
    return out


def _plain_forward(ens: TrainedEnsemble, X: np.ndarray, mols) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probability, spread, nearest similarity) the plain way: dense similarity, each member's own layers (the
    graph member, which has no fast path, as graph.graph_proba gives it)."""
    nb = ens.neighbours
    q, ref = torch.from_numpy(features.atom_pair_counts_from(X)), torch.from_numpy(nb.counts)
    x = scale_features(X, ens.mu, ens.sd)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        dot = q @ ref.T
        sim = dot / ((q * q).sum(1)[:, None] + torch.from_numpy(nb.sq_norms)[None, :] - dot).clamp_min(1e-9)
        top, idx = sim.topk(min(nb.k, sim.shape[1]), dim=1)
        w = top.pow(nb.power)
        vote = (w[:, :, None] * torch.from_numpy(nb.Y)[idx]).sum(1) / w.sum(1, keepdim=True).clamp_min(1e-12)
        xs = x.to_sparse_csr()
        p = torch.stack([torch.sigmoid(m.net[4](torch.addmm(m.net[1].bias, xs, m.net[1].weight.contiguous().T).relu_()))
                         for m in ens.members])  # the (hidden, F) weight as nn.Linear keeps it, transposed view
    nearest = sim.max(dim=1).values.numpy().astype(np.float32)
    w, share = ens.shares(nearest)
    members = p.mean(0).numpy()
    if ens.graph is not None:
        members = (1.0 - ens.graph_weight) * members + ens.graph_weight * graph_proba(ens.graph, mol_graphs(mols))
    mean = (1.0 - w) * members + w * vote.numpy()
    if ens.label_mix or ens.label_mix_far:
        mean = mix_labels(mean.astype(np.float32), ens.cooccurrence, share)
    spread = ((1.0 - ens.knn_weight) * p.std(0, correction=0)).numpy()
    return mean.astype(np.float32), spread, nearest


def test_features_of_fresh_molecules_equal_rdkits_descriptor_functions_bit_for_bit(smiles):
    fast, plain = features.featurize(_fresh(smiles)), _plain_featurize(_fresh(smiles))
    differing = sorted({int(c) for c in np.nonzero(_bits(fast) != _bits(plain))[1]})
    names = [n for n, _ in features.DESCRIPTORS]
    assert not differing, [names[c - features.N_FINGERPRINT] if c >= features.N_FINGERPRINT else c for c in differing]


def test_descriptor_values_equal_rdkits_before_the_float32_rounding(odorants):
    for s in odorants[::5] + list(UNUSUAL):
        (mol,), (plain_mol,) = _fresh([s]), _fresh([s])
        fast = np.array(features._descriptor_row(mol), dtype=np.float64)[features._DESCRIPTOR_ORDER]
        plain = np.array([f(plain_mol) for _, f in features.DESCRIPTORS], dtype=np.float64)  # type: ignore[operator]
        assert np.array_equal(fast, plain, equal_nan=True), s


def test_probabilities_spread_and_similarity_equal_the_plain_forward_bit_for_bit(predictor, smiles):
    p, s, sim = predictor.predict_with_domain(_fresh(smiles))
    ref_p, ref_s, ref_sim = _plain_forward(predictor.ensemble, _plain_featurize(_fresh(smiles)), _fresh(smiles))
    assert np.array_equal(_bits(p), _bits(ref_p)) and np.array_equal(_bits(s), _bits(ref_s))
    assert np.array_equal(_bits(sim), _bits(ref_sim))
    assert np.array_equal(_bits(predictor.predict_proba(_fresh(smiles))), _bits(ref_p))


@pytest.mark.parametrize("i", [0, 7, -1])
def test_a_batch_of_one_equals_the_plain_forward_of_that_batch(predictor, smiles, i):
    p, s = predictor.predict_with_std(_fresh([smiles[i]]))
    ref_p, ref_s, _ = _plain_forward(predictor.ensemble, _plain_featurize(_fresh([smiles[i]])), _fresh([smiles[i]]))
    assert np.array_equal(_bits(p), _bits(ref_p)) and np.array_equal(_bits(s), _bits(ref_s))


def test_features_from_worker_processes_are_the_bits_of_one_process(smiles):
    mols = _fresh(smiles)
    serial = features.featurize(mols, workers=1)
    for workers in (2, 3):  # the parts meet at different molecules
        parallel = features.featurize(_fresh(smiles), workers=workers)
        assert parallel.shape == serial.shape
        assert np.array_equal(_bits(parallel), _bits(serial))


def test_featurisation_parts_cover_every_molecule_once_with_about_equal_estimated_time():
    small, large = [features._cost(m) for m in _fresh(["CCO", "CCCCCCCCCCCCCCCCCCCCCCCCCCCC"])]
    assert large > 2 * small  # a 28-atom chain costs more than twice ethanol (measured: 3.2 vs 1.07 ms)
    cost = np.array([small] * 60 + [large] * 20)  # split by count, the second half would hold all the large ones
    for parts in (2, 3, 4):
        bounds = features._bounds(cost, parts)
        assert bounds[0][0] == 0 and bounds[-1][1] == len(cost)
        assert all(a < b and b == c for (a, b), (c, _) in zip(bounds, bounds[1:]))  # consecutive, none empty
        sums = np.array([cost[a:b].sum() for a, b in bounds])
        assert np.all(np.abs(sums - cost.sum() / parts) <= large)  # each its share, up to one molecule
    assert features._bounds(np.ones(3), 3) == [(0, 1), (1, 2), (2, 3)]


def test_a_dead_featurisation_worker_costs_speed_not_the_answer(smiles):
    import os
    from concurrent.futures.process import BrokenProcessPool

    serial = features.featurize(_fresh(smiles), workers=1)
    dying = features._pool(1).submit(os._exit, 1)  # the worker process ends as one killed for memory would
    with pytest.raises(BrokenProcessPool):
        dying.result(timeout=60)
    after_death = features.featurize(_fresh(smiles), workers=2)  # its part is featurised here
    assert np.array_equal(_bits(after_death), _bits(serial))
    again = features.featurize(_fresh(smiles), workers=2)  # a new pool serves the next call
    assert np.array_equal(_bits(again), _bits(serial))
    assert features._pool(1).submit(int).result(timeout=60) == 0  # the pool in use now works


def test_featurisation_workers_end_when_the_process_that_started_them_is_killed():
    import subprocess
    import sys
    import time

    script = ("import os, time\nfrom odordiff_core import features\n"
              "print(features._pool(1).submit(os.getpid).result(timeout=120), flush=True)\ntime.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(proc.stdout.readline())  # type: ignore[union-attr]
        assert _running(worker)
    finally:
        proc.kill()  # SIGKILL: no atexit, no pool shutdown
        proc.wait()
    deadline = time.monotonic() + 30
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker)


def _running(pid: int) -> bool:
    """Whether process `pid` runs: it exists and is not a zombie (ended, not yet reaped by whoever adopted it)."""
    import os

    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"  # the state follows the command name
    except (ProcessLookupError, FileNotFoundError):
        return False
