"""Session-state key names, their defaults, and restoring a saved request into the Generate page's widgets.

Session state holds this user's inputs and results only, never models or clients (those are in
resources.py); saved work (shortlist, history) lives in the store (work.py). Widget values normally vanish
when the page that owns the widget is not shown; the keys in `PERSISTENT_WIDGETS` are re-assigned on every
run so a perfumer's settings survive page switches.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from odordiff_core.config import GENERATION

# Keys of non-widget state.
GEN_RESULT = "gen_result"  # the GenerationResult on screen, or None
GEN_CACHE = "gen_cache"  # request JSON -> GenerationResult: a repeated request answers instantly
GEN_SCAFFOLD = "gen_scaffold"  # SMILES whose scaffold "more like this" keeps, or None
INTERPRETATIONS = "interpretations"  # prompt -> Interpretation, this session
SHORTLIST = "shortlist"  # the current project's shortlist as last read from the store (work.shortlist)
ANALYZE_REPORTS = "analyze_reports"  # SMILES text -> MoleculeReport, this session
WORK_USER = "work_user"  # the store's User record of who is working (read once per session), or None
WORK_PROJECT = "work_project"  # id of the current project, or None: the user's default project
PROJECT_PICKER = "work_project_picker"  # the sidebar's project selectbox (copied to WORK_PROJECT when changed)
WORK_OUTCOME = "work_outcome"  # ("error" | "success", text) a widget callback left for the next run to show once
LAST_SAVED_RUN = "last_saved_run"  # (project id, request key) of the last run saved: a repeat is not saved twice
PROJECT_FILE = "project_file"  # (project id, zip bytes) prepared on the Shortlist page for download, or None
SHORTLIST_SHOWN = "shortlist_shown"  # (editor key, ((entry id, version, smiles), ...)) the Shortlist editor showed

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
    WORK_USER: lambda: None,
    WORK_PROJECT: lambda: None,
    LAST_SAVED_RUN: lambda: None,
    PROJECT_FILE: lambda: None,
    SHORTLIST_SHOWN: lambda: None,
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


def restore_request(request: Any) -> None:
    """Sets the Generate page's widgets to a saved GenerateRequest (History's "Reopen"), each clamped to its widget's
    range; the brief's edited weights are not restored into the weight editor (the saved result keeps them)."""
    ss, g = st.session_state, GENERATION
    ss[PROMPT] = request.prompt
    ss[N] = min(max(4, request.n - request.n % 4), g.max_n)  # the slider runs from 4 in steps of 4
    ss[SEED] = min(request.seed, 2**31 - 1)
    ss[GUIDANCE] = min(max(g.guidance_min, request.guidance), g.guidance_slider_max)
    ss[EXPLORATION] = max(g.exploration_slider_min, request.exploration)
    ss[NOTE] = request.note or "any"
    ss[MW_ON] = request.mw_range is not None
    if request.mw_range is not None:
        ss[MW_RANGE] = tuple(min(max(80, round(x)), 450) for x in request.mw_range)
    ss[HIDE_CAUTION] = request.hide_caution
    ss[GEN_SCAFFOLD] = request.keep_scaffold_of
