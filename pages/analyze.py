"""Analyze a molecule: paste a SMILES (or pick one from the shortlist) and see everything the core knows."""
from __future__ import annotations

import streamlit as st

from app_ui import resources, state, widgets, work
from odordiff_core.errors import OdorDiffError
from odordiff_core.export import item_from_report

EXAMPLES = {"linalool": "CC(C)=CCCC(C)(O)C=C", "vanillin": "COc1cc(C=O)ccc1O",
            "cis-jasmone": "CCC=CCC1=C(C)CCC1=O", "ambroxide": "CC1(C)CCCC2(C)C1CCC1(C)OCCC12"}


def _pick(smiles: str) -> None:
    st.session_state[state.ANALYZE_SMILES] = smiles


st.title("Analyze a molecule")
try:
    kept: dict | None = work.shortlist()  # the current project's, from the store
except OdorDiffError as e:
    kept = None
    st.warning(f"The shortlist is unavailable: {widgets.md_text(str(e))}")
shortlisted = list(kept or {})
c1, c2 = st.columns([3, 2])
with c2:
    if shortlisted:
        pick = st.selectbox("…or pick from the shortlist", ["—"] + shortlisted, key="analyze_pick")
        if pick != "—" and pick != st.session_state[state.ANALYZE_SMILES]:
            _pick(pick)
    with st.container(horizontal=True):
        st.caption("Examples:")
        for name, smi in EXAMPLES.items():
            st.button(name, key=f"analyze_ex_{name}", on_click=_pick, args=(smi,))
with c1:
    text = st.text_input("SMILES", key=state.ANALYZE_SMILES, placeholder="e.g. CC(C)=CCCC(C)(O)C=C").strip()

if not text:
    st.info("Paste a SMILES, pick an example, or pick a molecule from the shortlist.")
    st.stop()

reports = st.session_state[state.ANALYZE_REPORTS]
report = reports.get(text)
if report is None:
    try:
        with st.spinner("Predicting the odor, screening, computing properties…"):
            report = resources.get_reporter().report_smiles(text)
    except OdorDiffError as e:  # a model or data file is missing: nothing can be computed
        st.error(f"Cannot analyze this molecule: {widgets.md_text(str(e))}")
        st.stop()
    reports[text] = report

if report.error:
    st.error(widgets.md_text(report.error))
    st.stop()

in_list = kept is not None and report.smiles in kept
editable = work.can_edit()
if st.button("On the shortlist ✓" if in_list else "Add to shortlist", key="analyze_add",
             disabled=in_list or kept is None or not editable, help=None if editable else work.VIEWER_REASON):
    try:
        work.keep(item_from_report(report))
    except OdorDiffError as e:
        st.error(f"Not kept: {widgets.md_text(str(e))}")
    else:
        st.rerun()
widgets.report_card(report)
