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
import math
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, GraphDescriptors, rdFingerprintGenerator, rdMolDescriptors, rdPartialCharges

from .chem import Mol

FEATURES_VERSION = "morgan2c2048+apc1024+fcfp2c2048+maccs167+rdkit-desc-fast/2"
# Speed (the aim is >= 1,000 molecules/s on 2 CPU cores): all 212 RDKit descriptors cost 1.8 ms/molecule;
# without the 85 fr_* substructure counts (Morgan counts carry the same groups), the E-state indices and a
# few slow or unstable ones it is 0.45 ms, for -0.001 mean AUROC (2 folds, measured). The MACCS keys
# (0.24 ms) and FCFP counts (0.1 ms) bought the AUROC goal at the cost of the throughput aim (BENCHMARKS.md).
_LEFT_OUT = {"qed", "SPS", "BertzCT", "Ipc", "AvgIpc", "NumValenceElectrons", "NumRadicalElectrons"}
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
# freshly parsed molecules (issue 17; 1.11 -> 0.85 CPU ms per GS-LF molecule for the 100, one thread): the same
# RDKit functions called directly, each shared result computed once per molecule (Crippen logP and MR, the Gasteiger
# charges and Crippen contributions BCUT2D would compute again on a copy, the 14 + 10 + 12 VSA bins), one generator
# per FpDensityMorgan radius instead of a new one per call, and BalabanJ/Chi0/Chi1 from one adjacency matrix. A
# descriptor RDKit adds later goes through its own function (_OTHER). tests/unit/test_predictor_speed_identity.py
# compares with the wrappers, in float64 and in the float32 features.
_R = rdMolDescriptors
_DIRECT: tuple[tuple[str, Callable[[Mol], float]], ...] = (
    ("ExactMolWt", _R.CalcExactMolWt), ("Chi0n", _R.CalcChi0n), ("Chi0v", _R.CalcChi0v), ("Chi1n", _R.CalcChi1n),
    ("Chi1v", _R.CalcChi1v), ("Chi2n", _R.CalcChi2n), ("Chi2v", _R.CalcChi2v), ("Chi3n", _R.CalcChi3n),
    ("Chi3v", _R.CalcChi3v), ("Chi4n", _R.CalcChi4n), ("Chi4v", _R.CalcChi4v), ("HallKierAlpha", _R.CalcHallKierAlpha),
    ("Kappa1", _R.CalcKappa1), ("Kappa2", _R.CalcKappa2), ("Kappa3", _R.CalcKappa3), ("LabuteASA", _R.CalcLabuteASA),
    ("TPSA", _R.CalcTPSA), ("FractionCSP3", _R.CalcFractionCSP3), ("NHOHCount", _R.CalcNumLipinskiHBD),
    ("NOCount", _R.CalcNumLipinskiHBA), ("NumAliphaticCarbocycles", _R.CalcNumAliphaticCarbocycles),
    ("NumAliphaticHeterocycles", _R.CalcNumAliphaticHeterocycles), ("NumAliphaticRings", _R.CalcNumAliphaticRings),
    ("NumAmideBonds", _R.CalcNumAmideBonds), ("NumAromaticCarbocycles", _R.CalcNumAromaticCarbocycles),
    ("NumAromaticHeterocycles", _R.CalcNumAromaticHeterocycles), ("NumAromaticRings", _R.CalcNumAromaticRings),
    ("NumAtomStereoCenters", _R.CalcNumAtomStereoCenters), ("NumBridgeheadAtoms", _R.CalcNumBridgeheadAtoms),
    ("NumHAcceptors", _R.CalcNumHBA), ("NumHDonors", _R.CalcNumHBD), ("NumHeteroatoms", _R.CalcNumHeteroatoms),
    ("NumHeterocycles", _R.CalcNumHeterocycles), ("NumRotatableBonds", _R.CalcNumRotatableBonds),
    ("NumSaturatedCarbocycles", _R.CalcNumSaturatedCarbocycles),
    ("NumSaturatedHeterocycles", _R.CalcNumSaturatedHeterocycles), ("NumSaturatedRings", _R.CalcNumSaturatedRings),
    ("NumSpiroAtoms", _R.CalcNumSpiroAtoms),
    ("NumUnspecifiedAtomStereoCenters", _R.CalcNumUnspecifiedAtomStereoCenters), ("Phi", _R.CalcPhi),
    ("RingCount", _R.CalcNumRings),
)
_DENSITY = tuple(rdFingerprintGenerator.GetMorganGenerator(radius=r) for r in (1, 2, 3))  # FpDensityMorgan1-3
_BCUT_NAMES = tuple(f"BCUT2D_{s}" for s in ("MWHI", "MWLOW", "CHGHI", "CHGLO", "LOGPHI", "LOGPLOW", "MRHI", "MRLOW"))
_NO_BCUT = (math.nan,) * len(_BCUT_NAMES)
_OWN_NAMES = ("BalabanJ", "Chi0", "Chi1", "MolWt", "HeavyAtomMolWt", "MaxPartialCharge", "MinPartialCharge",
              "MaxAbsPartialCharge", "MinAbsPartialCharge", "FpDensityMorgan1", "FpDensityMorgan2", "FpDensityMorgan3",
              *_BCUT_NAMES,
              *(f"PEOE_VSA{i}" for i in range(1, 15)), *(f"SMR_VSA{i}" for i in range(1, 11)),
              *(f"SlogP_VSA{i}" for i in range(1, 13)), "MolLogP", "MolMR", "HeavyAtomCount", *(n for n, _ in _DIRECT))
_OTHER = tuple((n, f) for n, f in DESCRIPTORS if n not in _OWN_NAMES)
_ROW_NAMES = _OWN_NAMES + tuple(n for n, _ in _OTHER)
_DESCRIPTOR_ORDER = np.array([_ROW_NAMES.index(n) for n, _ in DESCRIPTORS])  # row position -> DESCRIPTORS column


def _charges_and_bcut(mol: Mol, heavy: int) -> tuple[float, float, Sequence[float]]:
    """Returns the Gasteiger charge range (low, high) as Descriptors' Min/MaxPartialCharge take it and the 8 BCUT2D
    values as its BCUT2D_* wrappers give them (NaN where RDKit's BCUT2D fails, e.g. no Gasteiger parameters for K).

    RDKit's BCUT2D(mol) computes the charges and Crippen contributions again on an H-free copy; for a molecule
    without H atoms that copy is the molecule itself, so the per-property form of BCUT2D over the values computed
    here (the Crippen ones then cached on the molecule for the VSA descriptors) gives the same eigenvalues.
    """
    if heavy == 0 or heavy != mol.GetNumAtoms():  # empty, or H / dummy atoms: RDKit's own path
        low, high = Descriptors._ChargeDescriptors(mol)
        try:
            return low, high, _R.BCUT2D(mol)
        except Exception:  # as RDKit's wrappers: any failure is NaN
            return low, high, _NO_BCUT
    try:
        rdPartialCharges.ComputeGasteigerCharges(mol, 12, True)  # BCUT2D's settings: fail on missing parameters
    except Exception:  # RDKit's path computes the charges without failing and gives NaN BCUTs
        low, high = Descriptors._ChargeDescriptors(mol)
        return low, high, _NO_BCUT
    masses, charges = [], []
    for atom in map(mol.GetAtomWithIdx, range(heavy)):  # faster than iterating mol.GetAtoms()
        masses.append(atom.GetMass())
        charges.append(atom.GetDoubleProp("_GasteigerCharge"))
    low, high = 500.0, -500.0  # Descriptors._ChargeDescriptors' loop, NaN handling included
    for c in charges:
        low, high = min(c, low), max(c, high)
    logp, mr = zip(*_R._CalcCrippenContribs(mol))
    try:
        return low, high, [v for props in (masses, charges, logp, mr) for v in _R.BCUT2D(mol, props)]
    except Exception:
        return low, high, _NO_BCUT


def _sequential_sum(values: np.ndarray) -> float:
    """Returns the left-to-right sum, as RDKit's Python descriptors add their terms (numpy's sum pairs them)."""
    total = 0.0
    for v in values.tolist():
        total += v
    return total


def _graph_descriptors(mol: Mol) -> tuple[float, float, float]:
    """Returns (BalabanJ, Chi0, Chi1) as RDKit's GraphDescriptors computes them, the same terms added in the same
    order, from one adjacency matrix instead of Python loops over atom wrappers and atom pairs."""
    n = mol.GetNumAtoms()
    if n == 0:
        return GraphDescriptors.BalabanJ(mol), GraphDescriptors.Chi0(mol), GraphDescriptors.Chi1(mol)
    adj = Chem.GetAdjacencyMatrix(mol, useBO=False, emptyVal=0, force=False, prefix="NoBO")  # (n, n) 0/1, as BalabanJ
    degree = adj.sum(1)  # (n,) Atom.GetDegree()
    chi0 = _sequential_sum(np.sqrt(1.0 / degree[degree != 0].astype(float)))
    ends = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in map(mol.GetBondWithIdx, range(mol.GetNumBonds()))]
    c1 = np.array([degree[i] * degree[j] for i, j in ends], float)
    chi1 = _sequential_sum(np.sqrt(1.0 / c1[c1 != 0]))
    dist = Chem.GetDistanceMatrix(mol, useBO=True, useAtomWts=False, force=False, prefix="Balaban")
    s = sum(dist)  # row by row, as GraphDescriptors._VertexDegrees
    i, j = np.nonzero(adj == 1)  # bonded pairs in row-major order, BalabanJ's loop order ...
    i, j = i[j >= i], j[j >= i]  # ... over j >= i
    q = len(ends)
    mu = q - n + 1
    balaban = float(q) / float(mu + 1) * _sequential_sum(1.0 / np.sqrt(s[i] * s[j])) if mu + 1 != 0 else 0
    return balaban, chi0, chi1


def _descriptor_row(mol: Mol) -> list[float]:
    """Returns the descriptors of _ROW_NAMES for one molecule, with the values RDKit's Descriptors functions give."""
    heavy = mol.GetNumHeavyAtoms()
    low, high, bcut = _charges_and_bcut(mol, heavy)
    return [*_graph_descriptors(mol), _R._CalcMolWt(mol), _R._CalcMolWt(mol, True),
            high, low, max(abs(low), abs(high)), min(abs(low), abs(high)),  # in RDKit's argument order (NaN)
            *[g.GetSparseFingerprint(mol).GetNumOnBits() / heavy if heavy else 0.0 for g in _DENSITY], *bcut,
            *_R.PEOE_VSA_(mol), *_R.SMR_VSA_(mol), *_R.SlogP_VSA_(mol), *_R.CalcCrippenDescriptors(mol), heavy,
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
