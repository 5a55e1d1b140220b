"""Shortlisted or generated molecules -> CSV / SDF bytes for download. Pure: no streamlit, no I/O.

A `ShortlistItem` is one row: the molecule, where it came from (prompt, seed, model versions) and
what the core computed about it (odor, safety, properties, nearest known). `None` fields stay empty
in the CSV: never a made-up value. A generated molecule leads with its fit percentile ("fits the brief better
than N % of known odorants") and the predictor's confidence (scores.py); the raw odor match stays for ranking.

CSV safety: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some also act on a
leading tab or carriage return) as a formula (OWASP "CSV injection"). Every text cell that starts with
one of those characters is written with a leading apostrophe, which spreadsheets show as text. Numeric
cells are formatted here from floats/ints, so they cannot carry a formula and stay numbers
(a negative cLogP is written as -1.23, not '-1.23).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdkit import Chem
from rdkit.Chem import AllChem

from .chem import to_mol, without_rdkit_log
from .scores import Confidence
from .types import Verdict

if TYPE_CHECKING:  # typing only: export works on any object with these fields
    from .known import KnownMaterial, NearestKnown
    from .properties import Properties
    from .report import MoleculeReport
    from .safety import SafetyReport
    from .types import OdorProfile

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # leading characters a spreadsheet may evaluate
TOP_DESCRIPTORS = 5  # descriptors written per molecule in `top_descriptors`

COLUMNS = (
    "smiles", "source", "prompt", "seed", "generator_version", "predictor_version", "fit_percentile", "confidence",
    "odor_match",
    "top_descriptors", "note", "safety_verdict", "safety_flags", "safety_version",
    "mw", "clogp", "tpsa", "hbd", "hba", "rotatable_bonds", "heavy_atoms", "sa_score", "sa_class",
    "boiling_point_c", "substantivity_h", "novel", "known_as", "nearest_smiles", "nearest_name",
    "nearest_similarity", "user_note",
)


@dataclass(frozen=True)
class ShortlistItem:
    """One molecule kept by the user, with its provenance and the core's results (None = not computed)."""

    smiles: str  # canonical SMILES
    source: str  # "generated" | "analyzed"
    prompt: str | None = None  # the brief it was generated for
    seed: int | None = None  # re-running the prompt with this seed reproduces it
    generator_version: str | None = None
    odor_match: float | None = None  # the ranking key: target-weighted mean probability minus excluded (-1..1)
    odor: OdorProfile | None = None
    safety: SafetyReport | None = None
    properties: Properties | None = None
    novel: bool | None = None  # None: not checked
    known: KnownMaterial | None = None  # the molecule itself is in the data
    nearest: NearestKnown | None = None  # most similar known odorant
    user_note: str = ""  # the perfumer's note
    fit_percentile: float | None = None  # 0..100: % of known odorants that fit the brief worse; None = no brief / not computed
    confidence: Confidence | None = None  # how far to trust the predicted profile; None = not computed

    def to_json(self) -> dict[str, Any]:
        """Returns the item as a JSON-ready dict (None parts stay None): what a saved shortlist entry stores."""
        def part(x: Any) -> Any:
            return x.to_json() if x is not None else None

        return {
            "smiles": self.smiles, "source": self.source, "prompt": self.prompt, "seed": self.seed,
            "generator_version": self.generator_version, "odor_match": self.odor_match, "odor": part(self.odor),
            "safety": part(self.safety), "properties": part(self.properties), "novel": self.novel,
            "known": part(self.known), "nearest": part(self.nearest), "user_note": self.user_note,
            "fit_percentile": self.fit_percentile,
            "confidence": str(self.confidence) if self.confidence is not None else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ShortlistItem:
        """Returns the item `to_json` wrote; a missing key reads as not computed (None).

        Raises KeyError, TypeError or ValueError for a dict that is not such an item (callers decide what to do).
        """
        from .known import KnownMaterial, NearestKnown  # at run time only here: export itself needs none of them
        from .properties import Properties
        from .safety import SafetyReport
        from .types import OdorProfile

        def part(key: str, kind: Any) -> Any:
            value = d.get(key)
            return kind.from_json(value) if value is not None else None

        conf = d.get("confidence")
        return cls(
            smiles=d["smiles"], source=d.get("source") or "generated", prompt=d.get("prompt"), seed=d.get("seed"),
            generator_version=d.get("generator_version"), odor_match=d.get("odor_match"),
            odor=part("odor", OdorProfile), safety=part("safety", SafetyReport),
            properties=part("properties", Properties), novel=d.get("novel"), known=part("known", KnownMaterial),
            nearest=part("nearest", NearestKnown), user_note=d.get("user_note") or "",
            fit_percentile=d.get("fit_percentile"), confidence=Confidence(conf) if conf is not None else None,
        )


def item_from_candidate(candidate: Any, prompt: str, note: str = "") -> ShortlistItem:
    """Returns the shortlist row of a generated `pipeline.Candidate` for `prompt`."""
    return ShortlistItem(
        smiles=candidate.smiles, source="generated", prompt=prompt, seed=candidate.seed,
        generator_version=candidate.model_version, odor_match=candidate.odor_match, odor=candidate.odor,
        safety=candidate.safety, properties=candidate.properties, novel=candidate.novel,
        known=getattr(candidate, "known", None), nearest=candidate.nearest, user_note=note,
        fit_percentile=getattr(candidate, "fit_percentile", None), confidence=getattr(candidate, "confidence", None),
    )


def item_from_report(report: MoleculeReport, note: str = "") -> ShortlistItem:
    """Returns the shortlist row of an analysed molecule. Raises ValueError for a report with an error."""
    if report.smiles is None:
        raise ValueError(f"cannot shortlist {report.input!r}: {report.error}")
    return ShortlistItem(
        smiles=report.smiles, source="analyzed", odor=report.odor, safety=report.safety,
        properties=report.properties, novel=report.known is None,  # the report looked the molecule up
        known=report.known, nearest=report.nearest, user_note=note,
    )


def escape_cell(value: str) -> str:
    """Returns `value` prefixed with an apostrophe when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _num(x: float | int | None, digits: int = 3) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def _flags_text(safety: SafetyReport | None) -> str:
    if safety is None:
        return ""
    return " | ".join(f"[{f.level}] {f.rule}: {f.reason} (source: {f.source})" for f in safety.flags)


def item_fields(item: ShortlistItem) -> dict[str, tuple[str, bool]]:
    """Returns {column: (text, is_text)} for one row; is_text cells get formula escaping."""
    pr, od, sf, nb = item.properties, item.odor, item.safety, item.nearest
    known_as = ", ".join(item.known.names[:3]) if item.known and item.known.names else ""
    tops = "; ".join(f"{lab} {p:.2f}" for lab, p in od.top(TOP_DESCRIPTORS)) if od else ""
    text = {
        "smiles": item.smiles, "source": item.source, "prompt": item.prompt or "",
        "generator_version": item.generator_version or "", "predictor_version": od.model_version if od else "",
        "top_descriptors": tops, "note": (pr.note or "") if pr else "",
        "safety_verdict": sf.verdict if sf else Verdict.NOT_SCREENED, "safety_flags": _flags_text(sf),
        "safety_version": sf.version if sf else "", "sa_class": (pr.sa_class or "") if pr else "",
        "known_as": known_as, "nearest_smiles": nb.smiles if nb else "", "nearest_name": (nb.name or "") if nb else "",
        "user_note": item.user_note, "confidence": str(item.confidence) if item.confidence is not None else "",
    }
    numbers = {
        "seed": _num(item.seed), "odor_match": _num(item.odor_match), "fit_percentile": _num(item.fit_percentile, 1),
        "mw": _num(pr.mw, 2) if pr else "", "clogp": _num(pr.clogp, 2) if pr else "",
        "tpsa": _num(pr.tpsa, 1) if pr else "", "hbd": _num(pr.hbd) if pr else "", "hba": _num(pr.hba) if pr else "",
        "rotatable_bonds": _num(pr.rotatable_bonds) if pr else "", "heavy_atoms": _num(pr.heavy_atoms) if pr else "",
        "sa_score": _num(pr.sa_score, 2) if pr else "", "boiling_point_c": _num(pr.boiling_point_c, 0) if pr else "",
        "substantivity_h": _num(pr.substantivity_h, 1) if pr else "", "novel": _num(item.novel),
        "nearest_similarity": _num(nb.similarity, 3) if nb else "",
    }
    out = {k: (v, True) for k, v in text.items()}
    out.update({k: (v, False) for k, v in numbers.items()})
    return {c: out[c] for c in COLUMNS}


def to_csv(items: Iterable[ShortlistItem]) -> bytes:
    """Returns UTF-8 CSV (header + one row per item, columns `COLUMNS`), safe to open in a spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for item in items:
        fields = item_fields(item)
        w.writerow([escape_cell(v) if is_text else v for v, is_text in fields.values()])
    return buf.getvalue().encode("utf-8")


def _sd_value(text: str) -> str:
    return " ".join(text.split())  # SD data lines end at a newline; an empty line ends the field


def to_sdf(items: Sequence[ShortlistItem]) -> bytes:
    """Returns an SD file with 2D coordinates and the CSV columns as data fields, one record per item.

    Raises ValueError when an item's SMILES does not parse (a shortlist only holds parsed molecules).
    """
    buf = io.StringIO()
    with without_rdkit_log():
        writer = Chem.SDWriter(buf)
        for item in items:
            mol = to_mol(item.smiles)
            if mol is None:
                raise ValueError(f"shortlisted SMILES does not parse: {item.smiles!r}")
            AllChem.Compute2DCoords(mol)  # type: ignore[attr-defined]  # rdkit-stubs lack it
            mol.SetProp("_Name", item.smiles)
            for col, (value, _) in item_fields(item).items():
                if value:
                    mol.SetProp(col, _sd_value(value))
            writer.write(mol)
        writer.close()
    return buf.getvalue().encode("utf-8")
