"""OdorDiff web app: `streamlit run app.py`. The page list and the shared sidebar; no logic.

`make run` starts it as `python -m app_ui.serve ...` (the same server, with the models loaded at start).
"""
from __future__ import annotations

import streamlit as st

from app_ui import auth, state, work


def run() -> None:
    """Builds the navigation inside a function, so tests (AppTest, Playwright) drive the same entry point."""
    # An emoji favicon is drawn in the browser; a ":material/...:" page icon would be fetched from Google.
    st.set_page_config(page_title="OdorDiff", page_icon="🧪", layout="wide")
    state.init_state()
    if auth.identity() is None:  # an identity provider is configured and nobody is signed in yet
        st.navigation([st.Page(auth.sign_in_page, title="Sign in", url_path="sign-in")]).run()
        return
    pages = [
        st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:", default=True),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("pages/analyze.py", title="Analyze a molecule", icon=":material/biotech:"),
        st.Page("pages/shortlist.py", title="Shortlist", icon=":material/checklist:"),
        st.Page("pages/history.py", title="History", icon=":material/history:"),
        st.Page("pages/about.py", title="About", icon=":material/info:"),
    ]
    nav = st.navigation(pages)
    with st.sidebar:
        work.sidebar()  # who is signed in, the project picker, the shortlist count
        st.caption("Runs offline: nothing you type leaves this machine.")
    work.show_outcome()  # what a save or an edit in the last click did
    nav.run()


if __name__ == "__main__":
    run()
