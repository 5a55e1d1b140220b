"""Shortlist: the kept molecules with the perfumer's notes; remove; download CSV and SDF."""
from __future__ import annotations

import dataclasses

import streamlit as st

from app_ui import state, widgets
from odordiff_core.export import to_csv, to_sdf
from odordiff_core.scores import percent_text
from odordiff_core.types import Verdict


def _remove(smiles: str) -> None:
    state.remove_from_shortlist(smiles)
    st.session_state.pop("shortlist_editor", None)  # its edits refer to row positions of the old list


st.title("Shortlist")
items = state.shortlist()
if not items:
    st.info("The shortlist is empty. Tick “shortlist” on a candidate on the Generate page, or add a molecule "
            "from the Analyze page.")
    st.stop()

rows = [{
    "your note": it.user_note,
    "smiles": it.smiles,
    "safety": it.safety.verdict if it.safety else Verdict.NOT_SCREENED,
    "fits the brief better than": (f"{percent_text(it.fit_percentile)} of known odorants"
                                   if it.fit_percentile is not None
                                   else "not computed" if it.prompt else "no brief (analysed)"),
    "confidence": str(it.confidence) if it.confidence is not None else "not computed",
    "note": (it.properties.note or "") if it.properties else "",
    "top descriptors": ", ".join(lab for lab, _ in it.odor.top(4)) if it.odor else "not computed",
    "prompt": it.prompt or "",
    "source": it.source,
} for it in items.values()]
edited = st.data_editor(
    rows, key="shortlist_editor", hide_index=True, disabled=[k for k in rows[0] if k != "your note"],
    column_config={
        "your note": st.column_config.TextColumn("your note", max_chars=500, width="medium"),
        "fits the brief better than": st.column_config.TextColumn(
            help="Share of the 4,983 known odorants whose predicted fit to the same brief is lower (see About)."),
        "confidence": st.column_config.TextColumn(
            help="How far to trust the predicted odor profile: high, medium or low (see About)."),
    },
)
for row in edited:  # write the notes back; ShortlistItem is frozen, so replace it
    it = items.get(row["smiles"])
    if it is not None and (row["your note"] or "") != it.user_note:
        items[row["smiles"]] = dataclasses.replace(it, user_note=row["your note"] or "")

kept = list(items.values())
c1, c2, c3 = st.columns([1, 1, 2])
c1.download_button("Download CSV", to_csv(kept), file_name="odordiff_shortlist.csv", mime="text/csv",
                   key="download_csv", on_click="ignore")
c2.download_button("Download SDF", to_sdf(kept), file_name="odordiff_shortlist.sdf", mime="chemical/x-mdl-sdfile",
                   key="download_sdf", on_click="ignore")
c3.caption("The CSV has SMILES, prompt, seed, model versions, fit percentile, confidence and the raw odor match, "
           "safety verdict and flags with sources, properties and the nearest known odorant. Cells a spreadsheet "
           "could run as a formula are escaped.")

st.subheader("Structures")
cols = st.columns(4)
for i, it in enumerate(kept):
    with cols[i % 4]:
        widgets.structure_2d(it.smiles, 220, 170)
        st.caption(f"{i + 1}\\. `{it.smiles}`")  # "1\\." so Markdown does not start a list
        widgets.safety_badge(it.safety)
        st.button("Remove", key=f"rm_{it.smiles}", on_click=_remove, args=(it.smiles,))
