"""Who is working: the user signed in through the company's identity provider, or the one local user.

With an `[auth]` block in `.streamlit/secrets.toml` (see `.streamlit/secrets.example.toml`) the app signs people in
with Streamlit's own `st.login` (OpenID Connect) and reads who they are from `st.user` (the ID token's claims,
kept by Streamlit in a signed cookie, so a reload or a server restart with the same `cookie_secret` keeps them
signed in). Their role comes from the claim named by `roles_claim` in an `[odordiff]` block when there is one
(a string or a list of strings; the highest of viewer < perfumer < admin wins, other values are ignored); the
store's roles table, which an admin edits, still wins over it (`Store.ensure_user`).

With no `[auth]` block everyone using this server is one local user, `local@localhost` (`make run` stays a
one-command start); the About page says so. This module never reads a password or a token.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import streamlit as st

from odordiff_core.types import Role

LOCAL_EMAIL = "local@localhost"
LOCAL_NAME = "Local user"
APP_SECTION = "odordiff"  # [odordiff] roles_claim = "..." in secrets.toml: OdorDiff's own sign-in settings


@dataclass(frozen=True)
class Identity:
    """Who the identity provider (or the local mode) says is working. No store involved."""

    email: str  # lower-cased; the key of their saved work
    name: str
    claimed_role: Role | None  # from the roles claim; None: no claim configured, sent or understood
    signed_in: bool  # True: through the identity provider; False: the local user (no [auth] block)


def _secret_section(name: str) -> dict:
    """Returns the `[name]` block of the secrets as a dict, or {} when there is no secrets file or no such block."""
    if not st.secrets.load_if_toml_exists():
        return {}
    section = st.secrets.get(name)
    return dict(section) if section else {}


def configured() -> bool:
    """Returns True when an identity provider is configured (an `[auth]` block in the secrets)."""
    return bool(_secret_section("auth"))


def roles_claim() -> str | None:
    """Returns the name of the ID-token claim that carries the role, or None when none is configured."""
    name = _secret_section(APP_SECTION).get("roles_claim")
    return str(name) if name else None


def role_from_claim(value: object) -> Role | None:
    """Returns the highest role named by a claim value (a string or a list of strings), or None for none."""
    values: Iterable[object] = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else ()
    named = {str(v).strip().lower() for v in values if isinstance(v, str)}
    found = [r for r in Role if r.value in named]
    return max(found, key=lambda r: r.rank) if found else None


def identity() -> Identity | None:
    """Returns who is working, or None when an identity provider is configured and nobody is signed in yet.

    A signed-in user whose provider sends no `email` claim is identified by `preferred_username`, else `sub`
    (lower-cased): the provider must send one of them.
    """
    if not configured():
        return Identity(LOCAL_EMAIL, LOCAL_NAME, None, signed_in=False)
    user = st.user
    if not user.get("is_logged_in"):
        return None
    key = user.get("email") or user.get("preferred_username") or user.get("sub") or ""
    email = str(key).strip().lower()
    if not email:
        return None
    claim = roles_claim()
    role = role_from_claim(user.get(claim)) if claim else None
    return Identity(email, str(user.get("name") or email), role, signed_in=True)


def sign_in_page() -> None:
    """The only page shown before sign-in: what OdorDiff is and a button to the identity provider."""
    st.title("Sign in to OdorDiff")
    st.markdown("Your briefs and shortlists are saved in your own projects, which nobody else sees unless you share "
                "them. Sign in with your company account to continue.")
    st.button("Sign in", type="primary", key="auth_sign_in", on_click=st.login)


def sign_out_button() -> None:
    """A sidebar button that signs out (only when signed in through the identity provider)."""
    st.button("Sign out", key="auth_sign_out", on_click=st.logout, type="tertiary")
