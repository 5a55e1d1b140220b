"""Streamlit-only helpers for the OdorDiff app (resources, session state, render functions)."""
