"""Chemical-soundness screen: returns whether a molecule carries a group a fragrance chemist would reject as
unstable or implausible (sulfenic acid, peroxide, an enol or imidic acid written instead of its ketone or amide,
ketene, allene, cyclopropene, acyl halide, acyclic hemiacetal, ...). Soundness is not safety: a sound molecule can
still be hazardous (`safety.py` screens that), and an unsound one need not be toxic, it just would not survive
in a bottle as written.

The rules are the rows of `package_data/soundness/rules.csv` (id, kind, SMARTS, plain-language reason, source):
- kind "group": fires when the SMARTS matches the molecule as written;
- kind "tautomer" (enol, iminol, NH-enamine): fires when the SMARTS matches the molecule as written AND RDKit's
  canonical tautomer (rdMolStandardize.TautomerEnumerator) has fewer matches, i.e. a more stable keto / amide /
  imine tautomer exists and the SMILES names the wrong one.
RDKit's canonical tautomer is computed only for molecules a tautomer rule matches (a few per cent of generated
ones), not for every molecule: canonicalising everything costs about 2 ms per generated molecule and 8 ms per
known odorant on average, with a tail past 1 s, and its canonical form is wrong for stable conjugated enols
(cyclotene becomes the 1,2-dione, furaneol a furandiol), so the group rules read the SMILES as written and the
enol rule leaves carbonyl-conjugated enols alone. With that gate the screen costs about 0.2 ms per known
odorant and about 1 ms per generated molecule (more of them reach the enumerator): under 0.1 s for 64.

Measured by `odordiff evaluate soundness` (docs/model_card_safety_properties.md, "Chemical soundness screen").
In `Pipeline.screen` the order is novelty, then soundness, then safety: unsound molecules are dropped before
ranking and counted as `n_unsound`. A sample that fails only tautomer rules is first replaced by its stable tautomer
(`SoundnessScreen.stable_tautomer`: the ketone of an enol, the amide of an iminol) when that tautomer passes every
rule and is neither known nor among the other samples: it is the same compound, drawn as a chemist would.
"""
from __future__ import annotations

import csv
import functools
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from .chem import Mol, without_rdkit_log
from .config import PACKAGE_DATA_DIR
from .errors import DataError

VERSION = "soundness-1.1"  # the loaded screen's version is this + a hash of the rule table (1.1: stable_tautomer)
RULES_FILE = PACKAGE_DATA_DIR / "soundness" / "rules.csv"
MAX_TAUTOMERS = 100  # enumeration cap per molecule: bounds the cost on large polyfunctional molecules
_COLUMNS = ("id", "kind", "smarts", "reason", "source")


class RuleKind(StrEnum):
    GROUP = "group"  # fires when the SMARTS matches the molecule as written
    TAUTOMER = "tautomer"  # fires when it matches and RDKit's canonical tautomer has fewer matches


@dataclass(frozen=True, slots=True)
class SoundnessRule:
    """One row of the rule table."""

    id: str  # e.g. "tautomer.enol", "bond.peroxide"
    kind: RuleKind
    smarts: str
    reason: str  # plain language: what the group is and why it is rejected
    source: str  # literature or measurement that justifies the rule


@dataclass(frozen=True, slots=True)
class SoundnessFailure:
    """One rule a molecule fails."""

    rule: str  # rule id
    reason: str  # the rule's plain-language reason


@dataclass(frozen=True, slots=True)
class SoundnessReport:
    """The screen's answer for one molecule: sound when no rule fires."""

    sound: bool
    failures: tuple[SoundnessFailure, ...]  # in rule-table order; empty when sound
    version: str  # screen version + hash of the rule table


def read_rules(path: Path = RULES_FILE) -> tuple[SoundnessRule, ...]:
    """Returns the rules of a rule table (CSV with columns id, kind, smarts, reason, source), in file order.

    Raises DataError naming the file and row when a column is missing, a kind is unknown, an id repeats, a
    SMARTS does not parse or a reason/source is empty.
    """
    if not path.is_file():
        raise DataError(f"Soundness rule table {path} is missing; reinstall odordiff_core (it ships in package_data).")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise DataError(f"{path}: the header must be {','.join(_COLUMNS)}, got {reader.fieldnames}.")
        rules: list[SoundnessRule] = []
        for line, row in enumerate(reader, start=2):  # line 1 is the header
            where = f"{path} row {line} ({row.get('id')!r})"
            if any(row.get(c) is None for c in _COLUMNS):
                raise DataError(f"{where}: the row has fewer than the {len(_COLUMNS)} columns {','.join(_COLUMNS)}.")
            if row["kind"] not in tuple(RuleKind):
                raise DataError(f"{where}: kind must be one of {', '.join(RuleKind)}, got {row['kind']!r}.")
            if any(r.id == row["id"] for r in rules):
                raise DataError(f"{where}: the rule id is used twice; give each rule its own id.")
            if Chem.MolFromSmarts(row["smarts"]) is None:
                raise DataError(f"{where}: RDKit cannot parse the SMARTS {row['smarts']!r}; fix it in the table.")
            if not row["reason"].strip() or not row["source"].strip():
                raise DataError(f"{where}: every rule needs a plain-language reason and a source.")
            rules.append(SoundnessRule(row["id"], RuleKind(row["kind"]), row["smarts"], row["reason"], row["source"]))
    return tuple(rules)


class SoundnessScreen:
    """Applies every rule of the table to one molecule. Immutable after construction, safe to share across threads
    (the tautomer enumerator is built per call, only for the molecules that need it)."""

    def __init__(self, rules: tuple[SoundnessRule, ...], version: str) -> None:
        self.rules = rules
        self.version = version
        self._queries = [(r, Chem.MolFromSmarts(r.smarts)) for r in rules]
        self._kinds = {r.id: r.kind for r in rules}

    def check(self, mol: Mol) -> SoundnessReport:
        """Returns the report for one molecule. Fails closed: an error inside a rule reads as unsound."""
        try:
            failures = self._failures(mol)
        except Exception as exc:  # noqa: BLE001 - fail closed: a molecule the rules cannot read must not pass
            reason = (f"the soundness rules could not run on this molecule ({type(exc).__name__}: {exc}); "
                      f"treat it as unchecked")
            failures = [SoundnessFailure("soundness.error", reason)]
        return SoundnessReport(not failures, tuple(failures), self.version)

    def _failures(self, mol: Mol) -> list[SoundnessFailure]:
        failures: list[SoundnessFailure] = []
        canonical: Mol | None = None  # RDKit's canonical tautomer, computed on the first tautomer-rule match
        for rule, query in self._queries:
            n = len(mol.GetSubstructMatches(query))
            if not n:
                continue
            if rule.kind == RuleKind.TAUTOMER:
                if canonical is None:
                    canonical = canonical_tautomer(mol)
                if len(canonical.GetSubstructMatches(query)) >= n:  # RDKit keeps this form: not a wrong tautomer
                    continue
            failures.append(SoundnessFailure(rule.id, rule.reason))
        return failures


    def stable_tautomer(self, mol: Mol, report: SoundnessReport | None = None) -> Mol | None:
        """Returns RDKit's canonical tautomer of a molecule that fails only tautomer rules (an enol, iminol or
        NH-enamine written where the keto, amide or imine form is the compound that exists) when that tautomer passes
        every rule; None for a sound molecule, for one that fails a group rule, or when the tautomer fails too.

        report: this screen's `check(mol)` when the caller has it (the rules are not run on `mol` again).
        The pipeline shows that tautomer instead of dropping the sample: "CC=C(O)CC" and "CCC(=O)CC" name one
        compound in a bottle, and a chemist draws the second (issue 12: canonical tautomers first, then the groups).
        """
        try:
            failures = list(report.failures) if report is not None else self._failures(mol)
            if not failures or any(self._kinds.get(f.rule) != RuleKind.TAUTOMER for f in failures):
                return None
            stable = canonical_tautomer(mol)
            return stable if not self._failures(stable) else None
        except Exception:  # noqa: BLE001 - as check(): a molecule the rules cannot read stays unsound
            return None


def canonical_tautomer(mol: Mol) -> Mol:
    """Returns RDKit's canonical tautomer (rdMolStandardize, at most MAX_TAUTOMERS enumerated)."""
    params = rdMolStandardize.CleanupParameters()
    params.maxTautomers = MAX_TAUTOMERS  # type: ignore[assignment]  # rdkit-stubs type the setter's value wrongly
    with without_rdkit_log():  # "max tautomers reached" warnings
        return rdMolStandardize.TautomerEnumerator(params).Canonicalize(mol)


def load_soundness_screen(path: Path = RULES_FILE) -> SoundnessScreen:
    """Returns the screen built from a rule table (default: the shipped one; a few ms).

    Raises DataError as `read_rules` does. The version carries a hash of the table, so cached results change
    when a rule does.
    """
    rules = read_rules(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return SoundnessScreen(rules, f"{VERSION}+{digest}")


@functools.cache
def default_screen() -> SoundnessScreen:
    """Returns the screen over the shipped rule table, built once per process (read-only, shared)."""
    return load_soundness_screen()


def check_soundness(mol: Mol, screen: SoundnessScreen | None = None) -> SoundnessReport:
    """Returns whether the molecule is chemically sound and, if not, each failed rule with its reason.

    screen: a loaded screen (e.g. one built from another table); None uses the shipped rules.
    """
    return (screen or default_screen()).check(mol)
