"""Known labelled odorants whose GS-LF labels best match a target: the starting points of exploration edits.

`GenerateRequest.exploration` < 1 edits retrieved known odorants instead of sampling from scratch; this
module says which ones. The source set is **the generator's training labelled molecules**: the GS-LF curated
set (`datasets.GSLF_FILE`) minus the checkpoint's `heldout.json`. Why: `odordiff evaluate generator` prompts
with held-out molecules' label sets, so a source set that held them would let an edit start from the very
molecule it is graded against; leaving them out keeps the evaluation honest with no special case, and the app
loses only molecules the generator never trained on (498 of 4,983 for the shipped one).

Load cost: the CSV is read once (about 0.05 s, no RDKit); SMILES are parsed and canonicalised only for the
few molecules a request retrieves (canonicalising all 4,983 at load would cost about 1 s).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np

from .chem import canonical_smiles, to_mol
from .config import Settings
from .datasets import GSLF_FILE, read_frame
from .errors import ModelNotFound


def retrieve(Y: np.ndarray, target: np.ndarray, m: int) -> np.ndarray:
    """Returns the indices of the m rows of Y (N, n_labels, 0/1 labels) that best match the target weights
    (n_labels,) by cosine, best first; ties keep row order (stable sort)."""
    norms = np.linalg.norm(Y, axis=1) * max(float(np.linalg.norm(target)), 1e-9)  # (N,)
    cos = (Y @ target) / np.maximum(norms, 1e-9)  # (N,)
    return np.argsort(-cos, kind="stable")[:m]


@dataclass(frozen=True, eq=False)
class Retriever:
    """The generator's training labelled molecules and their labels. Read-only: share one per process."""

    smiles: tuple[str, ...]  # SMILES as GSLF_FILE writes them (nonStereoSMILES), one per row
    Y: np.ndarray  # (N, n_labels) float32 0/1 labels, columns in the generator's label order
    heldout: frozenset[str]  # canonical SMILES of the generator's held-out molecules: never returned

    def ranked(self, target: np.ndarray) -> Iterator[str]:
        """Yields canonical SMILES of training molecules, best label match (cosine) to the target first.

        Held-out molecules and rows RDKit cannot parse are skipped, so the order is `retrieve()` over the
        training rows alone. Parsing is lazy: take only what you need (`sources`, `itertools.islice`).
        """
        for i in retrieve(self.Y, target, len(self.Y)):
            mol = to_mol(self.smiles[i])
            if mol is None:
                continue
            smi = canonical_smiles(mol)
            if smi not in self.heldout:
                yield smi

    def sources(self, target: np.ndarray, m: int) -> tuple[str, ...]:
        """Returns the canonical SMILES of the m training molecules that best match the target, best first."""
        return tuple(islice(self.ranked(target), m))


def load_retriever(settings: Settings, labels: Sequence[str], heldout: Iterable[str]) -> Retriever:
    """Returns the retriever over GSLF_FILE minus `heldout` (canonical SMILES), label columns ordered as `labels`.

    Raises DataError (with the fix) when the file is missing, ModelNotFound when `labels` (the generator's)
    names a label the file lacks.
    """
    df = read_frame(GSLF_FILE, settings)
    missing = [lab for lab in labels if lab not in df.columns[2:]]
    if missing:
        raise ModelNotFound(f"The generator's labels {missing[:5]} are not columns of {GSLF_FILE}; the generator was "
                            f"trained on another label list. Run `odordiff data check`, then `odordiff train generator`.")
    Y = df[list(labels)].to_numpy(dtype=np.float32)  # (N, n_labels)
    return Retriever(tuple(df["nonStereoSMILES"].astype(str)), Y, frozenset(heldout))
