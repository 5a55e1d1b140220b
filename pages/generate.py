"""Generate: a brief -> editable descriptor weights -> candidate molecules, scored, screened, shortlistable."""
from __future__ import annotations

import zlib

import streamlit as st

from app_ui import resources, state, widgets, work
from odordiff_core.config import GENERATION
from odordiff_core.errors import OdorDiffError
from odordiff_core.export import item_from_candidate
from odordiff_core.types import Note

EXAMPLES = (
    "a fresh summer morning by the sea with a hint of lemon",
    "old library: leather-bound books and pipe tobacco",
    "juicy pink grapefruit, slightly bitter",
    "creamy sandalwood base, warm, not sweet",
    "green violet leaf heart with a metallic edge",
)
NOTE_CHOICES = ("from the brief", "any", *(n.value for n in Note))
WEIGHT_ROWS = 12  # descriptors shown in the weight editor
EXPLORATION_HELP = (
    "How far from known materials. Low: the known odorants whose descriptors best match the brief are edited, "
    f"with this share of each one's structure (its SELFIES tokens, at least {GENERATION.min_remasked}) regenerated "
    "toward the brief, so candidates are "
    "close analogues (safe bets). 1: de novo, every token generated (bolder, further from anything known). "
    f"The default, {GENERATION.exploration:g}, fitted briefs best in our evaluation. "
    "“More like this” ignores it and keeps the scaffold instead. Each candidate shows its nearest known odorant.")
GRID_COLS = 4

ss = st.session_state


def _note(choice: str, from_brief: str | None) -> str | None:
    """Returns the note filter of the request: the brief's note word, none ("any"), or the one picked."""
    if choice == "from the brief":
        return from_brief
    return None if choice == "any" else choice


def _use_example(text: str) -> None:
    ss[state.PROMPT] = text


def _more_like_this(smiles: str) -> None:
    ss[state.GEN_SCAFFOLD] = smiles
    ss["gen_pending"] = True


def _clear_scaffold() -> None:
    ss[state.GEN_SCAFFOLD] = None


def _toggle_shortlist(candidate, prompt: str) -> None:
    if ss[f"sl_{candidate.smiles}"]:  # saved in the current project at once; a failure is shown on the next run
        work.attempt(work.keep, item_from_candidate(candidate, prompt))
    else:
        work.attempt(work.remove, candidate.smiles)


st.title("Generate")
prompt = st.text_area("Describe the scent", key=state.PROMPT, height=90, max_chars=2000,
                      placeholder="e.g. a fresh summer morning by the sea with a hint of lemon").strip()
with st.container(horizontal=True):
    st.caption("Try:")
    for i, ex in enumerate(EXAMPLES):
        st.button(ex, key=f"gen_ex_{i}", on_click=_use_example, args=(ex,), type="tertiary")
if not prompt:
    st.info("Describe the scent you want, or click an example.")
    st.stop()

try:
    pipeline = resources.get_pipeline()
    interpretation = ss[state.INTERPRETATIONS].get(prompt)
    if interpretation is None:
        interpretation = pipeline.interpret(prompt)
        ss[state.INTERPRETATIONS][prompt] = interpretation
except OdorDiffError as e:
    st.error(f"Cannot generate: {widgets.md_text(str(e))}")
    st.stop()

st.subheader("What the brief asks for")
if interpretation.message:
    st.warning(widgets.md_text(interpretation.message))
wcol, icol = st.columns([3, 2])
with icol:
    if interpretation.excluded:
        st.markdown("**Excluded:** " + widgets.md_text(", ".join(interpretation.excluded)))
    if interpretation.unmapped:
        st.markdown("**Not understood (ignored):** " + widgets.md_text(", ".join(interpretation.unmapped)))
    read_terms = {r.term.lower() for r in interpretation.readings}
    for word, labels in interpretation.approximations.items():
        if word not in read_terms:  # a word with a reading is shown below, with its evidence
            st.caption(f"“{widgets.md_text(word)}” has no descriptor of its own: read as {widgets.md_text(', '.join(labels))}")
    for line in interpretation.evidence_lines():
        st.caption(widgets.md_text(line))
    if interpretation.note:
        st.caption(f"The brief suggests a **{interpretation.note}** note.")
    if interpretation.truncated_chars:
        st.caption(f"The last {interpretation.truncated_chars} characters of the brief were not read.")
with wcol:
    shown = list(interpretation.weights.items())[:WEIGHT_ROWS]
    rows = [{"descriptor": lab, "weight": round(w, 3)} for lab, w in shown]
    edited = st.data_editor(
        rows, key=f"weights_{zlib.crc32(prompt.encode())}", num_rows="dynamic", hide_index=True,
        column_config={
            "descriptor": st.column_config.SelectboxColumn(
                "descriptor", options=sorted(set(pipeline.labels) - set(interpretation.excluded)), required=True),
            "weight": st.column_config.NumberColumn("weight", min_value=0.0, max_value=1.0, step=0.05, format="%.2f"),
        })
    st.caption("Edit the weights, delete rows or add descriptors; edited weights replace the interpretation.")
edited_weights = {r["descriptor"]: float(r["weight"]) for r in edited if r.get("descriptor") and r.get("weight") is not None}
weights = None if edited_weights == {lab: round(w, 3) for lab, w in shown} else edited_weights

with st.expander("Settings and filters", expanded=False):
    st.slider("Exploration: close analogues ↔ de novo", GENERATION.exploration_slider_min, 1.0, key=state.EXPLORATION,
              step=0.05, help=EXPLORATION_HELP)
    s1, s2, s3 = st.columns(3)
    s1.slider("Candidates", 4, GENERATION.max_n, key=state.N, step=4)
    s1.number_input("Seed", 0, 2**31 - 1, key=state.SEED, help="Same brief, settings and seed: same molecules.")
    s2.slider("Guidance", GENERATION.guidance_min, GENERATION.guidance_slider_max, key=state.GUIDANCE, step=0.5,
              help="How strongly the brief steers the generator (0 = ignore the brief).")
    s2.radio("Note", NOTE_CHOICES, key=state.NOTE, horizontal=True,
             help="Keep only candidates whose estimated boiling point puts them in this note.")
    s3.checkbox("Limit molecular weight", key=state.MW_ON)
    s3.slider("MW range (g/mol)", 80, 450, key=state.MW_RANGE, disabled=not ss[state.MW_ON])
    s3.checkbox("Hide “caution” molecules", key=state.HIDE_CAUTION,
                help="Blocked molecules are always hidden; this also hides those with a caution flag.")

scaffold = ss[state.GEN_SCAFFOLD]
if scaffold:
    c1, c2 = st.columns([4, 1])
    c1.info(f"More like this: keeping the scaffold of `{scaffold}`.")
    c2.button("Stop keeping it", key="gen_clear_scaffold", on_click=_clear_scaffold)

editable = work.can_edit()  # a viewer reads and analyzes only
clicked = st.button("Generate", type="primary", key="gen_go", disabled=not editable,
                    help=None if editable else work.VIEWER_REASON)
if clicked or ss.pop("gen_pending", False):
    from odordiff_core.pipeline import GenerateRequest

    request = GenerateRequest(
        prompt=prompt, n=int(ss[state.N]), seed=int(ss[state.SEED]), guidance=float(ss[state.GUIDANCE]),
        weights=weights, note=_note(ss[state.NOTE], interpretation.note),
        mw_range=tuple(float(x) for x in ss[state.MW_RANGE]) if ss[state.MW_ON] else None,
        hide_caution=bool(ss[state.HIDE_CAUTION]), keep_scaffold_of=scaffold,
        exploration=float(ss[state.EXPLORATION]))
    try:
        with st.status("Generating candidates…", expanded=False) as status:
            result = resources.generate(request)
            status.update(label=f"{len(result.candidates)} candidates", state="complete")
    except OdorDiffError as e:
        st.error(f"Cannot generate: {widgets.md_text(str(e))}")
        st.stop()
    ss[state.GEN_RESULT] = result
    try:
        saved_in = work.save_run_once(result)
        st.caption(f"Saved in the project “{widgets.md_text(saved_in.name)}” (see History).")
    except OdorDiffError as e:
        st.warning(f"This run was NOT saved: {widgets.md_text(str(e))}")
    if resources.get_result_cache().status == "unavailable":
        st.caption("The shared cache is unavailable: this result was computed here and not shared.")

result = ss[state.GEN_RESULT]
if result is None:
    st.stop()

req = result.request
st.subheader(f"Candidates for “{widgets.md_text(req.prompt)}”")
st.caption(f"{result.n_sampled} sampled · {result.n_valid} valid · {result.n_unique} unique · {result.n_novel} novel · "
           f"{result.n_blocked} blocked by the safety screen · seed {req.seed} · exploration {req.exploration:g} · "
           f"{result.model_version}")
if result.message:
    st.warning(widgets.md_text(result.message))
if not result.candidates:
    st.stop()

try:
    kept: set[str] | None = set(work.shortlist())
except OdorDiffError as e:
    kept = None
    st.warning(f"Keeping candidates is unavailable: {widgets.md_text(str(e))}")
cols = st.columns(GRID_COLS)
for i, cand in enumerate(result.candidates):
    with cols[i % GRID_COLS], st.container(border=True):
        widgets.structure_2d(cand.smiles, 240, 180)
        st.markdown(f"**#{cand.rank}** `{cand.smiles}`")
        widgets.fit_and_confidence(cand.fit_percentile, cand.confidence)
        note = cand.properties.note if cand.properties and cand.properties.note else "not computed"
        st.markdown(f"note **{note}**  \n" + ", ".join(cand.top_descriptors))
        widgets.safety_badge(cand.safety)
        if cand.novel:
            st.caption("novel: not in the data sets")
        else:
            known = cand.nearest.name or cand.nearest.smiles if cand.nearest else "a known material"
            st.caption(f"known as {widgets.md_text(known)}")
        widgets.nearest_caption(cand.nearest)
        in_list = kept is not None and cand.smiles in kept
        if ss.get(f"sl_{cand.smiles}") != in_list:
            ss[f"sl_{cand.smiles}"] = in_list
        st.checkbox("shortlist", key=f"sl_{cand.smiles}", on_change=_toggle_shortlist, args=(cand, req.prompt),
                    disabled=kept is None or not editable, help=None if editable else work.VIEWER_REASON)
        st.button("More like this", key=f"more_{cand.smiles}", on_click=_more_like_this, args=(cand.smiles,),
                  disabled=not editable, help=None if editable else work.VIEWER_REASON)
