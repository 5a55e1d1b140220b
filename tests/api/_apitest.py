"""What the API tests share besides fixtures (a module with a unique name: test modules import it)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

TINY_GENERATOR = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"
PROBLEM = "application/problem+json"
RATE = "10000/hour"  # the default test limit: never reached except where a test means to


@dataclasses.dataclass
class Keys:
    viewer: str
    perfumer: str
    admin: str
    revoked: str

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


def make_client(settings, pipeline, store, **overrides):
    """Returns a TestClient (enter it with `with`) over a new app sharing the loaded pipeline and the store."""
    from fastapi.testclient import TestClient

    from odordiff_api.app import create_app

    app = create_app(dataclasses.replace(settings, **overrides), pipeline=pipeline, store=store)
    return TestClient(app, raise_server_exceptions=False)


def metric(text: str, name: str, required: bool = True, **labels: str) -> float:
    """Returns the sum of the samples of `name` whose labels include `labels` in a Prometheus text exposition
    (0 when there is none and not `required`)."""
    total, found = 0.0, False
    for line in text.splitlines():
        m = re.match(rf"{name}(?:{{(.*)}})? (\S+)$", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            total, found = total + float(m.group(2)), True
    assert found or not required, f"no sample {name} {labels}"
    return total


def assert_problem(r, status: int, *phrases: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    for phrase in phrases:
        assert phrase in body["detail"], body["detail"]
    assert "Traceback" not in r.text
    return body
