"""About: model cards, data sources and licences, limitations, and how this instance caches."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_ui import resources

REPO = Path(__file__).resolve().parent.parent
MODEL_CARDS = [REPO / "MODEL_CARD.md", *sorted((REPO / "docs").glob("model_card_*.md"))]

st.title("About OdorDiff")
st.markdown(
    "OdorDiff proposes **new odorant molecules** from a perfumer's words. A text interpreter turns the brief into "
    "weights over 138 odor descriptors, a text-conditioned masked discrete diffusion model writes candidate "
    "molecules, and every candidate is scored by an odor predictor, a safety screen and property estimates. "
    "Everything runs on this machine: no brief, molecule or result is sent anywhere."
)

st.header("Limitations, in plain words")
st.markdown(
    "- **Predictions, not smells.** Odor profiles are a model's guesses from structure, trained on descriptor "
    "lists from two catalogues. Only a smelling strip tells what a molecule smells like; a high *odor match* "
    "means the predictor agrees with the brief, nothing more.\n"
    "- **The safety screen is not regulatory or toxicological advice.** It checks listed substances (IFRA, EU "
    "allergens, T3DB toxins) and a handful of structural alerts. *No known issue* means none of those rules "
    "fired, not that a molecule is safe. A new molecule needs real testing before anyone smells it.\n"
    "- **Properties are estimates.** Boiling point (the top/heart/base note), substantivity and synthetic "
    "accessibility come from group-contribution or fitted models with the errors shown next to them.\n"
    "- **New is not the same as made.** Generated molecules may be hard or impossible to synthesise, "
    "unstable, or patented. *Novel* only means not found in the bundled data sets.\n"
    "- The models only know what the data sets contain: descriptors and chemistry outside them are guessed."
)

st.header("Model cards")
found = [p for p in MODEL_CARDS if p.is_file()]
if not found:
    st.info("No model card is present in this checkout (expected MODEL_CARD.md and docs/model_card_*.md).")
for path in found:
    with st.expander(f"{path.relative_to(REPO)}", expanded=path.name == "MODEL_CARD.md"):
        st.markdown(path.read_text(encoding="utf-8"))

st.header("Data sources and licences")
st.markdown(
    "The data are public and are **not OdorDiff's own**; each keeps its owner's terms. Files are pinned by "
    "commit and checked against SHA-256 sums before use.\n\n"
    "| data | used for | source and terms |\n|---|---|---|\n"
    "| GS-LF: GoodScents + Leffingwell, curated by the OpenPOM authors (4,983 molecules, 138 descriptors) | "
    "training the odor predictor and the conditional generator | OpenPOM repository (MIT); underlying data from "
    "The Good Scents Company (that site's terms) and Leffingwell & Associates (distributed for research) |\n"
    "| GoodScents and Leffingwell tables in the Pyrfume archive (names, CAS, descriptions, substantivity) | "
    "names of known materials, the text interpreter, substantivity | Pyrfume (code MIT); data under their "
    "owners' terms as above |\n"
    "| IFRA Fragrance Ingredient Glossary (2019) | which materials perfumers actually use | published by IFRA, "
    "via Pyrfume |\n"
    "| Pyrfume odorant list (~10,000 molecules) | generator pretraining and the novelty check | Pyrfume archive |\n"
    "| T3DB toxins | safety screen | Toxin and Toxin-Target Database; free for non-commercial use |\n"
    "| FDA GRAS substances | reference for the safety screen | FDA, via Pyrfume |\n"
    "| EU fragrance allergens (Reg. (EC) 1223/2009 Annex III, Reg. (EU) 2023/1545); IFRA prohibited and "
    "restricted materials | safety screen | tables compiled for OdorDiff from the regulations and the IFRA "
    "Standards, with a source per row; check the current texts before any compliance use |\n"
    "| 3Dmol.js 2.5.5 | the 3D viewer, served from this app | BSD-3-Clause, University of Pittsburgh and "
    "contributors (`static/3Dmol-LICENSE.txt`) |"
)

st.header("This instance")
settings = resources.get_settings()
cache = resources.get_result_cache()
if settings.redis_url is None:
    st.markdown("**Cache:** no `ODORDIFF_REDIS_URL` is set, so the app runs with the in-process cache only "
                "(results are reused within this session and this server process).")
else:
    st.markdown(f"**Cache:** shared Redis cache configured; status: **{cache.status}** "
                f"(entries live {settings.cache_ttl_s // 3600} h).")
st.markdown(f"**Weights:** `{settings.weights_dir}`  \n**Data:** `{settings.data_dir}`")
