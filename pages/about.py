"""About: model cards, data sources and licences, limitations, and how this instance caches."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_ui import auth, resources, widgets, work
from odordiff_core.errors import OdorDiffError
from odordiff_core.scores import CONFIDENCE, SPREAD_TOP_K

REPO = Path(__file__).resolve().parent.parent
MODEL_CARDS = [REPO / "MODEL_CARD.md", *sorted((REPO / "docs").glob("model_card_*.md"))]

st.title("About OdorDiff")
st.markdown(
    "OdorDiff proposes **new odorant molecules** from a perfumer's words. A text interpreter turns the brief into "
    "weights over 138 odor descriptors, a text-conditioned masked discrete diffusion model writes candidate "
    "molecules, and every candidate is scored by an odor predictor, a safety screen and property estimates. "
    "Everything runs on this machine: no brief, molecule or result is sent anywhere."
)

st.header("Reading a candidate's scores")
c = CONFIDENCE
st.markdown(
    "- **“Fits the brief better than N % of known odorants.”** For your brief, the odor predictor scores every one "
    "of the 4,983 described odorants of the GS-LF set in the same way as the candidate: the weighted average of the "
    "predicted probabilities of the descriptors you asked for, minus the average of those you ruled out (the *odor "
    "match*, which still sets the order of the candidates). N is the share of those known molecules whose score is "
    "lower than the candidate's. 50 % is an ordinary fit; 95 % means only one known odorant in twenty is predicted to "
    "fit better. Because most odorants are unrelated to any one brief, even a modest-looking match can beat 80 % of "
    "them: read the percentile together with the descriptors on the card. It compares predictions with predictions, "
    "not with a panel; the known molecules are scored by a predictor that learned from them, so their predicted "
    "profiles are, if anything, sharper than a new molecule's. Their scores are computed once per predictor and "
    "shipped with its weights, so the percentile costs a few milliseconds per brief.\n"
    "- **Confidence (high, medium, low)** says how far to trust the predicted profile of this molecule, and so its "
    "percentile. It combines two checks. First, how close the molecule is to the nearest molecule the predictor "
    "learned from (Tanimoto similarity on atom-pair counts, 1 = same counts; this is the predictor's own neighbour "
    "measure and can differ from the *nearest known* similarity on the card, which uses Morgan fingerprints over "
    "every data set). Second, whether the predictor's three networks agree on the molecule's "
    f"{SPREAD_TOP_K} most probable descriptors (their spread, in probability). **High**: similarity at least "
    f"{c.high_similarity:.2f} and spread at most {c.high_spread:.3f}. **Low**: similarity below {c.low_similarity:.2f} "
    f"or spread above {c.low_spread:.3f}. **Medium**: the rest. Measured on molecules held out of training (model "
    "card below, “Confidence levels”): at *high*, 92 % of molecules had a recorded descriptor among the three the "
    "predictor ranked first, against 81–85 % at *low*; high is also the best level by every other measure, while "
    "medium and low differ mainly in that hit rate. Similarity does most of the work: the networks' spread only "
    "moves a few molecules. Low does not mean the molecule is bad, only that its predicted profile is a longer guess."
)

st.header("Limitations, in plain words")
st.markdown(
    "- **Predictions, not smells.** Odor profiles are a model's guesses from structure, trained on descriptor "
    "lists from two catalogues. Only a smelling strip tells what a molecule smells like; a high fit percentile "
    "means the predictor agrees with the brief, nothing more.\n"
    "- **The safety screen is not regulatory or toxicological advice.** It checks listed substances (IFRA, EU "
    "allergens, T3DB toxins) and a handful of structural alerts. *No known issue* means none of those rules "
    "fired, not that a molecule is safe. A new molecule needs real testing before anyone smells it.\n"
    "- **Properties are estimates.** Boiling point (the top/heart/base note), substantivity and synthetic "
    "accessibility come from group-contribution or fitted models with the errors shown next to them.\n"
    "- **New is not the same as made.** Generated molecules may be hard or impossible to synthesise, "
    "unstable, or patented. *Novel* only means not found in the bundled data sets.\n"
    "- **Unstable groups are screened out, not fixed.** Samples with a group a chemist would reject (peroxides, "
    "allenes, acyclic hemiacetals, strained small rings, ...) are dropped before ranking and counted in the "
    "*Only k of n* message. One kind is redrawn instead: a sample written as an unstable tautomer (an enol, an "
    "imidic acid) is the same compound as its stable form, so the ketone or amide is shown, if it is new and sound.\n"
    "- **The list is chosen for fit and variety.** Each request draws about a hundred molecules (draws that repeat "
    "one or give back a known material are drawn again); of those that pass the screens, the next one listed is the "
    "best fit once a penalty for resembling those already chosen is taken off, so 16 candidates are not 16 variants "
    "of one material. The list is shown best fit first.\n"
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
if cache.status == "off":
    st.markdown("**Cache:** no `ODORDIFF_REDIS_URL` is set, so the app runs with the in-process cache only "
                "(results are reused within this session and this server process).")
elif cache.status == "misconfigured":  # the message names the URL redacted: never its password
    st.warning(f"**Cache:** {widgets.md_text(cache.problem or '')} Results are computed here and reused within "
               f"this session only.")
else:
    reach = ("shared by every process with the same `ODORDIFF_CACHE_SECRET`" if cache.shared else
             "**not shared across processes**: no `ODORDIFF_CACHE_SECRET` is set, so this process signs its entries "
             "with a key of its own (set the same secret on every replica to share them)")
    st.markdown(f"**Cache:** Redis at {widgets.md_text(cache.url or '')}, {reach}; status: **{cache.status}** "
                f"(entries live {settings.cache_ttl_s // 3600} h).")
st.markdown(f"**Weights:** {widgets.md_text(str(settings.weights_dir))}  \n"
            f"**Data:** {widgets.md_text(str(settings.data_dir))}")

st.subheader("Sign-in and saved work")
ident = auth.identity()
if not auth.configured():
    st.markdown(f"**Sign-in:** no identity provider is configured (no `[auth]` block in `.streamlit/secrets.toml`), "
                f"so everyone using this server works as one local user, **{widgets.md_text(auth.LOCAL_EMAIL)}**, and shares its "
                f"projects. To give each perfumer their own private projects, plug in your company's identity "
                f"provider (README, “Sign-in”).")
elif ident is not None:
    claim = auth.roles_claim()
    source = (f"your identity provider's claim “{widgets.md_text(claim)}”, unless an admin set it here"
              if claim else "the roles table an admin edits (no roles claim is configured)")
    st.markdown(f"**Sign-in:** through your company's identity provider (OpenID Connect). Signed in as "
                f"**{widgets.md_text(ident.email)}**; your role comes from {source}.")
try:
    store = work.store()
    up = store.ping()
    st.markdown(f"**Saved work:** {widgets.md_text(store.where)} — "
                + ("answering." if up else "**not answering**: nothing can be saved until it is back."))
    if up:
        st.caption(f"Your role: **{work.user().role}**. Projects are private to their owner unless shared.")
except OdorDiffError as e:
    st.warning(f"**Saved work:** unavailable. {widgets.md_text(str(e))}")
