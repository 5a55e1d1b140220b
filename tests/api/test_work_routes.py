"""Projects, runs and shortlists of the key's owner through the API, on the real SQLite store."""
from __future__ import annotations

from _apitest import assert_problem

from odordiff_api.work import EntryOut, ProjectOut

LINALOOL = "CC(C)=CCCC(C)(O)C=C"


def test_a_perfumer_key_creates_a_project_keeps_and_edits_a_molecule(client, keys):
    h = keys.auth("perfumer")
    r = client.post("/v1/projects", json={"name": "citrus for the LIMS"}, headers=h)
    assert r.status_code == 201, r.text
    project = ProjectOut.model_validate(r.json())
    assert project.owner_email == "admin@lab.test"  # the key's owner
    assert project.id in [p["id"] for p in client.get("/v1/projects", headers=keys.auth("viewer")).json()]

    r = client.post(f"/v1/projects/{project.id}/shortlist", json={"smiles": LINALOOL, "note": "lift"}, headers=h)
    assert r.status_code == 201, r.text
    entry = EntryOut.model_validate(r.json())
    assert entry.item["odor"] and entry.item["safety"] and entry.status == "to smell"

    r = client.patch(f"/v1/shortlist/{entry.id}", json={"expected_version": entry.version, "rating": 4,
                                                        "status": "ordered"}, headers=h)
    edited = EntryOut.model_validate(r.json())
    assert (edited.rating, edited.status, edited.version) == (4, "ordered", entry.version + 1)
    stale = client.patch(f"/v1/shortlist/{entry.id}", json={"expected_version": entry.version, "note": "x"}, headers=h)
    assert_problem(stale, 409)
    assert_problem(client.patch(f"/v1/shortlist/{entry.id}", json={"expected_version": edited.version,
                                                                   "status": "smelled"}, headers=h), 422, "status")

    listed = client.get(f"/v1/projects/{project.id}/shortlist", headers=keys.auth("viewer")).json()
    assert [e["smiles"] for e in listed] == [edited.smiles]
    assert client.get(f"/v1/projects/{project.id}/runs", headers=h).json() == []
    assert client.delete(f"/v1/shortlist/{entry.id}", headers=h).status_code == 204
    assert client.get(f"/v1/projects/{project.id}/shortlist", headers=h).json() == []


def test_a_viewer_key_reads_but_cannot_keep(client, keys):
    project = client.post("/v1/projects", json={"name": "viewer test"}, headers=keys.auth("perfumer")).json()
    r = client.post(f"/v1/projects/{project['id']}/shortlist", json={"smiles": LINALOOL}, headers=keys.auth("viewer"))
    assert_problem(r, 403, "has role viewer")


def test_another_users_project_is_not_found(client, keys, store):
    from odordiff_core.types import Role

    other = store.ensure_user("someone.else@lab.test")
    key, _ = store.create_api_key(other, "other-user", Role.PERFUMER)
    mine = client.post("/v1/projects", json={"name": "private"}, headers=keys.auth("perfumer")).json()
    h = {"Authorization": f"Bearer {key}"}
    assert mine["id"] not in [p["id"] for p in client.get("/v1/projects", headers=h).json()]
    assert_problem(client.get(f"/v1/projects/{mine['id']}/shortlist", headers=h), 404)
    assert_problem(client.post(f"/v1/projects/{mine['id']}/shortlist", json={"smiles": LINALOOL}, headers=h), 404)
