"""Compare 2 to 4 shortlisted molecules side by side: 2D, interactive 3D, odor radar, properties, safety, nearest known."""
from __future__ import annotations

import streamlit as st

from app_ui import state, widgets, work
from odordiff_core.errors import OdorDiffError

MAX_COMPARE = 4

st.title("Compare")
try:
    items = work.shortlist()  # the current project's, from the store
except OdorDiffError as e:
    st.error(f"The shortlist cannot be read: {widgets.md_text(str(e))}")
    st.stop()
if len(items) < 2:
    st.info("Compare needs at least two molecules on the shortlist. Tick “shortlist” on candidates on the "
            "Generate page, or add molecules from the Analyze page.")
    st.stop()

ss = st.session_state
kept = [s for s in ss.get(state.COMPARE_PICK, []) if s in items]  # drop molecules removed from the shortlist
ss[state.COMPARE_PICK] = kept or list(items)[:MAX_COMPARE]
picked = st.multiselect(f"Molecules to compare (2 to {MAX_COMPARE})", list(items), key=state.COMPARE_PICK,
                        max_selections=MAX_COMPARE)
if len(picked) < 2:
    st.info("Pick at least two molecules.")
    st.stop()

chosen = [items[s] for s in picked]
cols = st.columns(len(chosen))
for n, (col, it) in enumerate(zip(cols, chosen), 1):
    with col:
        st.markdown(f"**:{widgets.SERIES_MARKDOWN[n - 1]}[#{n}]** `{it.smiles}`")
        if it.prompt:
            st.caption(f"for “{widgets.md_text(it.prompt)}” (seed {it.seed})")
        widgets.structure_2d(it.smiles, 240, 180)
        widgets.structure_3d(it.smiles, width=260, height=260)
        widgets.fit_and_confidence(it.fit_percentile, it.confidence, has_brief=it.prompt is not None)
        widgets.safety_badge(it.safety)
        widgets.safety_flags(it.safety)
        widgets.known_and_nearest(it.known, it.nearest, novel=it.novel)

st.subheader("Predicted odor profiles")
widgets.radar(chosen)
st.subheader("Properties")
widgets.property_bars(chosen)
