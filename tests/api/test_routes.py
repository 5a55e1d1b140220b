"""Every route through FastAPI's TestClient with the real models (tiny generator) and a real SQLite store:
answers in the CLI's JSON shape, keys and roles, problem+json errors, size limits, rate limits, metrics, docs."""
from __future__ import annotations

import dataclasses
import json
import re
import time
from html.parser import HTMLParser

import pytest
from _apitest import PROBLEM, assert_problem, make_client, metric

from odordiff_api import models
from odordiff_core.pipeline import GenerateRequest

LINALOOL = "CC(C)=CCCC(C)(O)C=C"


def test_health_readiness_and_metrics_need_no_key(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "models": "loaded", "database": "ok", "redis": "off", "detail": None}
    assert client.get("/metrics").status_code == 200


def test_generate_answers_the_clis_json_for_the_same_request(client, keys, pipeline):
    body = {"prompt": "a clean citrus top note", "n": 4, "seed": 3, "guidance": 2, "exploration": 1.0}
    r = client.post("/v1/generate", json=body, headers=keys.auth("perfumer"))
    assert r.status_code == 200, r.text
    out = models.GenerationOut.model_validate(r.json())  # the documented shape, extra keys forbidden
    assert out.candidates and len(out.candidates) <= 4
    expected = pipeline.generate(GenerateRequest(prompt="a clean citrus top note", n=4, seed=3, guidance=2.0,
                                                 exploration=1.0))
    assert r.json() == json.loads(json.dumps(expected.to_json()))  # `odordiff generate --format json` minus prompt_id


def test_generate_takes_every_request_setting_of_the_app(client, keys):
    body = {"prompt": "fresh citrus", "n": 2, "seed": 1, "guidance": 1.5, "weights": {"citrus": 1.0, "fresh": 0.5},
            "note": "top", "mw_range": [100, 250], "hide_caution": True, "keep_scaffold_of": None,
            "edit_of": LINALOOL, "edit_strength": 0.4, "exploration": 0.6}
    r = client.post("/v1/generate", json=body, headers=keys.auth("admin"))
    assert r.status_code == 200, r.text
    sent = r.json()["request"]
    assert sent["edit_of"] == LINALOOL and sent["mw_range"] == [100.0, 250.0] and sent["note"] == "top"


def test_predict_screen_report_and_interpret_answer_their_cli_shapes(client, keys, pipeline):
    h = keys.auth("viewer")
    r = client.post("/v1/predict", json={"smiles": [LINALOOL, "not a smiles"]}, headers=h)
    assert r.status_code == 200, r.text
    results = models.PredictOut.model_validate(r.json()).results
    assert results[0].smiles == pipeline.reporter.report_smiles(LINALOOL).smiles
    assert results[0].descriptors and results[1].error and results[1].smiles is None  # a bad row stays in place

    r = client.post("/v1/screen", json={"smiles": [LINALOOL, "C1CC"]}, headers=h)
    rows = models.ScreenOut.model_validate(r.json()).results
    assert [row.verdict for row in rows][1] == "invalid" and rows[0].verdict in ("no known issue", "caution", "blocked")

    r = client.post("/v1/report", json={"smiles": LINALOOL, "svg": True}, headers=h)
    rep = models.ReportOut.model_validate(r.json())
    assert rep.depiction_svg and rep.depiction_svg.startswith("<svg") and rep.properties and rep.safety

    r = client.post("/v1/interpret", json={"prompt": "fresh but not sweet, a hint of vanilla"}, headers=h)
    it = models.InterpretationOut.model_validate(r.json())
    assert it.weights and "sweet" in it.excluded


@pytest.mark.parametrize("headers, phrase", [
    ({}, "needs an API key"),
    ({"Authorization": "Bearer odk_not-a-real-key"}, "unknown or revoked"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "needs an API key"),
])
def test_a_missing_or_unknown_key_is_401_problem_json(client, headers, phrase):
    r = client.post("/v1/predict", json={"smiles": [LINALOOL]}, headers=headers)
    assert_problem(r, 401, phrase)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_401(client, keys):
    assert_problem(client.post("/v1/interpret", json={"prompt": "rose"}, headers=keys.auth("revoked")), 401, "revoked")


@pytest.mark.parametrize("role, method, path, body", [
    ("viewer", "POST", "/v1/generate", {"prompt": "rose", "n": 1}),
    ("perfumer", "GET", "/v1/keys", None),
    ("viewer", "POST", "/v1/keys", {"name": "x", "role": "viewer"}),
])
def test_a_role_below_the_routes_is_403(client, keys, role, method, path, body):
    r = client.request(method, path, json=body, headers=keys.auth(role))
    assert_problem(r, 403, f"has role {role}", "or higher")


@pytest.mark.parametrize("body, phrase", [
    ({"prompt": "rose", "n": 400}, "n must be between 1 and 64"),  # the core's own message
    ({"prompt": "rose", "guidance": 99}, "guidance must be between"),
    ({"prompt": "rose", "note": "middle"}, "note must be top, heart or base"),
    ({"prompt": "rose", "mw_range": [300, 100]}, "mw_range"),
    ({"prompt": "rose", "n": "4"}, "n: Input should be a valid integer"),  # strict types: "4" is not a number
    ({"prompt": "rose", "n": True}, "n: Input should be a valid integer"),
    ({"prompt": "rose", "temperature": 2}, "temperature: Extra inputs are not permitted"),
    ({"prompt": "rose", "edit_of": "C1CC"}, "C1CC"),
])
def test_invalid_generation_settings_are_422_naming_the_field(client, keys, body, phrase):
    assert_problem(client.post("/v1/generate", json=body, headers=keys.auth("perfumer")), 422, phrase)


def test_bad_molecule_input_is_422(client, keys):
    h = keys.auth("viewer")
    assert_problem(client.post("/v1/report", json={"smiles": "C1CC"}, headers=h), 422, "C1CC")
    assert_problem(client.post("/v1/predict", json={"smiles": []}, headers=h), 422, "at least one SMILES")
    raw = '{"smiles": ["\\ud800"]}'  # a lone surrogate: valid JSON, not encodable text
    r = client.post("/v1/predict", content=raw, headers={**h, "content-type": "application/json"})
    assert_problem(r, 422, "surrogate")
    r = client.post("/v1/predict", content="{not json", headers={**h, "content-type": "application/json"})
    assert_problem(r, 422, "not valid")


def test_oversized_bodies_and_batches_are_413(client, keys):
    h = keys.auth("viewer")
    big = b'{"smiles": ["' + b"C" * (models.MAX_BODY_BYTES + 10) + b'"]}'
    assert_problem(client.post("/v1/predict", content=big, headers={**h, "content-type": "application/json"}),
                   413, "larger than")
    many = {"smiles": ["C"] * (models.MAX_SMILES + 1)}
    assert_problem(client.post("/v1/screen", json=many, headers=h), 413, f"at most {models.MAX_SMILES:,}")


def test_unknown_routes_and_methods_are_problem_json(client):
    assert_problem(client.get("/v2/generate"), 404, "/docs")
    assert client.get("/v1/generate").headers["content-type"] == PROBLEM  # 405


def test_admin_creates_lists_and_revokes_keys(client, keys):
    h = keys.auth("admin")
    r = client.post("/v1/keys", json={"name": "lims", "role": "viewer"}, headers=h)
    assert r.status_code == 201, r.text
    created = models.NewKeyOut.model_validate(r.json())
    assert created.key.startswith(created.info.prefix)
    listed = [models.KeyOut.model_validate(k) for k in client.get("/v1/keys", headers=h).json()]
    assert "lims" in [k.name for k in listed] and all("key" not in k.model_dump() for k in listed)
    new = {"Authorization": f"Bearer {created.key}"}
    assert client.post("/v1/interpret", json={"prompt": "rose"}, headers=new).status_code == 200
    assert_problem(client.post("/v1/keys", json={"name": "x", "role": "owner"}, headers=h), 422, "role must be")
    assert client.delete("/v1/keys/lims", headers=h).json()["revoked_at"]
    assert_problem(client.post("/v1/interpret", json={"prompt": "rose"}, headers=new), 401)
    assert_problem(client.delete("/v1/keys/lims", headers=h), 404, "No unrevoked API key")


def test_the_rate_limit_answers_429_with_retry_after_and_is_counted(api_settings, pipeline, store, keys):
    with make_client(api_settings, pipeline, store, api_rate_limit="3/hour") as c:
        h = keys.auth("viewer")
        codes = [c.post("/v1/interpret", json={"prompt": "rose"}, headers=h).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = c.post("/v1/screen", json={"smiles": ["C"]}, headers=h)
        assert_problem(r, 429, "Rate limit", "3 per 1 hour")
        assert 3000 < int(r.headers["retry-after"]) <= 3600
        assert c.post("/v1/interpret", json={"prompt": "rose"}, headers=keys.auth("perfumer")).status_code == 200
        text = c.get("/metrics").text
    assert metric(text, "odordiff_rate_limited_total", route="/v1/interpret") >= 2


def test_metrics_count_requests_generations_and_model_versions(client, keys, pipeline):
    before = client.get("/metrics").text
    r = client.post("/v1/generate", json={"prompt": "warm amber", "n": 2, "seed": 9}, headers=keys.auth("perfumer"))
    assert r.status_code == 200
    client.post("/v1/generate", json={"prompt": "warm amber", "n": 999}, headers=keys.auth("perfumer"))
    text = client.get("/metrics").text
    assert text.count("odordiff_http_request_duration_seconds_bucket") > 0
    ok = dict(route="/v1/generate", method="POST", status="200")
    assert metric(text, "odordiff_http_requests_total", **ok) == metric(before, "odordiff_http_requests_total", **ok) + 1
    assert metric(text, "odordiff_http_requests_total", route="/v1/generate", status="422") >= 1
    assert metric(text, "odordiff_http_request_duration_seconds_count", **ok) >= 1
    assert metric(text, "odordiff_generation_duration_seconds_count") >= 1
    assert metric(text, "odordiff_molecules_sampled_total") >= r.json()["n_sampled"]
    generator_version = pipeline.model_version.split("|")[0]
    assert metric(text, "odordiff_model_info", generator=generator_version) == 1


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_reference_only_assets_this_server_serves(client):
    r = client.get("/docs")
    assert r.status_code == 200
    parser = _Links()
    parser.feed(r.text)
    assert parser.urls, "the docs page links no assets"
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), f"/docs loads {url} from elsewhere"
        assert client.get(url).status_code == 200, url
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", r.text.split("<script>")[-1].split("</script>")[0])
    assert client.get("/openapi.json").json()["paths"]["/v1/generate"]["post"]


def test_missing_models_leave_the_process_up_but_not_ready(api_settings, store, keys, tmp_path):
    from fastapi.testclient import TestClient

    from odordiff_api.app import create_app

    app = create_app(dataclasses.replace(api_settings, generator_dir=tmp_path / "no-generator"), store=store)
    with TestClient(app, raise_server_exceptions=False) as c:
        deadline = time.monotonic() + 60
        while c.get("/readyz").json()["models"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["models"] == "failed" and ready.json()["detail"]
        r = c.post("/v1/interpret", json={"prompt": "rose"}, headers=keys.auth("viewer"))
        assert_problem(r, 503, str(tmp_path / "no-generator"))
