"""Export and import of a project (a zip with project.json, shortlist.csv and shortlist.sdf), on SQLite and
PostgreSQL: the round trip keeps everything, and a corrupt or hostile file is refused with nothing half-imported."""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any

import pytest
from rdkit import Chem

from odordiff_core.export import ShortlistItem
from odordiff_core.safety import Flag, SafetyReport
from odordiff_core.store import (
    MAX_SHORTLIST,
    ProjectImportError,
    ShortlistStatus,
    Store,
    User,
)
from odordiff_core.types import FlagLevel, Verdict

REQUEST = {"prompt": "a clean citrus top note", "n": 4, "seed": 7, "guidance": 2.0, "weights": {"citrus": 1.0}}
RESULT = {"request": REQUEST, "candidates": [{"rank": 1, "smiles": "CC(C)=CCCC(C)=CC=O", "odor_match": 0.5}]}
VERSIONS = {"generator": "generator-1.0+ab"}
NOTE = "Zitrone 🍋 <b>not bold</b>\n=SUM(A1:A3)"  # Unicode, markup and a formula trigger


def _item(smiles: str) -> dict[str, Any]:
    safety = SafetyReport(Verdict.CAUTION, (Flag("ifra.restricted", FlagLevel.CAUTION, "restricted", "IFRA"),), "s1")
    return ShortlistItem(smiles=smiles, source="generated", prompt="citrus", seed=7,
                         generator_version="generator-1.0+ab", odor_match=0.5, safety=safety).to_json()


@pytest.fixture
def ana(store: Store) -> User:
    return store.ensure_user("ana@example.com", "Ana")


def _project_with_work(store: Store, user: User) -> int:
    project = store.create_project(user, "Citrus study")
    store.save_run(user, project.id, REQUEST, RESULT, VERSIONS)
    store.save_run(user, project.id, {**REQUEST, "seed": 8}, None, VERSIONS)
    for smiles in ("CC(C)=CCCC(C)=CC=O", "CCOC(=O)C", "not a smiles"):
        entry = store.keep(user, project.id, smiles, _item(smiles))
    store.update_entry(user, entry.id, entry.version, note=NOTE, rating=3, status=ShortlistStatus.ORDERED)
    return project.id


def test_item_json_round_trip_keeps_every_part() -> None:
    d = _item("CCO")
    assert ShortlistItem.from_json(d).to_json() == d and json.loads(json.dumps(d)) == d


def test_export_then_import_as_another_user_reproduces_runs_and_shortlist(store: Store, ana: User) -> None:
    bob = store.ensure_user("bob@example.com")
    pid = _project_with_work(store, ana)
    data = store.export_project(ana, pid)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["project.json", "shortlist.csv", "shortlist.sdf"]
        rows = list(csv.DictReader(io.StringIO(zf.read("shortlist.csv").decode())))
        sdf = zf.read("shortlist.sdf").decode()
    assert [r["smiles"] for r in rows] == ["CC(C)=CCCC(C)=CC=O", "CCOC(=O)C", "not a smiles"]
    assert rows[2]["user_note"] == NOTE and rows[2]["safety_verdict"] == "caution"
    mols = list(Chem.ForwardSDMolSupplier(io.BytesIO(sdf.encode())))
    assert [m.GetProp("smiles") for m in mols] == ["CC(C)=CCCC(C)=CC=O", "CCOC(=O)C"]  # unparsable: CSV only
    imported = store.import_project(bob, data)
    assert (imported.name, imported.owner_email, imported.shared_with) == ("Citrus study", "bob@example.com", ())
    before, after = store.shortlist(ana, pid), store.shortlist(bob, imported.id)
    assert [(e.smiles, e.item, e.note, e.rating, e.status) for e in before] == \
        [(e.smiles, e.item, e.note, e.rating, e.status) for e in after]
    assert [(r.request, r.result, r.model_versions, r.prompt, r.created_at) for r in store.runs(ana, pid)] == \
        [(r.request, r.result, r.model_versions, r.prompt, r.created_at) for r in store.runs(bob, imported.id)]
    assert [p.id for p in store.projects(ana)] == [pid]  # the import is Bob's alone


def _zip(doc: Any = None, raw: bytes | None = None, name: str = "project.json") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, raw if raw is not None else json.dumps(doc))
    return buf.getvalue()


def _doc(**changes: Any) -> dict[str, Any]:
    doc = {"format": "odordiff-project", "version": 1, "exported_at": "2026-11-30T00:00:00+00:00",
           "project": {"name": "P", "created_at": "2026-11-30T00:00:00+00:00"},
           "runs": [{"prompt": "x", "request": REQUEST, "result": None, "model_versions": VERSIONS,
                     "created_at": "2026-11-30T00:00:00+00:00"}],
           "shortlist": [{"smiles": "CCO", "item": {"smiles": "CCO"}, "note": "", "rating": None,
                          "status": "to smell"}]}
    doc.update(changes)
    return doc


def _entries(n: int) -> list[dict[str, Any]]:
    return [{"smiles": "C" * (i % 50 + 1) + f"O{i}", "item": {}, "note": "", "rating": None, "status": "to smell"}
            for i in range(n)]


HOSTILE = {
    "not a zip": (b"PK\x03\x04 this is not a zip at all", "not a readable zip"),
    "plain text": (b"hello", "not a readable zip"),
    "empty": (b"", "not a readable zip"),
    "no project.json": (_zip({}, name="other.json"), "no project.json"),
    "bad json": (_zip(raw=b'{"format": "odordiff-project", "version": 1,'), "not valid JSON"),
    "not utf-8": (_zip(raw=b'{"x": "\xff\xfe"}'), "not UTF-8"),
    "deeply nested": (_zip(raw=b"[" * 100_000 + b"]" * 100_000), "cannot be read"),
    "another format": (_zip({"format": "something-else", "version": 1}), "not an OdorDiff project"),
    "wrong version": (_zip(_doc(version=2)), "version 2"),
    "missing project": (_zip({k: v for k, v in _doc().items() if k != "project"}), "no 'project' field"),
    "missing runs": (_zip({k: v for k, v in _doc().items() if k != "runs"}), "no 'runs' field"),
    "run without request": (_zip(_doc(runs=[{"result": None, "model_versions": {}, "created_at": "2026-01-01"}])),
                            r"runs\[0\] has no 'request'"),
    "bad time": (_zip(_doc(runs=[{**_doc()["runs"][0], "created_at": "yesterday"}])), "ISO-8601"),
    "entry without smiles": (_zip(_doc(shortlist=[{"item": {}, "note": "", "rating": None, "status": "to smell"}])),
                             r"shortlist\[0\] has no 'smiles'"),
    "rating 9": (_zip(_doc(shortlist=[{**_doc()["shortlist"][0], "rating": 9}])), "rating must be 1 to 5"),
    "bad status": (_zip(_doc(shortlist=[{**_doc()["shortlist"][0], "status": "lost"}])), "status must be"),
    "nul in note": (_zip(_doc(shortlist=[{**_doc()["shortlist"][0], "note": "a\x00b"}])), "NUL"),
    "duplicate": (_zip(_doc(shortlist=_doc()["shortlist"] * 2)), "twice"),
    "10k entries": (_zip(_doc(shortlist=_entries(10_000))), f"at most {MAX_SHORTLIST:,}"),
}


def test_a_corrupt_or_hostile_import_is_refused_with_the_reason_and_nothing_is_saved(store: Store, ana: User) -> None:
    before = store.projects(ana)
    wrong = {}
    for case, (data, reason) in HOSTILE.items():  # one database for all cases: setup, not the checks, is the cost
        try:
            store.import_project(ana, data)
            wrong[case] = "imported"
        except ProjectImportError as exc:
            if not re.search(reason, str(exc)):
                wrong[case] = f"message {str(exc)!r} does not say {reason!r}"
    assert wrong == {}
    assert store.projects(ana) == before


def test_a_zip_bomb_is_cut_off_while_reading(store: Store, ana: User, monkeypatch: pytest.MonkeyPatch) -> None:
    from odordiff_core.store import archive

    monkeypatch.setattr(archive, "MAX_JSON_BYTES", 1024 * 1024)  # the real limit (128 MiB) works the same, slower
    bomb = _zip(raw=b" " * (20 * 1024 * 1024))  # 20 MiB of spaces: ~20 KiB zipped
    assert len(bomb) < 100_000
    with pytest.raises(ProjectImportError, match="unpacks to"):
        store.import_project(ana, bomb)
    header_lies = bytearray(bomb)  # a zip whose header claims a small size: the bounded read still stops it
    at = header_lies.rfind(b"PK\x01\x02")
    header_lies[at + 24:at + 28] = (100).to_bytes(4, "little")  # central directory: uncompressed size
    with pytest.raises(ProjectImportError):
        store.import_project(ana, bytes(header_lies))
    assert store.projects(ana) == []


def test_a_viewer_cannot_import(store: Store, ana: User) -> None:
    from odordiff_core.store import PermissionDenied, Role

    viewer = store.ensure_user("vi@example.com", claimed_role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        store.import_project(viewer, _zip(_doc()))
    assert store.projects(viewer) == []
