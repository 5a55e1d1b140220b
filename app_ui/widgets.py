"""Small render functions shared by the pages. They draw results the core computed; they compute nothing new.

Depictions are cached with `st.cache_data` (pure functions of the SMILES, shared across sessions).
The 3D viewer loads 3Dmol.js from this app's own static folder, never from a CDN: no request leaves
the machine. Without WebGL, or if the script cannot load, the viewer shows the 2D depiction and says why.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence

import plotly.graph_objects as go
import py3Dmol
import streamlit as st

from odordiff_core.chem import to_mol
from odordiff_core.depict import conformer_molblock, mol_svg
from odordiff_core.export import ShortlistItem
from odordiff_core.scores import Confidence, percent_text
from odordiff_core.types import FlagLevel, Verdict

THREE_DMOL_JS = "/app/static/3Dmol-min.js"  # served by Streamlit from static/ (enableStaticServing)
VIEWER_HEIGHT = 300  # px
VERDICT_COLORS = {Verdict.BLOCKED: "red", Verdict.CAUTION: "orange", Verdict.NO_KNOWN_ISSUE: "green",
                  Verdict.NOT_SCREENED: "gray"}
SERIES_COLOURS = ("#7a4a8c", "#e07b39", "#2a9d8f", "#c0392b")  # molecule 1..4 in Compare charts
SERIES_MARKDOWN = ("violet", "orange", "green", "red")  # the nearest Streamlit markdown colours, for headings
CONFIDENCE_COLORS = {Confidence.HIGH: "blue", Confidence.MEDIUM: "violet", Confidence.LOW: "gray"}  # not safety's colours
LEVEL_ICONS = {FlagLevel.BLOCK: ":red[:material/block:]", FlagLevel.CAUTION: ":orange[:material/warning:]",
               FlagLevel.WARNING: ":gray[:material/info:]"}


@st.cache_data(max_entries=4096, show_spinner=False)
def structure_svg(smiles: str, width: int = 260, height: int = 200) -> str | None:
    """Returns the 2D SVG of a SMILES, or None when it does not parse."""
    mol = to_mol(smiles)
    return None if mol is None else mol_svg(mol, width, height)


@st.cache_data(max_entries=512, show_spinner=False)
def structure_molblock(smiles: str) -> str | None:
    """Returns a 3D molblock (ETKDGv3 + MMFF, seed 0), or None when RDKit cannot embed the molecule."""
    mol = to_mol(smiles)
    return None if mol is None else conformer_molblock(mol, seed=0)


# Every ASCII punctuation mark Markdown, GFM, KaTeX ($), HTML/entities (<, &) or Streamlit's directives
# (:red[…], :material/…:, :smile:) give a meaning to; CommonMark shows a backslash-escaped one as itself.
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>$:@&=^/")
_WORD_JOINER = "\u2060"  # invisible, zero width, no line break: splits a pattern without changing what is read
# Parts of the text that remark-gfm (bare URLs, e-mail addresses) and remark-emoji / Streamlit's icon plugin
# match on the *unescaped* text nodes after parsing, so a backslash alone does not stop them.
_AUTOLINK_HEAD = re.compile(r"(?i)(?<=[a-z0-9])(?=:)|(?<=www)(?=\.)|(?=@)")


def md_text(text: str) -> str:
    """Returns `text` to show verbatim inside Streamlit Markdown (st.markdown, st.error, headers, captions…).

    Rules: every Markdown-active ASCII punctuation mark gets a backslash (links, images, emphasis, code, HTML,
    `$` maths, `:colour[…]` directives, lists, tables, headings); a word joiner (U+2060, invisible) goes before
    every `:` that follows a letter or digit, after `www` before `.`, and before `@`, so a URL, an e-mail address,
    an `:emoji:` or a `:material/…:` icon is neither autolinked nor replaced; line breaks become spaces (no
    block syntax can start). The reader sees the characters typed, with no backslash.
    """
    text = " ".join(text.splitlines())
    text = _AUTOLINK_HEAD.sub(_WORD_JOINER, text)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def structure_2d(smiles: str, width: int = 260, height: int = 200) -> None:
    svg = structure_svg(smiles, width, height)
    if svg is None:
        st.warning(f"Cannot draw {md_text(repr(smiles))}: RDKit cannot parse it.")
    else:
        st.image(svg, width=width)


def viewer_3d_html(smiles: str, width: int = 320, height: int = VIEWER_HEIGHT) -> str:
    """Returns the HTML of an interactive 3D view (py3Dmol + local 3Dmol.js) with a 2D fallback."""
    svg = structure_svg(smiles, width, height - 40) or ""
    block = structure_molblock(smiles)
    if block is None:
        return (f"<div data-odordiff='fallback'>{svg}<p style='font:13px sans-serif'>No 3D conformer: "
                f"RDKit could not embed this molecule. Showing the 2D structure.</p></div>")
    view = py3Dmol.view(width=width, height=height, js=THREE_DMOL_JS)
    view.addModel(block, "sdf")
    view.setStyle({"stick": {"radius": 0.15}, "sphere": {"scale": 0.22}})
    view.zoomTo()
    fallback = (f"<div id='fallback' data-odordiff='fallback' style='display:none'>{svg}"
                f"<p id='fallback-note' style='font:13px sans-serif'></p></div>")
    # Runs before py3Dmol's script: without WebGL the 3Dmol promise never resolves, so nothing draws a blank box.
    guard = """<script>
(function () {
  function fallBack(why) {
    var v = document.getElementById('viewer'); if (v) { v.style.display = 'none'; }
    document.getElementById('fallback').style.display = 'block';
    document.getElementById('fallback-note').textContent = why + ' Showing the 2D structure instead.';
    window.odordiffFallback = why;
  }
  var gl = null;
  try { var c = document.createElement('canvas'); gl = c.getContext('webgl2') || c.getContext('webgl'); } catch (e) {}
  if (!gl) { window.$3Dmolpromise = new Promise(function () {}); fallBack('3D view unavailable: this browser has no WebGL.'); return; }
  setTimeout(function () { if (typeof $3Dmol === 'undefined') { fallBack('3D view unavailable: the local 3Dmol.js did not load.'); } }, 8000);
})();
</script>"""
    return (f"<!doctype html><html><body style='margin:0'>{fallback}{guard}"
            f"<div id='viewer' data-odordiff='viewer-3d' data-smiles=\"{html.escape(smiles, quote=True)}\">"
            f"{view._make_html()}</div></body></html>")


def structure_3d(smiles: str, width: int = 320, height: int = VIEWER_HEIGHT) -> None:
    """Renders the 3D viewer of `smiles` in an iframe (st.iframe where this Streamlit has it)."""
    page = viewer_3d_html(smiles, width, height)
    if hasattr(st, "iframe"):
        st.iframe(page, height=height + 10)
    else:  # Streamlit < 1.5x
        import streamlit.components.v1 as components

        components.html(page, height=height + 10)


def fit_text(fit_percentile: float | None, has_brief: bool = True) -> str:
    """Returns the fit percentile in words: "fits the brief better than 93 % of known odorants"."""
    if fit_percentile is None:
        return "fit to the brief: not computed" if has_brief else "fit to a brief: none (analysed, not generated)"
    return f"fits the brief better than **{percent_text(fit_percentile)}** of known odorants"


def confidence_badge(confidence: Confidence | None) -> None:
    """Shows how far to trust the predicted profile (high / medium / low); None: not computed."""
    if confidence is None:
        st.badge("confidence: not computed", color="gray")
    else:
        st.badge(f"confidence: {confidence}", color=CONFIDENCE_COLORS[confidence])


def fit_and_confidence(fit_percentile: float | None, confidence: Confidence | None, has_brief: bool = True) -> None:
    """The two scores a perfumer reads on a card: the fit percentile, then the confidence badge."""
    st.markdown(fit_text(fit_percentile, has_brief))
    confidence_badge(confidence)


def safety_badge(safety) -> None:
    """Shows the safety verdict as a coloured badge; None means the screen did not run."""
    verdict = safety.verdict if safety is not None else Verdict.NOT_SCREENED
    st.badge(f"safety: {verdict}", color=VERDICT_COLORS.get(verdict, "gray"))


def safety_flags(safety) -> None:
    """Lists every flag with its reason and source."""
    if safety is None:
        st.caption("Safety: not screened.")
        return
    if not safety.flags:
        st.caption(f"No flag from the screen ({safety.version}). This is not a safety assessment.")
        return
    for f in safety.flags:
        st.markdown(f"{LEVEL_ICONS.get(f.level, '•')} **{md_text(f.rule)}** ({f.level}): {md_text(f.reason)}")
        st.caption(f"source: {md_text(f.source)}")


def odor_bars(profile, k: int = 12) -> None:
    """Horizontal bars of the k most probable descriptors, with the ensemble spread as error bars."""
    if profile is None:
        st.caption("Odor profile: not computed.")
        return
    idx = {lab: i for i, lab in enumerate(profile.labels)}
    top = profile.top(k)[::-1]
    fig = go.Figure(go.Bar(
        x=[p for _, p in top], y=[lab for lab, _ in top], orientation="h",
        error_x={"type": "data", "array": [profile.std[idx[lab]] for lab, _ in top]},
        marker_color="#7a4a8c"))
    fig.update_layout(height=28 * k + 60, margin=dict(l=10, r=10, t=30, b=10), xaxis_range=[0, 1],
                      title=f"Predicted odor ({profile.model_version})", title_font_size=13)
    st.plotly_chart(fig, config={"displayModeBar": False})


def radar(items: Sequence[ShortlistItem], k: int = 10) -> None:
    """Overlays the predicted odor profiles of `items` on the union of their top descriptors."""
    profiles = [(it.smiles, it.odor) for it in items if it.odor is not None]
    if not profiles:
        st.caption("Odor profiles: not computed.")
        return
    axes: list[str] = []
    for _, prof in profiles:
        axes += [lab for lab, _ in prof.top(k // max(1, len(profiles)) + 3) if lab not in axes]
    fig = go.Figure()
    for n, (smiles, prof) in enumerate(profiles, 1):
        d = prof.as_dict()
        colour = SERIES_COLOURS[(n - 1) % len(SERIES_COLOURS)]
        fig.add_trace(go.Scatterpolar(r=[d[a] for a in axes] + [d[axes[0]]], theta=axes + [axes[0]],
                                      name=f"{n}. {smiles}", fill="toself", opacity=0.5, line_color=colour,
                                      fillcolor=colour))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 1])), height=460,
                      margin=dict(l=40, r=40, t=30, b=30), legend=dict(orientation="h"))
    st.plotly_chart(fig, config={"displayModeBar": False})


PROPERTY_BARS = (  # (label, attribute, unit); volatility shown as the estimated boiling point
    ("MW", "mw", "g/mol"), ("cLogP", "clogp", ""), ("boiling point (volatility)", "boiling_point_c", "°C"),
    ("substantivity", "substantivity_h", "h on blotter"), ("SA score", "sa_score", "1 easy … 10 hard"),
)


def property_bars(items: Sequence[ShortlistItem]) -> None:
    """One small bar chart per property; a missing value is said, not drawn as zero."""
    cols = st.columns(len(PROPERTY_BARS))
    names = [f"#{n}" for n in range(1, len(items) + 1)]
    for col, (label, attr, unit) in zip(cols, PROPERTY_BARS):
        values = [getattr(it.properties, attr, None) if it.properties else None for it in items]
        with col:
            fig = go.Figure(go.Bar(x=names, y=[v if v is not None else 0 for v in values],
                                   text=[f"{v:.1f}" if v is not None else "n/a" for v in values],
                                   marker_color=[SERIES_COLOURS[i % len(SERIES_COLOURS)] for i in range(len(items))]))
            fig.update_layout(title=f"{label}<br><sub>{unit}</sub>", title_font_size=12, height=240,
                              margin=dict(l=5, r=5, t=50, b=5))
            fig.update_xaxes(type="category")
            st.plotly_chart(fig, config={"displayModeBar": False})


def properties_table(props) -> None:
    if props is None:
        st.caption("Properties: not computed.")
        return

    def fmt(x, d=2):
        return "not computed" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else str(x))

    sub = "not computed"
    if props.substantivity_h is not None:
        sub = f"{props.substantivity_h:.0f} h"
        if props.substantivity_h_range:
            sub += f" (≈68%: {props.substantivity_h_range[0]:.0f}–{props.substantivity_h_range[1]:.0f} h)"
    bp = "not computed" if props.boiling_point_c is None else f"{props.boiling_point_c:.0f} °C"
    if props.boiling_point_c is not None and props.boiling_point_c_err is not None:
        bp += f" ± {props.boiling_point_c_err:.0f}"
    rows = {
        "MW (g/mol)": fmt(props.mw, 1), "cLogP": fmt(props.clogp), "TPSA (Å²)": fmt(props.tpsa, 1),
        "H-bond donors / acceptors": f"{props.hbd} / {props.hba}", "rotatable bonds": str(props.rotatable_bonds),
        "heavy atoms": str(props.heavy_atoms),
        "SA score": f"{fmt(props.sa_score)} ({props.sa_class or 'not computed'})",
        "boiling point (est.)": bp, "note (from boiling point)": props.note or "not computed",
        "substantivity (predicted)": sub,
    }
    st.table({"property": list(rows), "value": list(rows.values())})


def nearest_caption(nearest) -> None:
    """One line for a candidate card: the nearest known odorant and its Tanimoto similarity (1 = same fingerprint)."""
    if nearest is None:
        st.caption("nearest known odorant: not computed")
    else:
        st.caption(f"nearest known: {md_text(nearest.name or nearest.smiles)} · Tanimoto **{nearest.similarity:.2f}**")


def known_and_nearest(known, nearest, novel: bool | None = None) -> None:
    if known is not None:
        names = ", ".join(known.names[:3]) or "(unnamed)"
        glossary = " · in the IFRA glossary" if known.in_ifra_glossary else ""
        st.markdown(f"**Known material:** {md_text(names)}{glossary}")
        st.caption(f"CAS {md_text(', '.join(known.cas[:2]) or 'n/a')}; recorded: "
                   f"{md_text(', '.join(known.descriptors[:8]) or 'no descriptors')}")
    elif novel:
        st.markdown("**Novel:** not found in any of the data sets.")
    if nearest is None:
        st.caption("Nearest known odorant: not computed.")
    else:
        st.markdown(f"**Nearest known:** {md_text(nearest.name or nearest.smiles)} (Tanimoto {nearest.similarity:.2f})")
        st.caption(f"`{nearest.smiles}` · {md_text(', '.join(nearest.descriptors[:6]))}")


def report_card(report) -> None:
    """Everything the core knows about one molecule (a report.MoleculeReport that parsed)."""
    left, right = st.columns([1, 1])
    with left:
        st.markdown(f"`{report.smiles}`")
        structure_2d(report.smiles, 320, 240)
        structure_3d(report.smiles)
    with right:
        safety_badge(report.safety)
        safety_flags(report.safety)
        known_and_nearest(report.known, report.nearest, novel=report.known is None)
        properties_table(report.properties)
    odor_bars(report.odor)
