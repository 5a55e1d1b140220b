"""Data layer: where each public data file lives, its pinned upstream URL and SHA-256, and how to get it.

The sums and URLs are copied from ../shared/data/SHA256SUMS and its README (pyrfume-data and openpom
pinned to a commit, so the checksums hold). The two safety tables compiled for OdorDiff have no
upstream: they ship inside the package (package_data/safety) and are checked the same way.

Downloads happen only in `odordiff data check --download` (`make data`, the first step of `make run`; the
Docker image runs it at build time). At run time a missing file is a DataError saying so, never a download.
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .config import PACKAGE_DATA_DIR, Settings
from .errors import DataError

_PYRFUME = "https://raw.githubusercontent.com/pyrfume/pyrfume-data/8054ea98ed675005ec10e67359902f500e4911b0"
_OPENPOM = "https://raw.githubusercontent.com/ARY2260/openpom/5434c4b7badebca8e7d180aa34d2f787402121ee"


@dataclass(frozen=True)
class DataFile:
    name: str  # path relative to the data directory
    sha256: str
    url: str | None  # pinned upstream URL; None = ships with the package


MANIFEST: tuple[DataFile, ...] = (
    DataFile("corpus/pyrfume_molecules.csv", "37b6bfac246f966e20e3acc98d2d1ed3098b0d22f6ca07061060fb6fb32ce958", f"{_PYRFUME}/molecules/molecules.csv"),
    DataFile("odor/curated_GS_LF_merged_4983.csv", "0c18b6e9f0f99b772203ba4da30a96b3d60db700349376cbafe23512a9baa704", f"{_OPENPOM}/openpom/data/curated_datasets/curated_GS_LF_merged_4983.csv"),
    DataFile("odor/goodscents/README.md", "3933115336efa1322c1417682ad66b7a346cb9b5a090adae89ddf3079c366986", f"{_PYRFUME}/goodscents/README.md"),
    DataFile("odor/goodscents/behavior.csv", "18968aa66cab974ee2f942ad0abd0875ccf2bcc9501c1cb306a54bd639a22219", f"{_PYRFUME}/goodscents/behavior.csv"),
    DataFile("odor/goodscents/data_rw_odor.csv", "91452770a3f38e0324fa95ca62155c0d4c6e582f6378c970dff786b06330d0ce", f"{_PYRFUME}/goodscents/data_rw_odor.csv"),
    DataFile("odor/goodscents/data_rw_opl.csv", "765fbd791aef09bc669b312d7bc19fb4cf15d80906d1fe14e557dd80d1a7ddb4", f"{_PYRFUME}/goodscents/data_rw_opl.csv"),
    DataFile("odor/goodscents/molecules.csv", "0d9bd38c54a40a051ae7b771d51f11ac1fcf021e0369fc53583e5f634e6e8bb4", f"{_PYRFUME}/goodscents/molecules.csv"),
    DataFile("odor/goodscents/stimuli.csv", "356cdd74a859ab1e8e061952dbb21587afc8981bb460cc670481d688afac923f", f"{_PYRFUME}/goodscents/stimuli.csv"),
    DataFile("odor/ifra_2019/behavior.csv", "346deb88ad4560f509734329254651704a269826dd3145b5b8e8e59bce4466ff", f"{_PYRFUME}/ifra_2019/behavior.csv"),
    DataFile("odor/ifra_2019/glossary.csv", "21d82337f8c6b47e5c91ea181276256a1a0b6f70b7da5a0d10c358046caab26a", f"{_PYRFUME}/ifra_2019/ifra-fragrance-ingredient-glossary---oct-2019.csv"),
    DataFile("odor/ifra_2019/molecules.csv", "405ae4f6a20620450287a2b192580bbe4f240193984d0abc07d505e283d776ac", f"{_PYRFUME}/ifra_2019/molecules.csv"),
    DataFile("odor/ifra_2019/stimuli.csv", "6764952fde3aaf937734e43572a845edec558d121c54fd85c07916968d2cc6be", f"{_PYRFUME}/ifra_2019/stimuli.csv"),
    DataFile("odor/leffingwell/behavior_sparse.csv", "31e5be5d236c6b9c5907bdd08b459379b52f619c6d58886e7d7e974522ae0690", f"{_PYRFUME}/leffingwell/behavior_sparse.csv"),
    DataFile("odor/leffingwell/molecules.csv", "a06841a275c35b9db9253a24ac913ad97bf39f2c778e4f8a5c4df641e7dc0fa6", f"{_PYRFUME}/leffingwell/molecules.csv"),
    DataFile("odor/leffingwell/stimuli.csv", "ff4be9ba6a66523bc5a165ded09eee125ccb79d4988090d682b323d9331a44c8", f"{_PYRFUME}/leffingwell/stimuli.csv"),
    DataFile("safety/eu_fragrance_allergens.csv", "a45235b5f1c5a677d028d40044455267f1922d79c9b597ec490e9445ee558b75", None),
    DataFile("safety/gras_molecules.csv", "c0308c107222dfb18575a4aa1b467294f77cc1994a9fd98fe664c211a6cf8ee6", f"{_PYRFUME}/gras/molecules.csv"),
    DataFile("safety/ifra_prohibited_restricted.csv", "b17193948774c3918cd18e1e3f33f3540932eebe08698f5e1d47fe717469eeec", None),
    DataFile("safety/t3db_molecules.csv", "36c0ef139393038ff51746232f066f5c0c0d40588176afef2d2e1b697ffbb3d7", f"{_PYRFUME}/t3db/molecules.csv"),
)
_BY_NAME = {f.name: f for f in MANIFEST}


@dataclass(frozen=True)
class FileStatus:
    name: str
    path: Path
    status: str  # "ok" | "missing" | "checksum mismatch"
    source: str  # "data dir" | "package"


def sha256_file(path: Path) -> str:
    """Returns the hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _location(entry: DataFile, settings: Settings) -> tuple[Path, str]:
    if entry.url is None:
        return PACKAGE_DATA_DIR / entry.name, "package"
    return settings.data_dir / entry.name, "data dir"


def check_file(name: str, settings: Settings) -> FileStatus:
    """Returns the status of one manifest file without downloading anything."""
    entry = _entry(name)
    path, source = _location(entry, settings)
    if not path.is_file():
        return FileStatus(name, path, "missing", source)
    ok = sha256_file(path) == entry.sha256
    return FileStatus(name, path, "ok" if ok else "checksum mismatch", source)


def check_all(settings: Settings) -> list[FileStatus]:
    """Returns the status of every manifest file, in manifest order."""
    return [check_file(f.name, settings) for f in MANIFEST]


def _entry(name: str) -> DataFile:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise DataError(f"Unknown data file {name!r}. Known files: {', '.join(sorted(_BY_NAME))}.") from None


def _url_for(entry: DataFile, settings: Settings) -> str:
    assert entry.url is not None
    if settings.data_mirror:
        return settings.data_mirror.rstrip("/") + "/" + entry.name
    return entry.url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_download_url(url: str, *, mirror: bool) -> None:
    """Returns None when OdorDiff may fetch this URL: https, or plain http to a loopback host for a mirror.

    Raises DataError otherwise. Plain http from anywhere else could be altered on the way; the checksum would
    catch that, but a download that is refused is clearer than one that fails its checksum.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if mirror and parts.scheme == "http" and _is_loopback(host):
        return
    where = "ODORDIFF_DATA_MIRROR" if mirror else "the pinned upstream URL"
    raise DataError(f"Refusing to download from {url} ({where}): data files are fetched over https only (a mirror "
                    f"on this machine, 127.0.0.1 or localhost, may use http). Point ODORDIFF_DATA_MIRROR at an "
                    f"https mirror, or copy the files into ODORDIFF_DATA_DIR by hand.")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port or {"http": 80, "https": 443}.get(parts.scheme)


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the same scheme, host and port: a pinned file comes from where it was pinned."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            fp.close()
            raise DataError(f"Refused the redirect from {req.full_url} to {newurl}: data files are downloaded only "
                            f"from the host they are pinned to, never from where a redirect points. Point "
                            f"ODORDIFF_DATA_MIRROR at a mirror that serves the files itself, or copy them into "
                            f"ODORDIFF_DATA_DIR by hand.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download_file(name: str, settings: Settings, timeout_s: float = 30.0) -> Path:
    """Downloads one file from its pinned URL (or the mirror), verifies its SHA-256 and moves it into place.

    Only `odordiff data check --download` (the data step of `make run` / `make data`) calls this: nothing
    downloads at run time. https only (an ODORDIFF_DATA_MIRROR on a loopback host may be http), no redirect to
    another host. Raises DataError naming the file and the fix when the URL is refused, the network fails or the
    bytes do not match; the file is moved into place only after its checksum matched, so a partial, redirected
    or wrong download never replaces the target.
    """
    entry = _entry(name)
    path, _ = _location(entry, settings)
    if entry.url is None:
        raise DataError(f"{name} ships with the package at {path}; reinstall OdorDiff (git checkout) to restore it.")
    url = _url_for(entry, settings)
    check_download_url(url, mirror=bool(settings.data_mirror))
    opener = urllib.request.build_opener(_SameOriginRedirects())
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as tmp:
        tmp_path = Path(tmp.name)
    try:
        try:
            with opener.open(url, timeout=timeout_s) as resp, open(tmp_path, "wb") as out:
                shutil.copyfileobj(resp, out)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DataError(
                f"Data file {name} is missing from {settings.data_dir} and could not be downloaded from {url} "
                f"({exc}). Connect to the internet and run `odordiff data check --download`, or copy the file "
                f"there by hand, or set ODORDIFF_DATA_DIR to a folder that holds it."
            ) from None
        got = sha256_file(tmp_path)
        if got != entry.sha256:
            raise DataError(f"Downloaded {name} from {url} but its SHA-256 is {got}, expected {entry.sha256}. "
                            f"The mirror serves a different version; point ODORDIFF_DATA_MIRROR at a pinned copy.")
        tmp_path.replace(path)
    finally:
        tmp_path.unlink(missing_ok=True)  # a failed or refused download leaves nothing behind
    return path


def data_path(name: str, settings: Settings) -> Path:
    """Returns the verified path of one data file. Never downloads: fetching is `make data`'s job.

    Raises DataError when the file is missing (saying to run `make data` or `odordiff data check --download`)
    or corrupted (checksum mismatch).
    """
    status = check_file(name, settings)
    if status.status == "ok":
        return status.path
    if status.status == "checksum mismatch":
        raise DataError(f"Data file {status.path} does not match its SHA-256 (corrupted or a different "
                        f"version). Delete it and run `odordiff data check --download` to fetch the pinned copy.")
    raise DataError(f"Data file {name} is missing from {status.path.parent}. Nothing is downloaded while OdorDiff "
                    f"runs: run `make data` or `odordiff data check --download` to fetch and verify the pinned "
                    f"files, or set ODORDIFF_DATA_DIR to a folder that holds them.")
