"""Shortlist: the current project's kept molecules, saved in the store. Notes, ratings and status are saved as soon
as a cell changes, each on the version the table showed: if someone saved the entry first, nothing is overwritten,
the table reloads and the page says so, quoting the note that was not saved. Remove; download CSV and SDF; export
the whole project as a file, or import one."""
from __future__ import annotations

import zlib

import streamlit as st

from app_ui import state, widgets, work
from odordiff_core.errors import OdorDiffError
from odordiff_core.export import to_csv, to_sdf
from odordiff_core.scores import percent_text
from odordiff_core.store import MAX_NOTE_BYTES
from odordiff_core.types import ShortlistStatus, Verdict

ss = st.session_state


def _import_project() -> None:
    upload = ss.get("project_import_file")
    if upload is None:
        ss[state.WORK_OUTCOME] = ("error", "Choose a project file (.zip) to import first.")
        return

    def run_import() -> None:
        ss[state.WORK_PROJECT] = work.store().import_project(work.user(), upload.getvalue()).id

    work.attempt(run_import, done=f"Imported {upload.name} as a new project; it is now the current project.")


def _move_section(project, editable: bool) -> None:
    """Export the current project as a zip (runs and shortlist, with its CSV and SDF); import one as a new project."""
    st.subheader("Move a project between installations")
    c1, c2 = st.columns(2)
    with c1:
        if st.button("Prepare the project file", key="project_export"):
            try:
                ss[state.PROJECT_FILE] = (project.id, work.store().export_project(work.user(), project.id))
            except OdorDiffError as e:
                st.error(f"Cannot export: {widgets.md_text(str(e))}")
        prepared = ss[state.PROJECT_FILE]
        if prepared and prepared[0] == project.id:
            st.download_button("Download the project (.zip)", prepared[1], file_name=f"odordiff_project_{project.id}.zip",
                               mime="application/zip", key="project_download", on_click="ignore")
        st.caption("A zip with project.json (its briefs, results and shortlist), shortlist.csv and shortlist.sdf.")
    with c2:
        st.file_uploader("Project file to import (.zip)", type=["zip"], key="project_import_file", disabled=not editable)
        st.button("Import as a new project", key="project_import", on_click=_import_project, disabled=not editable,
                  help=None if editable else work.VIEWER_REASON)


st.title("Shortlist")
work.show_outcome()  # an import or a removal this click made (app.py shows it first when it runs)
try:
    shown = ss[state.SHORTLIST_SHOWN]  # the editor drawn last run: its cell edits are saved on the versions it showed
    edits = ss.get(shown[0], {}).get("edited_rows") if shown else None
    if edits:
        settled, problems = work.apply_edits(shown[1], edits)
        if problems:
            st.error(widgets.md_text(" ".join(problems)))
        if settled:
            del ss[shown[0]]  # the editor is rebuilt from the store
    project = work.project()
    entries = work.entries()
except OdorDiffError as e:
    st.error(f"The shortlist cannot be read: {widgets.md_text(str(e))}")
    st.stop()
editable = work.can_edit()
st.caption(f"Project “{widgets.md_text(project.name)}” · owner {widgets.md_text(project.owner_email)}")
if not entries:
    st.info("The shortlist is empty. Tick “shortlist” on a candidate on the Generate page, or add a molecule "
            "from the Analyze page.")
    _move_section(project, editable)
    st.stop()

items = list(ss[state.SHORTLIST].values())  # work.entries() mirrored the entries as ShortlistItems, in order
rows = [{
    "your note": e.note,
    "rating": e.rating,
    "status": str(e.status),
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
} for e, it in zip(entries, items)]
versions = tuple((e.id, e.version, e.smiles) for e in entries)
editor_key = f"shortlist_editor_{project.id}_{zlib.crc32(repr(versions).encode())}"  # new versions: a fresh editor
ss[state.SHORTLIST_SHOWN] = (editor_key, versions)
st.data_editor(
    rows, key=editor_key, hide_index=True,
    disabled=True if not editable else [k for k in rows[0] if k not in work.EDITOR_COLUMNS],
    column_config={
        "your note": st.column_config.TextColumn("your note", max_chars=MAX_NOTE_BYTES, width="medium"),
        "rating": st.column_config.NumberColumn("rating", min_value=1, max_value=5, step=1, format="%d ★",
                                                help="1 to 5; empty: not rated."),
        "status": st.column_config.SelectboxColumn("status", options=[s.value for s in ShortlistStatus],
                                                   required=True),
        "fits the brief better than": st.column_config.TextColumn(
            help="Share of the 4,983 known odorants whose predicted fit to the same brief is lower (see About)."),
        "confidence": st.column_config.TextColumn(
            help="How far to trust the predicted odor profile: high, medium or low (see About)."),
    },
)
st.caption("Edits to your note, the rating and the status are saved at once, in this project."
           if editable else work.VIEWER_REASON)

c1, c2, c3 = st.columns([1, 1, 2])
c1.download_button("Download CSV", to_csv(items), file_name="odordiff_shortlist.csv", mime="text/csv",
                   key="download_csv", on_click="ignore")
c2.download_button("Download SDF", to_sdf(items), file_name="odordiff_shortlist.sdf", mime="chemical/x-mdl-sdfile",
                   key="download_sdf", on_click="ignore")
c3.caption("The CSV has SMILES, prompt, seed, model versions, fit percentile, confidence and the raw odor match, "
           "safety verdict and flags with sources, properties and the nearest known odorant. Cells a spreadsheet "
           "could run as a formula are escaped.")

st.subheader("Structures")
cols = st.columns(4)
for i, it in enumerate(items):
    with cols[i % 4]:
        widgets.structure_2d(it.smiles, 220, 170)
        st.caption(f"{i + 1}\\. `{it.smiles}`")  # "1\\." so Markdown does not start a list
        widgets.safety_badge(it.safety)
        st.button("Remove", key=f"rm_{it.smiles}", on_click=work.attempt, args=(work.remove, it.smiles),
                  disabled=not editable)

_move_section(project, editable)
