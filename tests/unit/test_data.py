"""The data layer: checksums, downloads only on request (https, same host, verified), clear offline errors."""
import http.server
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from odordiff_core import data
from odordiff_core.errors import DataError

NAME = "odor/leffingwell/stimuli.csv"  # a small file


@pytest.fixture()
def empty_dir_settings(settings, tmp_path):
    return replace(settings, data_dir=tmp_path / "data")


@dataclass
class Mirror:
    root: Path
    url: str  # http://127.0.0.1:PORT
    requests: list[str] = field(default_factory=list)  # every path asked for, in order
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location answered with a 302


@pytest.fixture()
def mirror(settings, tmp_path):
    """A local HTTP server serving a copy of the data directory (no internet here); it logs every request."""
    root = tmp_path / "mirror"
    shutil.copytree(settings.data_dir / "odor" / "leffingwell", root / "odor" / "leffingwell")
    state = Mirror(root, "")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):  # noqa: N802 - http.server's name
            state.requests.append(self.path)
            if self.path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[self.path])
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()


def test_every_shared_data_file_matches_its_pinned_checksum(settings):
    statuses = data.check_all(settings)
    assert len(statuses) == len(data.MANIFEST) == 19
    assert {s.status for s in statuses} == {"ok"}


def test_compiled_safety_tables_ship_with_the_package(settings):
    st = data.check_file("safety/ifra_prohibited_restricted.csv", settings)
    assert st.source == "package" and st.status == "ok"
    assert "package_data" in str(st.path)


def test_missing_file_is_downloaded_from_the_mirror_and_verified(empty_dir_settings, mirror):
    s = replace(empty_dir_settings, data_mirror=mirror.url)
    assert data.check_file(NAME, s).status == "missing"
    path = data.download_file(NAME, s)
    assert path.is_file() and data.check_file(NAME, s).status == "ok"
    assert data.data_path(NAME, s) == path


def test_missing_file_at_run_time_is_an_error_naming_make_data_and_nothing_is_downloaded(empty_dir_settings, mirror):
    s = replace(empty_dir_settings, data_mirror=mirror.url)
    with pytest.raises(DataError) as exc:
        data.data_path(NAME, s)
    msg = str(exc.value)
    assert NAME in msg and "make data" in msg and "odordiff data check --download" in msg
    assert mirror.requests == []
    assert not (s.data_dir / NAME).exists()


def test_screen_command_with_a_missing_data_file_downloads_nothing_and_says_how_to_fetch_it(tmp_path, mirror):
    env = {"ODORDIFF_DATA_DIR": str(tmp_path / "data"), "ODORDIFF_DATA_MIRROR": mirror.url, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "odordiff_core", "screen", "CCO"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 2
    assert "make data" in out.stderr and "Traceback" not in out.stderr
    assert mirror.requests == []
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.csv"))


def test_mirror_serving_different_bytes_is_refused_and_nothing_is_left_behind(empty_dir_settings, mirror):
    (mirror.root / NAME).write_text("Stimulus,CID\n1,2\n")
    s = replace(empty_dir_settings, data_mirror=mirror.url)
    with pytest.raises(DataError, match="SHA-256"):
        data.download_file(NAME, s)
    assert not (s.data_dir / NAME).exists()
    assert not list((s.data_dir / "odor" / "leffingwell").glob("*.part"))


def test_redirect_to_another_host_is_refused_and_nothing_is_left_behind(empty_dir_settings, mirror):
    port = mirror.url.rsplit(":", 1)[1]
    mirror.redirects[f"/{NAME}"] = f"http://localhost:{port}/elsewhere/{NAME}"  # same server, another host name
    s = replace(empty_dir_settings, data_mirror=mirror.url)
    with pytest.raises(DataError, match="Refused the redirect"):
        data.download_file(NAME, s)
    assert mirror.requests == [f"/{NAME}"]  # the redirect target was never asked for
    assert not (s.data_dir / NAME).exists()
    assert not list((s.data_dir / "odor" / "leffingwell").glob("*.part"))


def test_redirect_on_the_same_host_is_followed_and_verified(empty_dir_settings, mirror):
    moved = mirror.root / "moved" / NAME
    moved.parent.mkdir(parents=True)
    shutil.copy(mirror.root / NAME, moved)
    mirror.redirects[f"/{NAME}"] = f"/moved/{NAME}"
    s = replace(empty_dir_settings, data_mirror=mirror.url)
    assert data.check_file(NAME, s).status == "missing"
    data.download_file(NAME, s)
    assert data.check_file(NAME, s).status == "ok"
    assert mirror.requests == [f"/{NAME}", f"/moved/{NAME}"]


@pytest.mark.parametrize("url", ["http://192.0.2.1/data", "ftp://127.0.0.1/data", "file:///etc"])
def test_plain_http_mirror_off_this_machine_is_refused_before_connecting(empty_dir_settings, url):
    s = replace(empty_dir_settings, data_mirror=url)
    with pytest.raises(DataError, match="https"):
        data.download_file(NAME, s)
    assert not (s.data_dir / NAME).exists()


def test_pinned_urls_are_https_and_plain_http_is_only_for_a_loopback_mirror():
    for entry in data.MANIFEST:
        if entry.url is not None:
            data.check_download_url(entry.url, mirror=False)  # raises on anything but https
    data.check_download_url("http://127.0.0.1:8000/x", mirror=True)
    data.check_download_url("http://[::1]:8000/x", mirror=True)
    data.check_download_url("http://localhost:8000/x", mirror=True)
    with pytest.raises(DataError):
        data.check_download_url("http://127.0.0.1:8000/x", mirror=False)
    with pytest.raises(DataError):
        data.check_download_url("http://127.0.0.1.example.com/x", mirror=True)


def test_missing_file_without_network_names_the_file_and_the_fix(empty_dir_settings):
    s = replace(empty_dir_settings, data_mirror="http://127.0.0.1:9")  # closed port: like no network
    with pytest.raises(DataError) as exc:
        data.download_file(NAME, s)
    msg = str(exc.value)
    assert NAME in msg and "odordiff data check --download" in msg


def test_corrupted_file_is_reported_with_the_fix(empty_dir_settings, settings):
    target = empty_dir_settings.data_dir / NAME
    target.parent.mkdir(parents=True)
    shutil.copy(settings.data_dir / NAME, target)
    with open(target, "a") as fh:
        fh.write("tampered\n")
    assert data.check_file(NAME, empty_dir_settings).status == "checksum mismatch"
    with pytest.raises(DataError, match="does not match its SHA-256"):
        data.data_path(NAME, empty_dir_settings)


def test_data_check_cli_lists_missing_files_without_a_traceback(tmp_path):
    env = {"ODORDIFF_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "odordiff_core", "data", "check"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 1
    assert "missing" in out.stdout and NAME in out.stdout
    assert "Traceback" not in out.stderr
