"""AppTest with a password in ODORDIFF_REDIS_URL (issue 14): no page shows it, no log record holds it, and no
page has an exception; a malformed URL leaves the app working without the shared cache."""
from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui.widgets import md_text

REPO = Path(__file__).resolve().parents[2]
PAGES = tuple(f"pages/{p.name}" for p in sorted((REPO / "pages").glob("*.py")))
TIMEOUT_S = 120  # first use loads the predictor, the safety tables and the known-odorant index
PASSWORD = "s3cret-pass"
PROMPT = "a fresh summer morning by the sea with a hint of lemon"


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clear_cache_resources() -> None:
    from app_ui import resources

    resources.get_settings.clear()
    resources.get_result_cache.clear()


def _shown(at: AppTest) -> str:
    """Returns everything the page shows (every element's and block's message, sidebar included)."""
    return "\n".join(str(node.proto) for root in (at.main, at.sidebar) for node in root if node.proto is not None)


@pytest.fixture(params=["malformed", "dead"])
def password_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = {"malformed": f"redis://:{PASSWORD}@127.0.0.1:notaport/0",  # the URL of issue 14
           "dead": f"redis://:{PASSWORD}@127.0.0.1:{_dead_port()}/0"}[request.param]
    monkeypatch.setenv("ODORDIFF_REDIS_URL", url)
    _clear_cache_resources()
    yield request.param
    monkeypatch.undo()
    _clear_cache_resources()


def test_no_page_shows_the_redis_password_or_an_exception(password_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, at.exception
    at.text_area(key="gen_prompt").input(PROMPT).run()
    at.button(key="gen_go").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["gen_result"] is not None  # generated without the shared cache
    assert PASSWORD not in _shown(at)

    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        assert PASSWORD not in _shown(at), page

    at.switch_page("pages/about.py")
    at.run()
    assert "Cache:" in _shown(at)  # _shown sees the page's text
    if password_url == "malformed":
        assert any("Cannot use Redis URL" in w.value and "notaport" in w.value for w in at.warning)
    else:
        # the URL is shown redacted and as plain text (md_text escapes it: backslashes, word joiners)
        assert any(md_text("redis://***@127.0.0.1") in m.value and "unavailable" in m.value for m in at.markdown)
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)
