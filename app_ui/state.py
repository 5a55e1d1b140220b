"""Session-state key names, their defaults and the helpers that change the shortlist.

Session state holds this user's inputs and results only, never models or clients (those are in
resources.py). Widget values normally vanish when the page that owns the widget is not shown; the keys
in `PERSISTENT_WIDGETS` are re-assigned on every run so a perfumer's settings survive page switches.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from odordiff_core.config import GENERATION
from odordiff_core.export import ShortlistItem

# Keys of non-widget state.
GEN_RESULT = "gen_result"  # the GenerationResult on screen, or None
GEN_CACHE = "gen_cache"  # request JSON -> GenerationResult: a repeated request answers instantly
GEN_SCAFFOLD = "gen_scaffold"  # SMILES whose scaffold "more like this" keeps, or None
INTERPRETATIONS = "interpretations"  # prompt -> Interpretation, this session
SHORTLIST = "shortlist"  # canonical SMILES -> ShortlistItem, in the order they were added
ANALYZE_REPORTS = "analyze_reports"  # SMILES text -> MoleculeReport, this session

# Widget keys whose value must survive page switches.
PROMPT = "gen_prompt"
N = "gen_n"
SEED = "gen_seed"
GUIDANCE = "gen_guidance"
EXPLORATION = "gen_exploration"
NOTE = "gen_note"
MW_ON = "gen_mw_on"
MW_RANGE = "gen_mw_range"
HIDE_CAUTION = "gen_hide_caution"
ANALYZE_SMILES = "analyze_smiles"
COMPARE_PICK = "compare_pick"

_DEFAULTS: dict[str, Callable[[], Any]] = {  # factories, so no two sessions share a mutable default
    GEN_RESULT: lambda: None,
    GEN_CACHE: dict,
    GEN_SCAFFOLD: lambda: None,
    INTERPRETATIONS: dict,
    SHORTLIST: dict,
    ANALYZE_REPORTS: dict,
    PROMPT: lambda: "",
    N: lambda: GENERATION.n,
    SEED: lambda: GENERATION.seed,
    GUIDANCE: lambda: GENERATION.guidance,
    EXPLORATION: lambda: GENERATION.exploration,
    NOTE: lambda: "from the brief",
    MW_ON: lambda: False,
    MW_RANGE: lambda: (120, 300),
    HIDE_CAUTION: lambda: False,
    ANALYZE_SMILES: lambda: "",
}
PERSISTENT_WIDGETS = (PROMPT, N, SEED, GUIDANCE, EXPLORATION, NOTE, MW_ON, MW_RANGE, HIDE_CAUTION, ANALYZE_SMILES,
                      COMPARE_PICK)


def init_state() -> None:
    """Sets every missing key to its default and keeps widget values across page switches."""
    ss = st.session_state
    for key, make in _DEFAULTS.items():
        if key not in ss:
            ss[key] = make()
    for key in PERSISTENT_WIDGETS:
        if key in ss:
            ss[key] = ss[key]  # re-assigning stops Streamlit from dropping an unrendered widget's value


def shortlist() -> dict[str, ShortlistItem]:
    """Returns this session's shortlist (SMILES -> item), in insertion order."""
    return st.session_state[SHORTLIST]


def add_to_shortlist(item: ShortlistItem) -> None:
    """Adds `item`; an item already on the list keeps its place and the perfumer's note."""
    current = shortlist().get(item.smiles)
    if current is None:
        shortlist()[item.smiles] = item


def remove_from_shortlist(smiles: str) -> None:
    shortlist().pop(smiles, None)
