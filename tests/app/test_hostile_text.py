"""AppTest: text a user typed is shown as itself, never rendered as Markdown (images, links, colours, maths, HTML).

Every hostile string goes into every text input (Generate brief, Analyze SMILES, a shortlist note and the
prompt Compare labels a molecule with). The page must not raise, the text must come back readable (once the
escapes are read as Markdown reads them), and no element may hold live link, image, maths, directive or HTML
syntax, nor a bare URL that Markdown would turn into a link.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui.widgets import md_text

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120

LONG_UNICODE = ("\u202eevil\u202c \u200fשלום\u200f مرحبا 🧪👩‍🔬🏳️‍🌈 ñandú Ωμέγα " * 40).strip()
HOSTILE = (
    "![x](http://example.com/a.png)",
    "[click](http://example.com)",
    ":red[alert]",
    "$x^2$",
    "<img src=http://example.com/x.png>",
    "http://example.com/brief",
    LONG_UNICODE,
)
ASCII_HOSTILE = tuple(h for h in HOSTILE if h.isascii())
# Live syntax: something Markdown, KaTeX, Streamlit's directives or the GFM autolinker would act on.
ACTIVE = (
    re.compile(r"(?<!\\)!\\?\[.*(?<!\\)\]\("),  # image
    re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\("),  # link
    re.compile(r"(?<!\\)\$"),  # maths
    re.compile(r"(?<!\\):red(?<!\\)\["),  # colour directive
    re.compile(r"(?<!\\)<img"),  # raw HTML
    re.compile(r"https?:/"),  # a bare URL the autolinker would see (md_text puts a word joiner before ':')
    re.compile(r"www\."),
)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _shown(value: str) -> str:
    """Returns what a reader sees of a Markdown string of ours: escapes resolved, word joiners dropped."""
    return _ESCAPE.sub(r"\1", value).replace("\u2060", "")


def _values(at: AppTest) -> list[str]:
    kinds = (at.markdown, at.caption, at.error, at.warning, at.info, at.success, at.title, at.header, at.subheader)
    return [str(e.value) for kind in kinds for e in kind]


def _assert_inert(at: AppTest) -> None:
    assert not at.exception, at.exception
    for value in _values(at):
        if "example" not in value and "alert" not in value and "x^2" not in value.replace("\\", ""):
            continue  # the app's own text (it may use Markdown on purpose)
        for pattern in ACTIVE:
            assert not pattern.search(value), f"live Markdown {pattern.pattern!r} in {value!r}"


@pytest.fixture()
def app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at


def test_md_text_escapes_every_active_construct():
    for h in HOSTILE:
        out = md_text(h)
        assert _shown(out) == " ".join(h.splitlines())
        for pattern in ACTIVE:
            assert not pattern.search(out), (h, out)
    assert "\u2060" in md_text("mail me@example.com") and ":smile\u2060\\:" in md_text(":smile:")
    assert md_text("a\n# b") == "a \\# b"  # no block syntax can start


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_generate_brief_is_shown_as_plain_text(app: AppTest, text: str):
    app.text_area(key="gen_prompt").input(text).run()
    _assert_inert(app)
    app.button(key="gen_go").click().run()
    _assert_inert(app)
    shown = [_shown(v) for v in _values(app)]
    assert any(f"Candidates for “{text}”" in s for s in shown), shown


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_analyze_error_quotes_the_input_as_plain_text(app: AppTest, text: str):
    app.switch_page("pages/analyze.py")
    app.run()
    app.text_input(key="analyze_smiles").input(text).run()
    _assert_inert(app)
    assert app.error, "an unparsable SMILES must be refused with a message"
    if text in ASCII_HOSTILE:
        assert any(text in _shown(e.value) for e in app.error), [e.value for e in app.error]
