"""Molecule featurisation for the odor predictor: fingerprint counts, MACCS keys and RDKit descriptors.

Blocks, in column order: Morgan radius-2 counts (ECFP4-like, 2048), atom-pair counts (1024), Morgan
radius-2 counts over pharmacophoric atom features (FCFP4-like, 2048) and the 166 MACCS keys (167 bits,
bit 0 unused): these enter as log1p(count) or 0/1. Then RDKit descriptors as sign(x)·log1p(|x|) (many
are heavy-tailed), standardised later with the training statistics stored in the weights.
Block choice was measured on folds 0-1 of the random split (MODEL_CARD.md): FCFP +0.0014 and MACCS
+0.0011 mean AUROC, together +0.0027; topological torsions added nothing once FCFP was there.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from rdkit.Chem import Descriptors, rdFingerprintGenerator, rdMolDescriptors

from .chem import Mol

FEATURES_VERSION = "morgan2c2048+apc1024+fcfp2c2048+maccs167+rdkit-desc-fast/3"
# Speed (the aim is >= 1,000 molecules/s on 2 CPU cores): all 212 RDKit descriptors cost 1.8 ms/molecule;
# without the 85 fr_* substructure counts (Morgan counts carry the same groups), the E-state indices and a few slow or
# unstable ones it is 0.45 ms, for -0.001 mean AUROC (2 folds, measured). The MACCS keys (0.27 ms) and FCFP counts
# (0.14 ms) bought the AUROC goal at the cost of the throughput aim (BENCHMARKS.md). Since version 3 the Gasteiger
# partial charges and BCUT2D eigenvalues, Crippen logP/MR (RDKit computes them on a copy with H atoms added; the VSA bins
# keep the Crippen atom contributions), the SMARTS-based strict rotatable-bond count and the path-based topological
# indices (Chi0, Chi1, the Chi indices of order 2-4, Kappa2-3, Phi, BalabanJ, FpDensityMorgan1-3) and the Lipinski
# acceptor count are left out too: the predictor then takes 987 instead of 494 freshly parsed molecules/s in one process
# (make bench), for -0.0005 mean AUROC on the 5 folds of seed 0 (0.8947 -> 0.8942, the same recipe; MODEL_CARD.md).
_SLOW = {"MaxPartialCharge", "MinPartialCharge", "MaxAbsPartialCharge", "MinAbsPartialCharge", "MolLogP", "MolMR",
         "NumRotatableBonds", *(f"BCUT2D_{s}" for s in ("MWHI", "MWLOW", "CHGHI", "CHGLO", "LOGPHI", "LOGPLOW",
                                                        "MRHI", "MRLOW")),
         "Chi0", "Chi1", "Chi2n", "Chi2v", "Chi3n", "Chi3v", "Chi4n", "Chi4v", "Kappa2", "Kappa3", "Phi", "BalabanJ",
         "FpDensityMorgan1", "FpDensityMorgan2", "FpDensityMorgan3", "NumHAcceptors"}
_LEFT_OUT = {"qed", "SPS", "BertzCT", "Ipc", "AvgIpc", "NumValenceElectrons", "NumRadicalElectrons", *_SLOW}
DESCRIPTORS: tuple[tuple[str, object], ...] = tuple(
    (n, f) for n, f in Descriptors._descList
    if n not in _LEFT_OUT and not n.startswith("fr_") and "EState" not in n
)
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
_ATOM_PAIR = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=1024)
_FEATURE_MORGAN = rdFingerprintGenerator.GetMorganGenerator(
    radius=2, fpSize=2048, atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen())
_BLOCKS = (2048, 1024, 2048, 167)  # widths of the fingerprint blocks above
ATOM_PAIR_COLUMNS = slice(2048, 3072)  # the log1p atom-pair counts inside the feature matrix
N_FINGERPRINT = sum(_BLOCKS)  # leading columns: log1p counts and 0/1 keys, not standardised
N_DESCRIPTORS = len(DESCRIPTORS)  # trailing columns: standardised


# How featurize() computes DESCRIPTORS: the values of RDKit's Descriptors wrappers bit for bit, in less time on
# freshly parsed molecules (issue 17): the same RDKit functions called directly, the 14 + 10 + 12 VSA bins each from
# one call. A descriptor RDKit adds later goes through its own function (_OTHER). tests/unit/test_predictor_speed_identity.py
# compares with the wrappers, in float64 and in the float32 features.
_R = rdMolDescriptors
_DIRECT: tuple[tuple[str, Callable[[Mol], float]], ...] = (
    ("ExactMolWt", _R.CalcExactMolWt), ("Chi0n", _R.CalcChi0n), ("Chi0v", _R.CalcChi0v), ("Chi1n", _R.CalcChi1n),
    ("Chi1v", _R.CalcChi1v), ("HallKierAlpha", _R.CalcHallKierAlpha),
    ("Kappa1", _R.CalcKappa1), ("LabuteASA", _R.CalcLabuteASA),
    ("TPSA", _R.CalcTPSA), ("FractionCSP3", _R.CalcFractionCSP3), ("NHOHCount", _R.CalcNumLipinskiHBD),
    ("NOCount", _R.CalcNumLipinskiHBA), ("NumAliphaticCarbocycles", _R.CalcNumAliphaticCarbocycles),
    ("NumAliphaticHeterocycles", _R.CalcNumAliphaticHeterocycles), ("NumAliphaticRings", _R.CalcNumAliphaticRings),
    ("NumAmideBonds", _R.CalcNumAmideBonds), ("NumAromaticCarbocycles", _R.CalcNumAromaticCarbocycles),
    ("NumAromaticHeterocycles", _R.CalcNumAromaticHeterocycles), ("NumAromaticRings", _R.CalcNumAromaticRings),
    ("NumAtomStereoCenters", _R.CalcNumAtomStereoCenters), ("NumBridgeheadAtoms", _R.CalcNumBridgeheadAtoms),
    ("NumHDonors", _R.CalcNumHBD), ("NumHeteroatoms", _R.CalcNumHeteroatoms),
    ("NumHeterocycles", _R.CalcNumHeterocycles),
    ("NumSaturatedCarbocycles", _R.CalcNumSaturatedCarbocycles),
    ("NumSaturatedHeterocycles", _R.CalcNumSaturatedHeterocycles), ("NumSaturatedRings", _R.CalcNumSaturatedRings),
    ("NumSpiroAtoms", _R.CalcNumSpiroAtoms),
    ("NumUnspecifiedAtomStereoCenters", _R.CalcNumUnspecifiedAtomStereoCenters), ("RingCount", _R.CalcNumRings),
)
_OWN_NAMES = ("MolWt", "HeavyAtomMolWt", *(f"PEOE_VSA{i}" for i in range(1, 15)), *(f"SMR_VSA{i}" for i in range(1, 11)),
              *(f"SlogP_VSA{i}" for i in range(1, 13)), "HeavyAtomCount", *(n for n, _ in _DIRECT))
_OTHER = tuple((n, f) for n, f in DESCRIPTORS if n not in _OWN_NAMES)
_ROW_NAMES = _OWN_NAMES + tuple(n for n, _ in _OTHER)
_DESCRIPTOR_ORDER = np.array([_ROW_NAMES.index(n) for n, _ in DESCRIPTORS])  # row position -> DESCRIPTORS column


def _descriptor_row(mol: Mol) -> list[float]:
    """Returns the descriptors of _ROW_NAMES for one molecule, with the values RDKit's Descriptors functions give."""
    return [_R._CalcMolWt(mol), _R._CalcMolWt(mol, True), *_R.PEOE_VSA_(mol), *_R.SMR_VSA_(mol), *_R.SlogP_VSA_(mol),
            mol.GetNumHeavyAtoms(),
            *[f(mol) for _, f in _DIRECT], *[f(mol) for _, f in _OTHER]]  # type: ignore[operator]


# Parallel featurisation (issue 17: >= 1,000 freshly parsed molecules/s on 2 cores). RDKit holds the GIL, so threads
# cannot share the work (measured: 2 threads slower than 1); worker processes can. Below PARALLEL_MIN molecules the
# pickling and the hand-over cost more than they save.
PARALLEL_MIN = 16
CHUNKS_PER_WORKER = 1  # 4 was slower (641-678 vs 820-855 molecules/s), and 2 or 3 still (712-824 vs 957-1025 with
#   the chunks below): each hand-over waits for the GIL here
# A molecule's featurisation time grows with its size, a little faster than linearly: about
# 0.75 + 0.055 a + 0.0012 a^2 ms for a atoms on this 2-core VM (GS-LF sorted by size in groups of 250: 1.07 ms at 5
# atoms, 1.40 at 10, 2.13 at 19, 3.2 for the largest, mean 26). The chunks hold equal estimated time, not equal counts:
# split by count, GS-LF's second half took 4.5 s against the first's 3.9 s and one process waited for the other.
COST_PER_ATOM = (13.6, 1.0, 0.022)  # that time over 0.055 ms: constant, per atom, per atom squared
#   (fitted on the features of version 2; the chunks need only the relative cost)


def _cost(mol: Mol) -> float:
    a = mol.GetNumAtoms()
    return COST_PER_ATOM[0] + COST_PER_ATOM[1] * a + COST_PER_ATOM[2] * a * a


def featurize(mols: Sequence[Mol], workers: int = 1) -> np.ndarray:
    """Returns the (N, N_FINGERPRINT + N_DESCRIPTORS) float32 feature matrix; NaN/inf descriptors become 0.

    With workers > 1 and at least PARALLEL_MIN molecules, `workers - 1` worker processes (started once, kept) share
    the work: the molecules are cut into CHUNKS_PER_WORKER * workers consecutive chunks of about equal estimated time
    (_cost), all but the first sent to the pool; this process featurises the first, then takes back from the end the
    chunks no worker has started (a worker busy with another request's chunk costs no waiting). The matrix is the same
    bits either way: a Mol is pickled with its atoms and bonds in order and every feature is computed from them as
    here. A worker that died (killed for memory, ...) costs only speed: its chunks are featurised here and the pool is
    started again on the next call.
    """
    if workers <= 1 or len(mols) < PARALLEL_MIN:
        return _featurize(mols)
    cost = np.fromiter(map(_cost, mols), dtype=np.float64, count=len(mols))
    chunks = [list(mols[a:b]) for a, b in _bounds(cost, workers * CHUNKS_PER_WORKER)]
    pool = _pool(workers - 1)
    try:
        # Pickled here, before this process starts on its chunk: RDKit holds the GIL, so the executor's feeder thread
        # would otherwise pickle the molecules in the gaps of that work and the workers would start seconds late.
        futures = [pool.submit(_featurize_pickled, pickle.dumps(chunk)) for chunk in chunks[1:]]
    except BrokenProcessPool:  # broken before this call
        _pool.cache_clear()
        return _featurize(mols)
    done = {0: _featurize(chunks[0])}
    for i in range(len(chunks) - 1, 0, -1):  # from the end: the workers take chunks from the front
        if futures[i - 1].cancel():
            done[i] = _featurize(chunks[i])
    for i in range(1, len(chunks)):
        if i not in done:
            try:
                done[i] = _unpack(futures[i - 1].result())
            except BrokenProcessPool:
                _pool.cache_clear()
                done[i] = _featurize(chunks[i])
    return np.concatenate([done[i] for i in range(len(chunks))])


def _featurize_pickled(payload: bytes) -> tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Worker side of featurize: the molecules arrive pickled (by this package's own featurize, never from outside).

    Returns the matrix packed: its shape, the non-zero fingerprint entries (row, column, float32 value: 1.8 % of the
    fingerprint entries of GS-LF) and the descriptor columns: 3.4 MB instead of 54 MB for 2,500 molecules to pickle,
    send and read back (0.3 s less), while the parent's reading thread needs the GIL for every piece of the pipe.
    """
    X = _featurize(pickle.loads(payload))
    rows, cols = np.nonzero(X[:, :N_FINGERPRINT])
    return (X.shape, rows.astype(np.int32), cols.astype(np.int16), X[rows, cols],  # type: ignore[return-value]
            np.ascontiguousarray(X[:, N_FINGERPRINT:]))


def _unpack(packed: tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Returns the matrix _featurize_pickled packed, bit for bit (the float32 values themselves travel)."""
    shape, rows, cols, values, descriptors = packed
    X = np.zeros(shape, dtype=np.float32)
    X[rows, cols] = values
    X[:, N_FINGERPRINT:] = descriptors
    return X


def _bounds(cost: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Returns `parts` consecutive (start, end) index ranges covering range(len(cost)), each holding about the same
    sum of `cost` (and at least one item while there are items enough)."""
    n = len(cost)
    cum = np.cumsum(cost)
    middles = cum - np.asarray(cost) / 2  # an item goes to the part its middle falls in
    total = float(cum[-1]) if n else 0.0
    edges = [0]
    for k in range(1, parts):
        edge = int(np.searchsorted(middles, total * k / parts))
        edges.append(min(max(edge, edges[-1] + 1), n - (parts - k)) if n >= parts else min(n, k))
    edges.append(n)
    return list(zip(edges[:-1], edges[1:]))


def start_workers(workers: int) -> None:
    """Starts featurize's worker processes now, without waiting for them (loaders call it so that the first request
    does not pay for the workers' start, about a second of imports)."""
    if workers > 1:
        _pool(workers - 1).submit(int)


def _worker_init() -> None:
    """Worker initialiser. Ctrl-C in a terminal reaches the whole process group: ignored here, the parent shuts the
    pool down. A parent killed outright (SIGKILL, a test harness's terminate) never does, and the worker would wait for
    work for ever (it holds its own queue's write end): a daemon thread ends it once the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_parent_ends, name="odordiff-parent-watch", daemon=True).start()


def _exit_when_parent_ends() -> None:
    """Blocks until the process that started this worker has ended, then ends the worker (it holds no state).
    multiprocessing's parent sentinel: a pipe whose write end only the parent holds, so it reads EOF when that dies."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(0)


@functools.cache
def _pool(processes: int) -> ProcessPoolExecutor:
    """Returns the featurisation worker pool (one per size, shut down at interpreter exit by concurrent.futures).
    forkserver, not fork: the app and the API serve from threads, and forking a threaded process is unsafe."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context(method), initializer=_worker_init)


def _featurize(mols: Sequence[Mol]) -> np.ndarray:
    """Returns the (N, N_FINGERPRINT + N_DESCRIPTORS) float32 feature matrix; NaN/inf descriptors become 0."""
    out = np.zeros((len(mols), N_FINGERPRINT + N_DESCRIPTORS), dtype=np.float32)
    ends = np.cumsum(_BLOCKS)
    rows, maccs_rows, maccs_bits = [], [], []
    for i, mol in enumerate(mols):
        out[i, :ends[0]] = _MORGAN.GetCountFingerprintAsNumPy(mol)
        out[i, ends[0]:ends[1]] = _ATOM_PAIR.GetCountFingerprintAsNumPy(mol)
        out[i, ends[1]:ends[2]] = _FEATURE_MORGAN.GetCountFingerprintAsNumPy(mol)
        on = _R.GetMACCSKeysFingerprint(mol).GetOnBits()
        maccs_rows += [i] * len(on)
        maccs_bits += on
        rows.append(_descriptor_row(mol))
    out[maccs_rows, ends[2] + np.array(maccs_bits, dtype=np.intp)] = 1.0
    if rows:
        out[:, N_FINGERPRINT:] = np.array(rows, dtype=np.float64)[:, _DESCRIPTOR_ORDER]
    counts = out[:, :ends[2]]
    np.log1p(counts, out=counts)  # the MACCS keys stay 0/1
    d = np.nan_to_num(out[:, N_FINGERPRINT:], nan=0.0, posinf=0.0, neginf=0.0)
    out[:, N_FINGERPRINT:] = np.sign(d) * np.log1p(np.abs(d))
    return out


def atom_pair_counts(mols: Sequence[Mol]) -> np.ndarray:
    """Returns the (N, 1024) float32 raw atom-pair counts, the same hashing as the feature block."""
    return np.array([_ATOM_PAIR.GetCountFingerprintAsNumPy(m) for m in mols], dtype=np.float32).reshape(-1, 1024)


def atom_pair_counts_from(X: np.ndarray) -> np.ndarray:
    """Returns the raw atom-pair counts (N, 1024) recovered from a featurize() matrix (log1p undone)."""
    return np.rint(np.expm1(X[:, ATOM_PAIR_COLUMNS])).astype(np.float32)
