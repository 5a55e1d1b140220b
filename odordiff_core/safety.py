"""Safety screen: a verdict per molecule ("blocked" / "caution" / "no known issue" / "not screened"), never "safe".

Rules and where they come from:
- identity (connectivity key = first InChIKey block) against the IFRA-controlled list and the EU fragrance
  allergens shipped in package_data/safety, and against T3DB (a pointer to read, never a block);
- structure: metals/metalloids and other non-organic elements, net formal charge, radicals, reactive groups;
- skin-sensitisation mechanistic alerts (Aptula/Roberts; Enoch, Madden & Cronin 2008) as SMARTS, with the hit
  rates measured in package_data/safety/README.md; autoxidation pre-hapten as a warning only;
- RDKit's PAINS catalog only, as a warning: the drug-discovery catalogs (BRENK, MLSMR, LINT, SureChEMBL, NIH)
  flag alkenes, aldehydes and esters and would reject linalool, limonene and Hedione (README table).
A salt, hydrate, solution or mixture is screened whole, component by component and as RDKit's standardised
parent; the verdict is the worst, and each flag names the component it was found on. Warnings are shown but do
not raise the verdict. A rule that raises gives "not screened" unless another rule found a block: each rule fails
alone, and the flags the others found stay.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from rdkit import Chem
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams
from rdkit.Chem.MolStandardize import rdMolStandardize

from .chem import Mol, canonical_smiles, connectivity_key, morgan_fp, tanimoto_many, to_mol, without_rdkit_log
from .config import Settings
from .datasets import EU_ALLERGENS_FILE, IFRA_LIST_FILE, T3DB_FILE, read_rows
from .types import FlagLevel, Verdict

VERSION = "safety-1.0"
ANALOGUE_MIN_SIMILARITY = 0.8  # Tanimoto (Morgan r2) at which an unlisted molecule counts as a close analogue

_ORGANIC = {1, 6, 7, 8, 9, 15, 16, 17, 35, 53}  # H C N O F P S Cl Br I
_METALLOIDS = {5, 14, 32, 33, 51, 52, 84}  # B Si Ge As Sb Te Po
_NONMETALS = _ORGANIC | {2, 10, 18, 34, 36, 54, 86}  # + Se and the noble gases

# (rule id, SMARTS, reason). Blocks: groups that react with skin, water or air on contact; none occurs in
# the IFRA glossary molecules except allyl isothiocyanate, which IFRA prohibits.
REACTIVE_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("reactive.acyl_halide", "[CX3](=[OX1])[F,Cl,Br,I]", "acyl halide: hydrolyses to acid, acylates skin proteins"),
    ("reactive.sulfonyl_halide", "[SX4](=O)(=O)[F,Cl,Br,I]", "sulfonyl halide: corrosive acylating agent"),
    ("reactive.iso(thio)cyanate", "N=C=[O,S]", "isocyanate/isothiocyanate: potent sensitiser and irritant"),
    ("reactive.peroxide", "[OX2][OX2]", "peroxide: oxidiser, unstable, sensitiser"),
    ("reactive.azide_diazo", "[$(N=[N+]=[N-]),$([#6]=[N+]=[N-]),$([N;X2]=[N;X2]-[N]),$(N#N)]",
     "azide/diazo: explosive, toxic"),
    ("reactive.anhydride", "[CX3](=O)[OX2][CX3](=O)", "acid anhydride: acylating agent (respiratory/skin sensitiser)"),
    ("reactive.n_nitroso", "[#7]-[NX2]=[OX1]", "N-nitroso: probable human carcinogen (EU Annex II)"),
    ("reactive.aziridine", "[NX3]1[CX4][CX4]1", "aziridine: alkylating agent"),
    ("reactive.phosphorus_halide", "[PX3,PX4,PX5][F,Cl,Br,I]", "phosphorus halide: corrosive, hydrolyses"),
)

# Skin-sensitisation alerts: exactly the 11 SMARTS measured in package_data/safety/README.md ("allergens hit" =
# share of the 61 EU allergens with structures, "others hit" = share of 1,018 other IFRA glossary molecules).
SENSITISATION_ALERTS: tuple[tuple[str, str, str], ...] = (
    ("alert.michael_enal", "[CX3;!a]=[CX3;!a]-[CX3H1]=[OX1]", "Michael acceptor: a,b-unsaturated aldehyde"),
    ("alert.michael_enone", "[CX3;!a;!H0]=[CX3;!a]-[CX3](=[OX1])-[#6]", "Michael acceptor: a,b-unsaturated ketone with b-H"),
    ("alert.michael_acrylate", "[CX3;!a;!H0]=[CX3;!a]-[CX3](=[OX1])-[OX2]", "Michael acceptor: acrylate/maleate ester"),
    ("alert.michael_ynone", "[CX2]#[CX2]-[CX3]=[OX1]", "Michael acceptor: alkynone/alkynoate"),
    ("alert.pro_michael_allylic_alcohol", "[CX3;!a]=[CX3;!a]-[CH2]-[OX2H]", "pro-Michael acceptor: allylic primary alcohol (oxidised to an enal in skin)"),
    ("alert.pro_michael_alkenyl_phenol", "[OX2H]-c1ccc(cc1)-[$([CX3]=[CX3]),$([CH2]-[CX3]=[CX3])]", "pro-Michael acceptor: para-alkenyl/allyl phenol (oxidised to a quinone methide)"),
    ("alert.schiff_aldehyde", "[CX3H1](=[OX1])-[#6;!a]", "Schiff base former: aliphatic aldehyde"),
    ("alert.schiff_dicarbonyl", "[#6]-[CX3](=[OX1])-[CX3](=[OX1])", "Schiff base former: 1,2-dicarbonyl"),
    ("alert.sn2", "[$([CX4;!$(C(F)(F))]-[Cl,Br,I]),$(C1OC1),$([CX4]-O-S(=O)(=O))]", "SN2 electrophile: alkyl halide / epoxide / sulfonate"),
    ("alert.acylating", "[$([CX3](=[OX1])-[OX2]-c),$(C(=O)OC(=O)),$(N=C=[O,S]),$(C(=O)[Cl,Br])]", "acylating agent: phenyl ester / anhydride / isocyanate / acyl halide"),
    ("alert.snar", "c([F,Cl,Br])c[N+](=O)[O-]", "SNAr electrophile: activated aryl halide"),
)
AUTOXIDATION = ("alert.autoxidation", "[CX3;!a](-[CH3])(-[#6])=[CX3H1;!a]-[CH2]",
                "autoxidation pre-hapten: terpene C=C with allylic CH2 forms sensitising hydroperoxides in air "
                "(keep antioxidant, limit peroxide value)")
_SMARTS_SOURCE = "SMARTS {s} (Aptula/Roberts; Enoch, Madden & Cronin 2008; measured in package_data/safety/README.md)"


@dataclass(frozen=True, slots=True)
class Flag:
    """One reason a molecule is not cleared."""

    rule: str  # rule id, e.g. "ifra.prohibited", "alert.michael_enal"
    level: FlagLevel  # block and caution raise the verdict; warning is shown only
    reason: str  # plain language
    source: str  # file + row, or the SMARTS and its literature domain

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "level": str(self.level), "reason": self.reason, "source": self.source}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Flag:
        """Returns the flag `to_json` wrote. Raises ValueError for a level that is not a FlagLevel."""
        return cls(d["rule"], FlagLevel(d["level"]), d["reason"], d["source"])


@dataclass(frozen=True, slots=True)
class SafetyReport:
    """The screen's verdict on one molecule. Never means "safe": an unlisted molecule can still be hazardous."""

    verdict: Verdict
    flags: tuple[Flag, ...]
    version: str  # screen version + hash of the rule tables

    def to_json(self) -> dict[str, Any]:
        return {"verdict": str(self.verdict), "flags": [f.to_json() for f in self.flags], "version": self.version}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SafetyReport:
        """Returns the report `to_json` wrote. Raises ValueError for a verdict that is not a Verdict."""
        return cls(Verdict(d["verdict"]), tuple(Flag.from_json(f) for f in d["flags"]), d["version"])


@dataclass(frozen=True, slots=True)
class _Listed:
    rule: str
    level: FlagLevel
    reason: str
    source: str


def _key_of(smiles: str) -> str | None:
    mol = to_mol(smiles)
    return connectivity_key(mol) if mol is not None else None


def is_eu_banned(row: dict[str, str]) -> bool:
    """Returns True for an IFRA-table row the EU bans in cosmetics (Annex II), e.g. HICC, atranol, Lilial."""
    eu = row["eu_status"]
    return eu.startswith("EU Annex II") and not eu.startswith("EU Annex III")


def _ifra_entries(rows: list[dict[str, str]]) -> tuple[dict[str, list[_Listed]], list[tuple[str, object]]]:
    """Returns {connectivity key: flags} for the IFRA table, and (name, fp) of every blocked row (for analogues)."""
    by_key: dict[str, list[_Listed]] = {}
    banned_fps: list[tuple[str, object]] = []
    for i, row in enumerate(rows, start=2):  # row 1 is the header
        mol = to_mol(row["smiles"])
        if mol is None:
            continue
        status, eu = row["ifra_status"], row["eu_status"]
        eu_banned = is_eu_banned(row)
        blocked = status == "prohibited" or eu_banned
        why = f"IFRA {status}" + (f"; {eu}" if eu else "") + f" ({row['reason']}; status confidence {row['confidence']})"
        rule = "ifra.prohibited" if status == "prohibited" else ("eu.banned" if eu_banned else f"ifra.{status}")
        level = FlagLevel.BLOCK if blocked else FlagLevel.CAUTION
        entry = _Listed(rule, level, f"{row['name']}: {why}", f"{IFRA_LIST_FILE} row {i}")
        by_key.setdefault(connectivity_key(mol), []).append(entry)
        if blocked:
            banned_fps.append((row["name"], morgan_fp(mol)))
    return by_key, banned_fps


def _eu_entries(rows: list[dict[str, str]]) -> dict[str, list[_Listed]]:
    by_key: dict[str, list[_Listed]] = {}
    for i, row in enumerate(rows, start=2):
        key = _key_of(row["smiles"]) if row["smiles"] else None
        if not key:
            continue
        reason = (f"{row['name']}: EU fragrance allergen ({row['list']}); must be named on the label above "
                  f"{row['leave_on_threshold_pct']}% in leave-on and {row['rinse_off_threshold_pct']}% in rinse-off products")
        by_key.setdefault(key, []).append(_Listed("eu.allergen", FlagLevel.CAUTION, reason, f"{EU_ALLERGENS_FILE} row {i}"))
    return by_key


def _t3db_entries(rows: list[dict[str, str]]) -> dict[str, list[_Listed]]:
    by_key: dict[str, list[_Listed]] = {}
    for i, row in enumerate(rows, start=2):
        key = _key_of(row["IsomericSMILES"])
        if not key or key in by_key:
            continue
        reason = (f"listed in the Toxin and Toxin-Target Database as {row['name']!r}: read the entry (T3DB also lists "
                  f"vanillin and coumarin, so this is a pointer, not a hazard by itself)")
        by_key[key] = [_Listed("t3db.listed", FlagLevel.CAUTION, reason, f"{T3DB_FILE} row {i} (CID {row['CID']})")]
    return by_key


class Check(StrEnum):
    """One rule group of the screen; which parts of an input each group looks at is set by the tuples below."""

    ELEMENTS = "elements"  # metals, metalloids, elements foreign to fragrance materials
    CHARGE = "charge"  # net formal charge
    RADICALS = "radicals"
    MIXTURE = "mixture"  # several disconnected components
    ISOTOPE = "isotope"
    REACTIVE = "reactive"  # REACTIVE_GROUPS
    IDENTITY = "identity"  # list membership by connectivity key, then close analogue of a blocked row
    LISTED = "listed"  # list membership only (the whole of a multi-component input)
    HALOGEN = "halogen"
    ALERTS = "alerts"  # SENSITISATION_ALERTS
    AUTOXIDATION = "autoxidation"
    PAINS = "pains"
    STANDARDISE = "standardise"  # splitting into components and RDKit's parent (a failure here is a failed rule too)


# A single-component input gets every check. A salt, hydrate, solution or mixture gets the material checks on
# the whole (net charge, the mixture note, list membership of the whole), the molecule checks on each component
# (so a prohibited material is found next to water, ethanol or a counter-ion), and the molecule checks plus
# charge on RDKit's standardised parent (largest organic fragment, uncharged) when it differs from every
# component. Charge is not checked per component: a counter-ion is charged by design; the whole and the parent are.
SINGLE_CHECKS: tuple[Check, ...] = (
    Check.ELEMENTS, Check.CHARGE, Check.RADICALS, Check.MIXTURE, Check.ISOTOPE, Check.REACTIVE, Check.IDENTITY,
    Check.HALOGEN, Check.ALERTS, Check.AUTOXIDATION, Check.PAINS)
WHOLE_CHECKS: tuple[Check, ...] = (Check.CHARGE, Check.MIXTURE, Check.LISTED)
COMPONENT_CHECKS: tuple[Check, ...] = tuple(c for c in SINGLE_CHECKS if c not in (Check.CHARGE, Check.MIXTURE))
PARENT_CHECKS: tuple[Check, ...] = tuple(c for c in SINGLE_CHECKS if c != Check.MIXTURE)
_SHOWN_CHARS = 60  # longest component SMILES quoted in full in a flag's reason


@dataclass(frozen=True, slots=True)
class _Part:
    """One thing the screen looks at: the input itself, one of its components, or its standardised parent."""

    label: str  # put before each flag's reason, e.g. "component 1 of 2 (CCO)"; "" for the input itself
    mol: Mol
    checks: tuple[Check, ...]


def _shown(smiles: str) -> str:
    return smiles if len(smiles) <= _SHOWN_CHARS else smiles[:_SHOWN_CHARS - 3] + "..."


def _labelled(flag: Flag, label: str) -> Flag:
    return replace(flag, reason=f"{label}: {flag.reason}") if label else flag


class SafetyScreen:
    """Applies every rule to one molecule. Immutable after construction, safe to share across threads."""

    def __init__(self, listed: dict[str, list[_Listed]], banned_fps: list[tuple[str, object]], version: str) -> None:
        self._listed = listed
        self._banned_names = [n for n, _ in banned_fps]
        self._banned_fps = [fp for _, fp in banned_fps]
        self.version = version
        self._reactive = [(r, Chem.MolFromSmarts(s), why, s) for r, s, why in REACTIVE_GROUPS]
        self._alerts = [(r, Chem.MolFromSmarts(s), why, s) for r, s, why in SENSITISATION_ALERTS]
        self._autox = Chem.MolFromSmarts(AUTOXIDATION[1])
        params = FilterCatalogParams()
        params.AddCatalog(FilterCatalogParams.FilterCatalogs.PAINS)
        self._pains = FilterCatalog(params)
        self._checks: dict[Check, Callable[[Mol], list[Flag]]] = {
            Check.ELEMENTS: self._element_flags, Check.CHARGE: self._charge_flags,
            Check.RADICALS: self._radical_flags, Check.MIXTURE: self._mixture_flags,
            Check.ISOTOPE: self._isotope_flags, Check.REACTIVE: self._reactive_flags,
            Check.IDENTITY: self._identity_flags, Check.LISTED: self._listed_flags,
            Check.HALOGEN: self._halogen_flags, Check.ALERTS: self._alert_flags,
            Check.AUTOXIDATION: self._autoxidation_flags, Check.PAINS: self._pains_flags,
        }

    def screen(self, mol: Mol) -> SafetyReport:
        """Returns the verdict and every flag, over the input, each of its components and its standardised parent.

        A salt, hydrate or solution is screened component by component (flags name the component, e.g.
        "component 1 of 2 (CC(=O)C(=O)CC(C)C): ..."), so a prohibited material stays blocked next to water,
        ethanol or a counter-ion. Fails closed, rule by rule: a rule that raises adds a "screen.error" flag and a
        "not screened" outcome, and the flags the other rules found stay. The verdict is the worst outcome, so
        "not screened" never hides a block.
        """
        parts, flags = self._parts(mol)
        failed = bool(flags)
        for part in parts:
            for check in part.checks:
                try:
                    found = self._checks[check](part.mol)
                except Exception as exc:  # noqa: BLE001 - fail closed: a failing rule must not read as a pass
                    found, failed = [_error_flag(check, exc)], True
                flags += [_labelled(f, part.label) for f in found]
        verdict = Verdict.from_levels({f.level for f in flags})
        if failed:
            verdict = max(verdict, Verdict.NOT_SCREENED, key=lambda v: v.rank)
        return SafetyReport(verdict, tuple(flags), self.version)

    def _parts(self, mol: Mol) -> tuple[list[_Part], list[Flag]]:
        """Returns the parts to screen and, when splitting or standardising failed, the error flag."""
        try:
            frags = Chem.GetMolFrags(mol, asMols=True)
            if len(frags) == 1:
                parts = [_Part("", mol, SINGLE_CHECKS)]
                seen = {canonical_smiles(mol)} if _may_have_other_parent(mol) else set()
            else:
                parts, seen = [_Part("", mol, WHOLE_CHECKS)], set()
                for i, frag in enumerate(frags, start=1):
                    smiles = canonical_smiles(frag)
                    if smiles not in seen:  # "O.O.CCO": the second water adds nothing
                        seen.add(smiles)
                        parts.append(_Part(f"component {i} of {len(frags)} ({_shown(smiles)})", frag, COMPONENT_CHECKS))
            if seen:
                with without_rdkit_log():
                    parent = rdMolStandardize.ChargeParent(mol)  # cleanup, largest organic fragment, uncharger
                smiles = canonical_smiles(parent)
                if smiles not in seen and parent.GetNumAtoms():
                    parts.append(_Part(f"standardised parent ({_shown(smiles)})", parent, PARENT_CHECKS))
        except Exception as exc:  # noqa: BLE001 - fail closed: screen the input as one molecule, marked unscreened
            return [_Part("", mol, SINGLE_CHECKS)], [_error_flag(Check.STANDARDISE, exc)]
        return parts, []

    @staticmethod
    def _element_flags(mol: Mol) -> list[Flag]:
        flags = []
        for z in sorted({a.GetAtomicNum() for a in mol.GetAtoms()} - _ORGANIC):
            symbol = Chem.GetPeriodicTable().GetElementSymbol(z)
            if z in _METALLOIDS or z not in _NONMETALS:
                kind = "metalloid" if z in _METALLOIDS else "metal" if z else "dummy atom"
                flags.append(Flag("structure.metal", FlagLevel.BLOCK, f"contains {symbol} ({kind}): not an odorant material", "structure"))
            else:
                flags.append(Flag("structure.element", FlagLevel.BLOCK, f"contains {symbol}: an element not found in fragrance materials", "structure"))
        return flags

    @staticmethod
    def _charge_flags(mol: Mol) -> list[Flag]:
        charge = Chem.GetFormalCharge(mol)
        if not charge:
            return []
        return [Flag("structure.charge", FlagLevel.BLOCK, f"net formal charge {charge:+d}: an ion, not a volatile odorant", "structure")]

    @staticmethod
    def _radical_flags(mol: Mol) -> list[Flag]:
        radicals = sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms())
        if not radicals:
            return []
        return [Flag("structure.radical", FlagLevel.BLOCK, f"{radicals} unpaired electron(s): a radical is not a stable material", "structure")]

    @staticmethod
    def _mixture_flags(mol: Mol) -> list[Flag]:
        if len(Chem.GetMolFrags(mol)) < 2:
            return []
        return [Flag("structure.mixture", FlagLevel.CAUTION, "several disconnected components (salt, hydrate, solution "
                     "or mixture): each component and the standardised parent are screened on their own, and the "
                     "verdict is the worst", "structure")]

    @staticmethod
    def _isotope_flags(mol: Mol) -> list[Flag]:
        if not any(a.GetIsotope() for a in mol.GetAtoms()):
            return []
        return [Flag("structure.isotope", FlagLevel.WARNING, "isotope label: list matches use the unlabelled structure", "structure")]

    def _reactive_flags(self, mol: Mol) -> list[Flag]:
        return [Flag(rule, FlagLevel.BLOCK, why, f"SMARTS {smarts}")
                for rule, patt, why, smarts in self._reactive if mol.HasSubstructMatch(patt)]

    def _listed_flags(self, mol: Mol) -> list[Flag]:
        key = connectivity_key(mol)
        if not key:
            raise ValueError("no InChIKey for this molecule, so list membership cannot be checked")
        return [Flag(e.rule, e.level, e.reason, e.source) for e in self._listed.get(key, [])]

    def _identity_flags(self, mol: Mol) -> list[Flag]:
        flags = self._listed_flags(mol)
        if not any(f.level == FlagLevel.BLOCK for f in flags) and self._banned_fps:
            sims = tanimoto_many(morgan_fp(mol), self._banned_fps)
            best = max(range(len(sims)), key=sims.__getitem__)
            if sims[best] >= ANALOGUE_MIN_SIMILARITY:
                flags.append(Flag("analogue.prohibited", FlagLevel.CAUTION,
                                  f"close analogue of prohibited {self._banned_names[best]} (Tanimoto {sims[best]:.2f})",
                                  f"Morgan r2 Tanimoto >= {ANALOGUE_MIN_SIMILARITY} to a blocked row of {IFRA_LIST_FILE}"))
        return flags

    @staticmethod
    def _halogen_flags(mol: Mol) -> list[Flag]:
        if not any(a.GetAtomicNum() in (9, 17, 35, 53) for a in mol.GetAtoms()):
            return []
        return [Flag("structure.halogen", FlagLevel.CAUTION, "contains a halogen: few perfumery materials do; check persistence and toxicity", "structure")]

    def _alert_flags(self, mol: Mol) -> list[Flag]:
        return [Flag(rule, FlagLevel.CAUTION, f"skin-sensitisation alert, {why}", _SMARTS_SOURCE.format(s=smarts))
                for rule, patt, why, smarts in self._alerts if mol.HasSubstructMatch(patt)]

    def _autoxidation_flags(self, mol: Mol) -> list[Flag]:
        if not mol.HasSubstructMatch(self._autox):
            return []
        return [Flag(AUTOXIDATION[0], FlagLevel.WARNING, AUTOXIDATION[2], _SMARTS_SOURCE.format(s=AUTOXIDATION[1]))]

    def _pains_flags(self, mol: Mol) -> list[Flag]:
        return [Flag("pains", FlagLevel.WARNING, f"PAINS substructure {m.GetDescription()} (assay interference, not a hazard)",
                     "RDKit FilterCatalog PAINS") for m in self._pains.GetMatches(mol)]


def _may_have_other_parent(mol: Mol) -> bool:
    """Returns True when RDKit's standardised parent of a one-component molecule may differ from it.

    Only a charged atom (uncharged by the parent) or a metal (disconnected) can make it differ; a neutral organic
    molecule is its own parent, so the standardiser (about 2 ms) is skipped for the common case.
    """
    return any(a.GetFormalCharge() or a.GetAtomicNum() not in _NONMETALS for a in mol.GetAtoms())


def _error_flag(check: Check, exc: Exception) -> Flag:
    reason = (f"the {check} rules could not run on this molecule ({type(exc).__name__}: {exc}); treat it as "
              f"unscreened for them (flags from the other rules stand)")
    return Flag("screen.error", FlagLevel.CAUTION, reason, "odordiff_core/safety.py")


def load_screen(settings: Settings) -> SafetyScreen:
    """Returns the screen built from the IFRA, EU-allergen and T3DB tables (about a second: T3DB is parsed).

    Raises DataError when a table is missing or does not match its checksum. The version carries a hash of the
    three tables so cached verdicts change when a table does.
    """
    from .data import data_path

    # The IFRA and EU tables are package data (package_data/safety), T3DB is in the data directory:
    # data_path/read_rows find each where the manifest says and verify its checksum.
    paths = [data_path(name, settings) for name in (IFRA_LIST_FILE, EU_ALLERGENS_FILE, T3DB_FILE)]
    with without_rdkit_log():
        ifra, banned = _ifra_entries(read_rows(IFRA_LIST_FILE, settings))
        listed: dict[str, list[_Listed]] = {}
        for table in (ifra, _eu_entries(read_rows(EU_ALLERGENS_FILE, settings)),
                      _t3db_entries(read_rows(T3DB_FILE, settings))):
            for key, entries in table.items():
                listed.setdefault(key, []).extend(entries)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()[:8]
    return SafetyScreen(listed, banned, f"{VERSION}+{digest}")


def screen_smiles(texts: list[str], screen: SafetyScreen) -> list[dict]:
    """Returns one JSON-ready dict per input, in input order: input, canonical smiles (or None), verdict, flags.

    Unparseable, empty or over-long inputs get verdict "invalid" with the parser's message; the batch continues.
    """
    from .chem import parse_smiles
    from .errors import InvalidSmiles

    out = []
    for text in texts:
        try:
            mol = parse_smiles(text)
        except InvalidSmiles as exc:
            # "invalid" is deliberately not a Verdict: there is no molecule, so nothing was screened. It exists
            # only in this batch output (and the CLI's), so a bad row stays in place instead of stopping the batch.
            out.append({"input": text, "smiles": None, "verdict": "invalid",
                        "flags": [Flag("input.invalid", FlagLevel.BLOCK, str(exc), "input").to_json()]})
            continue
        report = screen.screen(mol)
        out.append({"input": text, "smiles": canonical_smiles(mol), "verdict": str(report.verdict),
                    "flags": [f.to_json() for f in report.flags]})
    return out
