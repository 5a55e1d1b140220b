"""History: the current project's past briefs, newest first. "Reopen" shows the saved result exactly (the same
request and seed, the candidates as they were generated); when a model changed since, the page says which and
offers to run the same request again with today's models."""
from __future__ import annotations

import streamlit as st

from app_ui import resources, state, widgets, work
from odordiff_core.errors import OdorDiffError

ss = st.session_state


def _open(result) -> None:
    """Puts `result` on the Generate page (its request in the widgets, the result on screen) and goes there."""
    state.restore_request(result.request)
    ss[state.GEN_RESULT] = result
    ss[state.GEN_CACHE][resources.request_key(result.request)] = result
    st.switch_page("pages/generate.py")


st.title("History")
try:
    project = work.project()
    runs = work.store().runs(work.user(), project.id)
except OdorDiffError as e:
    st.error(f"The history cannot be read: {widgets.md_text(str(e))}")
    st.stop()
st.caption(f"Briefs run in the project “{widgets.md_text(project.name)}”, newest first.")
if not runs:
    st.info("No brief has been saved in this project yet: every generation on the Generate page is saved here.")
    st.stop()

try:
    current = work.model_versions(resources.get_pipeline())
except OdorDiffError as e:
    current = None
    st.warning(f"Cannot check whether the models changed: {widgets.md_text(str(e))}")
editable = work.can_edit()

for run in runs:
    req = run.request
    with st.container(border=True):
        st.markdown(f"**“{widgets.md_text(run.prompt)}”**")
        n_found = len(run.result["candidates"]) if run.result else 0
        edited = " · edited weights" if req.get("weights") else ""
        st.caption(f"{run.created_at:%Y-%m-%d %H:%M} UTC · {n_found} candidates · n {req.get('n')} · seed "
                   f"{req.get('seed')} · guidance {req.get('guidance')} · exploration {req.get('exploration')}{edited}")
        changed = work.changed_models(run.model_versions, current) if current is not None else []
        if changed:
            st.warning("The model changed since: " + widgets.md_text("; ".join(changed)) + ". Reopen shows the "
                       "result as it was saved; Regenerate runs the same request and seed with today's models.")
        c1, c2, _ = st.columns([1, 2, 3])
        reopen = c1.button("Reopen", key=f"reopen_{run.id}", disabled=run.result is None,
                           help=None if run.result else "This run's result was not saved.")
        regenerate = changed and c2.button("Regenerate with today's models", key=f"regen_{run.id}",
                                           disabled=not editable, help=None if editable else work.VIEWER_REASON)
    if reopen:
        from odordiff_core.pipeline import GenerationResult

        _open(GenerationResult.from_json(run.result))
    if regenerate:
        from odordiff_core.pipeline import GenerateRequest

        try:
            with st.spinner("Generating with today's models…"):
                result = resources.generate(GenerateRequest.from_json(req))
        except OdorDiffError as e:
            st.error(f"Cannot regenerate: {widgets.md_text(str(e))}")
            st.stop()
        try:
            work.save_run_once(result)
        except OdorDiffError as e:
            ss[state.WORK_OUTCOME] = ("error", f"The new run was NOT saved: {e}")
        _open(result)
