"""A project as a file: a zip holding project.json (the project's runs and shortlist: what an import reads),
shortlist.csv and shortlist.sdf (the same shortlist for a spreadsheet and a chemistry tool, written by
`odordiff_core.export`; an import ignores them).

project.json (format "odordiff-project", version 1)::

    {"format": "odordiff-project", "version": 1, "exported_at": ISO-8601,
     "project": {"name": str, "created_at": ISO-8601},
     "runs": [{"prompt": str, "request": {...}, "result": {...} | null, "model_versions": {str: str},
               "created_at": ISO-8601}, ...],                       # oldest first
     "shortlist": [{"smiles": str, "item": {...}, "note": str, "rating": 1..5 | null,
                    "status": "to smell" | "ordered" | "rejected"}, ...]}   # in the order kept

Owner and sharing are not exported: the importing user owns the new project. `read_archive` checks everything before
the store writes anything, and refuses with ProjectImportError (naming the field) a file that is not a zip, larger
than the limits below (a zip bomb is cut off while reading, whatever the zip declares), bad JSON, another format or
version, a missing or mistyped field, a duplicate molecule, or more shortlist entries than a project holds.
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, ProjectImportError
from ..types import ShortlistStatus

if TYPE_CHECKING:
    from .store import Project, Run, ShortlistEntry

FORMAT = "odordiff-project"
VERSION = 1
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # the zip file as uploaded
MAX_JSON_BYTES = 128 * 1024 * 1024  # project.json uncompressed (~1,000 runs of 16 candidates each, with results)
MAX_MEMBERS = 16  # files in the zip (an export has 3)
MAX_RUNS = 10_000


@dataclass(frozen=True)
class ArchivedRun:
    prompt: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    model_versions: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class ArchivedEntry:
    smiles: str
    item: dict[str, Any]
    note: str
    rating: int | None
    status: ShortlistStatus


@dataclass(frozen=True)
class ArchivedProject:
    name: str
    runs: tuple[ArchivedRun, ...]
    shortlist: tuple[ArchivedEntry, ...]


def write_archive(project: Project, runs: list[Run], entries: list[ShortlistEntry]) -> bytes:
    """Returns the zip of one project (runs oldest first, entries in the order kept). Raises InvalidInput when
    project.json would exceed what an import accepts."""
    doc = {
        "format": FORMAT, "version": VERSION, "exported_at": datetime.now(UTC).isoformat(),
        "project": {"name": project.name, "created_at": project.created_at.isoformat()},
        "runs": [{"prompt": r.prompt, "request": r.request, "result": r.result, "model_versions": r.model_versions,
                  "created_at": r.created_at.isoformat()} for r in runs],
        "shortlist": [{"smiles": e.smiles, "item": e.item, "note": e.note, "rating": e.rating,
                       "status": e.status.value} for e in entries],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    if len(text) > MAX_JSON_BYTES:
        raise InvalidInput(f"The project is too large to export ({len(text) / 2**20:.0f} MiB of JSON; an import "
                           f"accepts {MAX_JSON_BYTES // 2**20} MiB): split its history into several projects.")
    items = [_export_item(e) for e in entries]
    from ..chem import to_mol
    from ..export import to_csv, to_sdf

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.json", text)
        zf.writestr("shortlist.csv", to_csv(items))
        zf.writestr("shortlist.sdf", to_sdf([i for i in items if to_mol(i.smiles) is not None]))  # unparsable: CSV only
    return buf.getvalue()


def _export_item(entry: ShortlistEntry) -> Any:
    """Returns the entry's ShortlistItem with the entry's note (a minimal item when the stored JSON is not one)."""
    from dataclasses import replace

    from ..export import ShortlistItem

    try:
        item = ShortlistItem.from_json(entry.item)
    except (KeyError, TypeError, ValueError, AttributeError):
        item = ShortlistItem(smiles=entry.smiles, source=str(entry.item.get("source") or "kept"))
    return replace(item, smiles=entry.smiles, user_note=entry.note)


def read_archive(data: bytes, max_entries: int) -> ArchivedProject:
    """Returns the project a zip written by `write_archive` holds; raises ProjectImportError saying what is wrong."""
    if not isinstance(data, (bytes, bytearray)):
        raise ProjectImportError("An import needs the bytes of a .zip file exported by OdorDiff.")
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ProjectImportError(f"The file is {len(data) / 2**20:.1f} MiB; an import accepts at most "
                                 f"{MAX_ARCHIVE_BYTES // 2**20} MiB.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ProjectImportError(f"The zip holds {len(infos)} files; an OdorDiff export holds 3.")
            try:
                info = zf.getinfo("project.json")
            except KeyError:
                raise ProjectImportError("The zip has no project.json: it is not a project exported by OdorDiff.") \
                    from None
            if info.file_size > MAX_JSON_BYTES:
                raise ProjectImportError(_too_big(info.file_size))
            with zf.open(info) as f:
                raw = f.read(MAX_JSON_BYTES + 1)  # bounded, whatever the header claims (zip bombs)
    except ProjectImportError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise ProjectImportError(f"The file is not a readable zip ({exc}); export the project again.") from None
    if len(raw) > MAX_JSON_BYTES:
        raise ProjectImportError(_too_big(len(raw)))
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectImportError(f"project.json is not UTF-8 text (byte {exc.start}).") from None
    except json.JSONDecodeError as exc:
        raise ProjectImportError(f"project.json is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                                 f"{exc.colno}.") from None
    except (RecursionError, ValueError) as exc:
        raise ProjectImportError(f"project.json cannot be read ({type(exc).__name__}: nested too deeply or a "
                                 f"number too long).") from None
    return _parse(doc, max_entries)


def _too_big(size: int) -> str:
    return (f"project.json unpacks to {size / 2**20:.0f} MiB or more; an import accepts at most "
            f"{MAX_JSON_BYTES // 2**20} MiB.")


def _get(d: Any, key: str, where: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
    if not isinstance(d, dict):
        raise ProjectImportError(f"{where} must be a JSON object.")
    if key not in d:
        if optional:
            return None
        raise ProjectImportError(f"{where} has no {key!r} field: the file is incomplete or not an OdorDiff export.")
    value = d[key]
    if optional and value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ProjectImportError(f"{where}.{key} must be {names}, got {type(value).__name__}.")
    return value


def _checked_text(value: str, where: str, **limits: int) -> str:
    from .store import _text

    try:
        return _text(value, where, **limits)
    except InvalidInput as exc:
        raise ProjectImportError(str(exc)) from None


def _time(value: Any, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ProjectImportError(f"{where} must be an ISO-8601 time, got {str(value)[:40]!r}.") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _parse(doc: Any, max_entries: int) -> ArchivedProject:
    from .models import NAME_LEN
    from .store import MAX_NOTE_BYTES, MAX_SMILES_LEN

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectImportError(f"project.json is not an OdorDiff project (its format must be {FORMAT!r}).")
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        raise ProjectImportError(f"project.json is format version {version!r}; this OdorDiff reads version {VERSION}. "
                                 f"Export it again from an installation of the same OdorDiff version.")
    project = _get(doc, "project", "project.json", dict)
    name = _checked_text(_get(project, "name", "project", str), "project.name", limit_chars=NAME_LEN).strip()
    if not name:
        raise ProjectImportError("project.name is empty.")
    runs_in = _get(doc, "runs", "project.json", list)
    entries_in = _get(doc, "shortlist", "project.json", list)
    if len(runs_in) > MAX_RUNS:
        raise ProjectImportError(f"The file holds {len(runs_in):,} runs; an import accepts at most {MAX_RUNS:,}.")
    if len(entries_in) > max_entries:
        raise ProjectImportError(f"The file holds {len(entries_in):,} shortlist entries; a project keeps at most "
                                 f"{max_entries:,}.")
    runs = []
    for i, r in enumerate(runs_in):
        w = f"runs[{i}]"
        request = _get(r, "request", w, dict)
        versions = _get(r, "model_versions", w, dict)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
            raise ProjectImportError(f"{w}.model_versions must map names to version strings.")
        prompt = _get(r, "prompt", w, str, optional=True)
        if prompt is None:
            prompt = request.get("prompt") if isinstance(request.get("prompt"), str) else ""
        runs.append(ArchivedRun(_checked_text(prompt, f"{w}.prompt"), request, _get(r, "result", w, dict, optional=True),
                                versions, _time(_get(r, "created_at", w, str), f"{w}.created_at")))
    entries, seen = [], set()
    for i, e in enumerate(entries_in):
        w = f"shortlist[{i}]"
        smiles = _checked_text(_get(e, "smiles", w, str), f"{w}.smiles", limit_chars=MAX_SMILES_LEN).strip()
        if not smiles:
            raise ProjectImportError(f"{w}.smiles is empty.")
        if smiles in seen:
            raise ProjectImportError(f"{w}: {smiles} is on the shortlist twice.")
        seen.add(smiles)
        rating = _get(e, "rating", w, int, optional=True)
        if rating is not None and not 1 <= rating <= 5:
            raise ProjectImportError(f"{w}.rating must be 1 to 5 or null, got {rating}.")
        status_text = _get(e, "status", w, str)
        try:
            status = ShortlistStatus(status_text)
        except ValueError:
            raise ProjectImportError(f"{w}.status must be one of {', '.join(s.value for s in ShortlistStatus)}, got "
                                     f"{status_text[:40]!r}.") from None
        entries.append(ArchivedEntry(smiles, _get(e, "item", w, dict),
                                     _checked_text(_get(e, "note", w, str), f"{w}.note", limit_bytes=MAX_NOTE_BYTES),
                                     rating, status))
    return ArchivedProject(name, tuple(runs), tuple(entries))
