"""Everything the core knows about one molecule: odor profile, safety, properties, known material, nearest odorant."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .chem import Mol, canonical_smiles, parse_smiles
from .config import Settings
from .errors import InvalidSmiles
from .known import KnownIndex, KnownMaterial, NearestKnown, load_known_index
from .odor import OdorPredictor, load_predictor
from .properties import Properties, compute_properties, load_property_models
from .safety import SafetyReport, SafetyScreen, load_screen
from .types import OdorProfile


@dataclass(frozen=True)
class MoleculeReport:
    input: str  # what the user typed
    smiles: str | None  # canonical SMILES; None when the input did not parse
    error: str | None  # why nothing could be computed (invalid SMILES); None on success
    odor: OdorProfile | None = None
    safety: SafetyReport | None = None
    properties: Properties | None = None
    known: KnownMaterial | None = None  # the molecule itself is in the data (same connectivity)
    nearest: NearestKnown | None = None  # most similar other molecule in the data

    def to_json(self) -> dict[str, Any]:
        """Returns the `odordiff predict --format json` object for this molecule."""
        return {
            "input": self.input,
            "smiles": self.smiles,
            "descriptors": self.odor.as_dict() if self.odor else None,
            "uncertainty": dict(zip(self.odor.labels, self.odor.std)) if self.odor else None,
            "model_version": self.odor.model_version if self.odor else None,
            "safety": self.safety.to_json() if self.safety else None,
            "properties": self.properties.to_json() if self.properties else None,
            "known": self.known.to_json() if self.known else None,
            "nearest_known": self.nearest.to_json() if self.nearest else None,
            "error": self.error,
        }

    def summary_row(self, top: int) -> list[Any]:
        """Returns the CSV row: input, smiles, top descriptors, verdict, MW, cLogP, note, error."""
        if self.error:
            return [self.input, "", "", "", "", "", "", self.error]
        assert self.odor and self.safety and self.properties
        tops = "; ".join(f"{lab} {p:.2f}" for lab, p in self.odor.top(top))
        pr = self.properties
        return [self.input, self.smiles, tops, self.safety.verdict, f"{pr.mw:.1f}", f"{pr.clogp:.2f}", pr.note or "", ""]

    def to_text(self, top: int) -> str:
        """Returns a human-readable block for the terminal."""
        if self.error:
            return f"{self.input}\n  error: {self.error}"
        assert self.odor and self.safety and self.properties
        lines = [f"{self.input}" + (f"  ->  {self.smiles}" if self.smiles != self.input else "")]
        lines.append("  odor: " + ", ".join(f"{lab} {p:.2f}±{s:.2f}" for (lab, p), s in
                                            zip(self.odor.top(top), self._top_std(top))))
        lines.append(f"  safety: {self.safety.verdict}")
        lines += [f"    [{f.level}] {f.rule}: {f.reason} ({f.source})" for f in self.safety.flags]
        pr = self.properties
        lines.append(f"  MW {pr.mw:.1f}  cLogP {pr.clogp:.2f}  TPSA {pr.tpsa:.1f}  SA {_fmt(pr.sa_score)} "
                     f"({pr.sa_class})  note {pr.note or 'not computed'}")
        if self.known:
            lines.append(f"  known material: {', '.join(self.known.names[:3]) or '(unnamed)'}")
        if self.nearest:
            lines.append(f"  nearest known: {self.nearest.name or self.nearest.smiles} "
                         f"(Tanimoto {self.nearest.similarity:.2f})")
        return "\n".join(lines)

    def _top_std(self, top: int) -> list[float]:
        assert self.odor
        idx = {lab: i for i, lab in enumerate(self.odor.labels)}
        return [self.odor.std[idx[lab]] for lab, _ in self.odor.top(top)]


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


class Reporter:
    """The loaded models needed to describe a molecule. Read-only after construction: shareable across threads."""

    def __init__(self, predictor: OdorPredictor, screen: SafetyScreen, prop_models: Any, known: KnownIndex):
        self.predictor = predictor
        self.screen = screen
        self.prop_models = prop_models
        self.known = known

    def report_mols(self, mols: Sequence[Mol], inputs: Sequence[str]) -> list[MoleculeReport]:
        """Returns one full report per parsed molecule (the predictor runs once for the batch)."""
        profiles = self.predictor.predict(mols)
        return [
            MoleculeReport(
                input=text,
                smiles=canonical_smiles(mol),
                error=None,
                odor=prof,
                safety=self.screen.screen(mol),
                properties=compute_properties(mol, self.prop_models),
                known=self.known.lookup(mol),
                nearest=self.known.nearest(mol, exclude_identical=True),
            )
            for mol, text, prof in zip(mols, inputs, profiles)
        ]

    def report_smiles(self, text: str) -> MoleculeReport:
        """Returns the report of one SMILES; an unparsable input gives a report with `error` set."""
        try:
            mol = parse_smiles(text)
        except InvalidSmiles as exc:
            return MoleculeReport(input=text, smiles=None, error=str(exc))
        return self.report_mols([mol], [text])[0]


def load_reporter(settings: Settings) -> Reporter:
    """Loads the predictor, the safety screen, the property models and the known-odorant index."""
    return Reporter(load_predictor(settings), load_screen(settings), load_property_models(settings),
                    load_known_index(settings))
