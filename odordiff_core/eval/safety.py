"""Measures the safety screen on the lists it encodes and on everyday materials (`odordiff evaluate safety`).

- IFRA list: every prohibited / EU-banned row must be blocked, every restricted / specification row caution or worse;
- EU allergens with structures: caution or worse;
- IFRA 2019 glossary molecules not on the prohibited list: the share blocked (false alarms; goal <= 3%).
Each of the first two is also given for the structural rules alone (no list identity, no analogue), which is
what a new molecule gets.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..chem import connectivity_key, parse_smiles, to_mol
from ..config import Settings
from ..datasets import EU_ALLERGENS_FILE, IFRA_LIST_FILE, IFRA_MOLECULES_FILE, read_rows
from ..safety import SafetyReport, is_eu_banned, load_screen
from ..types import FlagLevel, Verdict

LIST_RULES = ("ifra.", "eu.", "t3db.", "analogue.")  # identity/similarity rules; the rest are structural


@dataclass(frozen=True)
class SafetyEvaluation:
    version: str  # the screen's version (rule tables' hash included)
    n_ifra: int  # rows of the IFRA list
    ifra_hit: int  # rows flagged at their status (prohibited/EU-banned -> blocked, others -> caution or worse)
    ifra_structural: int  # rows the structural rules alone flag
    n_eu: int  # EU allergens with a structure
    eu_hit: int  # caution or worse
    eu_structural: int
    n_glossary: int  # IFRA glossary molecules not on the prohibited list
    glossary_caution: int
    glossary_blocked: tuple[str, ...]  # "name (rule, ...)" of each blocked one
    ms_per_molecule: float  # screen time over the glossary molecules


def structural_verdict(report: SafetyReport) -> Verdict:
    """Returns the verdict from the structural rules alone (no list identity or analogue)."""
    return Verdict.from_levels({f.level for f in report.flags if not f.rule.startswith(LIST_RULES)})


def evaluate_safety(settings: Settings) -> SafetyEvaluation:
    """Returns the flag rates of the screen on the IFRA list, the EU allergens and the IFRA glossary (about 4 s)."""
    screen = load_screen(settings)
    ifra = read_rows(IFRA_LIST_FILE, settings)
    hit = struct_hit = 0
    banned_keys = set()
    for r in ifra:
        mol = parse_smiles(r["smiles"])  # the two package tables are checksummed and every row parses
        banned = r["ifra_status"] == "prohibited" or is_eu_banned(r)
        if banned:
            banned_keys.add(connectivity_key(mol))
        rep = screen.screen(mol)
        want = (Verdict.BLOCKED,) if banned else (Verdict.BLOCKED, Verdict.CAUTION)
        hit += rep.verdict in want
        struct_hit += structural_verdict(rep) != Verdict.NO_KNOWN_ISSUE
    eu = [r for r in read_rows(EU_ALLERGENS_FILE, settings) if r["smiles"]]
    reps = [screen.screen(parse_smiles(r["smiles"])) for r in eu]
    n_eu = sum(r.verdict in (Verdict.BLOCKED, Verdict.CAUTION) for r in reps)
    n_eu_struct = sum(structural_verdict(r) != Verdict.NO_KNOWN_ISSUE for r in reps)
    gloss = read_rows(IFRA_MOLECULES_FILE, settings)
    t0 = time.perf_counter()
    n = n_caution = 0
    blocked = []
    for r in gloss:
        material = to_mol(r["IsomericSMILES"])
        if material is None or connectivity_key(material) in banned_keys:
            continue
        rep = screen.screen(material)
        n += 1
        n_caution += rep.verdict == Verdict.CAUTION
        if rep.verdict == Verdict.BLOCKED:
            blocked.append(f"{r['name']} ({', '.join(f.rule for f in rep.flags if f.level == FlagLevel.BLOCK)})")
    ms = (time.perf_counter() - t0) / max(n, 1) * 1000
    return SafetyEvaluation(screen.version, len(ifra), hit, struct_hit, len(eu), n_eu, n_eu_struct, n, n_caution,
                            tuple(blocked), ms)
