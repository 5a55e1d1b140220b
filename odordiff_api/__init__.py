"""OdorDiff's REST API: FastAPI over the same in-process core the app uses (`odordiff serve`).

    from odordiff_api.app import create_app
    app = create_app(Settings.from_env())        # routes under /v1, /healthz, /readyz, /metrics, /docs

Modules: `app` (factory, lifespan, middleware), `routes` (the /v1 handlers), `models` (Pydantic request and
response shapes: the CLI's JSON), `auth` (Bearer keys and roles), `ratelimit` (per-key limits with `limits`),
`problems` (RFC 9457 problem+json errors), `metrics` (prometheus-client; no FastAPI, so the Streamlit app
imports it too). This file imports nothing, so `odordiff_api.metrics` stays light.
"""
