"""User text in a real browser: hostile strings typed into every input must show as themselves, load nothing.

Markdown images, links, `:red[…]`, `$…$`, raw HTML and bare URLs are typed into the Generate brief, the
Analyze SMILES box and a shortlist note; every action is clicked. No request may leave loopback, no `<img>`
or `<a href>` may point off it, no KaTeX may render, and the text must read as typed. A second server with a
password in ODORDIFF_REDIS_URL must not show that password on any page.
"""
from __future__ import annotations

import csv
import io
import time

import pytest
from playwright.sync_api import Page, expect

from .conftest import REDIS_SECRET, is_loopback
from .test_browser import RUN_TIMEOUT_MS, go_to, shoot, wait_idle

pytestmark = pytest.mark.e2e

WJ = "\u2060"  # the word joiner md_text puts inside URLs and before ':' so nothing autolinks
HOSTILE = (
    "![x](http://example.com/a.png)",
    "[click](http://example.com)",
    ":red[alert]",
    "$x^2$",
    "<img src=http://example.com/x.png>",
    "http://example.com/brief",
    ("\u202eevil\u202c \u200fשלום\u200f مرحبا 🧪👩‍🔬 ñandú Ωμέγα " * 30).strip(),
)
PAGES = ("Generate", "Compare", "Analyze a molecule", "Shortlist", "About")

_LINKS_AND_IMAGES = """() => {
  const out = [];
  const docs = [document, ...Array.from(document.querySelectorAll('iframe'))
      .map(f => { try { return f.contentDocument; } catch (e) { return null; } }).filter(Boolean)];
  for (const d of docs) {
    d.querySelectorAll('img[src], image, source[src], a[href], link[href]').forEach(el => {
      out.push(el.src || el.href?.baseVal || el.href || el.getAttribute('xlink:href') || '');
    });
  }
  return out;
}"""


def assert_nothing_leaves(page: Page) -> None:
    """No request tried to leave loopback; no image, link or source in the DOM points off it; no KaTeX drawn."""
    assert page.blocked == [], f"requests tried to leave the machine: {page.blocked}"
    off = [u for u in page.evaluate(_LINKS_AND_IMAGES) if u and not is_loopback(u)]
    assert off == [], f"elements point off loopback: {off}"
    assert page.locator(".katex").count() == 0, "user text was rendered as maths"
    assert page.locator("[data-testid='stException']").count() == 0


def _error_text(page: Page, expected: str, timeout_s: float = 30) -> str:
    """Returns the error box's text as read (word joiners dropped) once it quotes `expected`."""
    deadline = time.time() + timeout_s
    while True:
        errors = page.locator("[data-testid='stAlertContentError']")
        text = " ".join(errors.all_inner_texts()).replace(WJ, "")
        if (errors.count() == 1 and expected in text) or time.time() > deadline:
            assert expected in text, text
            return text
        page.wait_for_timeout(250)


def visible(page: Page) -> str:
    return page.locator("[data-testid='stMain']").inner_text().replace(WJ, "")


def test_hostile_text_in_every_input_stays_text_and_on_loopback(app_server, guarded_page: Page, tmp_path):
    base, _ = app_server
    page = guarded_page
    page.goto(base)
    wait_idle(page)
    box = page.get_by_label("Describe the scent")
    for n, text in enumerate(HOSTILE):
        box.fill(text)
        box.press("Control+Enter")  # commits a text area
        wait_idle(page)
        page.get_by_role("button", name="Generate", exact=True).click()
        wait_idle(page)
        headings = page.get_by_role("heading").filter(has_text="Candidates for")
        expect(headings).to_have_count(1, timeout=RUN_TIMEOUT_MS)  # the previous run's heading has gone
        want = f"Candidates for “{text}”"
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        heading = headings.inner_text().replace(WJ, "")
        while heading.strip() != want and time.monotonic() < deadline:  # until this run replaced the last one's
            page.wait_for_timeout(250)
            heading = headings.inner_text().replace(WJ, "")
        assert heading.strip() == want, heading
        assert "\\" not in heading
        assert_nothing_leaves(page)
        if n == 0:
            shoot(page, "hostile_generate")

    go_to(page, "Analyze a molecule")
    smiles = page.get_by_label("SMILES")
    for text in HOSTILE:
        smiles.fill(text)
        smiles.press("Enter")
        wait_idle(page)
        error = _error_text(page, repr(text) if text.isascii() else "SMILES of")
        assert "\\" not in error, error
        assert_nothing_leaves(page)
    shoot(page, "hostile_analyze")

    for smi in ("CC(C)=CCCC(C)(O)C=C", "COc1cc(C=O)ccc1O"):  # two molecules, so Compare renders
        smiles.fill(smi)
        smiles.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Add to shortlist").click()
        wait_idle(page)
        # the keep is saved by the rerun the click starts: wait for it before leaving the page
        expect(page.get_by_role("button", name="On the shortlist ✓")).to_be_visible(timeout=RUN_TIMEOUT_MS)

    go_to(page, "Shortlist")
    wait_idle(page)
    note = HOSTILE[0]
    grid = page.locator("[data-testid='stDataFrame']").first
    try:
        grid.wait_for(timeout=60_000)
    except Exception:
        shoot(page, "hostile_shortlist_missing_grid")  # what the page showed instead, for the CI artefacts
        raise
    bb = grid.bounding_box()
    assert bb is not None
    page.mouse.click(bb["x"] + 60, bb["y"] + 35 + 17)  # "your note" of the first row (under the header)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")  # opens the cell editor (glide-data-grid's overlay, in #portal)
    editor = page.locator("#portal textarea").first
    editor.wait_for(state="visible", timeout=10_000)
    editor.fill(note)
    editor.press("Enter")
    page.wait_for_timeout(1500)  # the edit reaches the server, which reruns the page
    wait_idle(page)
    shoot(page, "hostile_shortlist_note")
    for attempt in range(3):  # the CSV is built by the rerun that follows the edit
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download CSV").click()
        path = tmp_path / f"shortlist{attempt}.csv"
        dl.value.save_as(path)
        notes = [row["user_note"] for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))]
        if any(note in n for n in notes):
            break
        page.wait_for_timeout(2000)
    assert any(note in n for n in notes), notes  # the note was typed in and kept as typed
    assert_nothing_leaves(page)
    shoot(page, "hostile_shortlist")

    for title in PAGES:
        go_to(page, title)
        assert_nothing_leaves(page)


def test_redis_password_is_shown_on_no_page(app_server_with_redis_password, guarded_page: Page):
    base, _ = app_server_with_redis_password
    page = guarded_page
    page.goto(base)
    wait_idle(page)
    for title in PAGES:
        go_to(page, title)
        page.wait_for_timeout(500)
        assert REDIS_SECRET not in page.content(), f"the Redis password is in the HTML of {title}"
        assert REDIS_SECRET not in page.locator("body").inner_text(), f"the Redis password is shown on {title}"
    assert "***" in visible(page), "About should name the Redis URL, redacted"
    shoot(page, "about_redis_password")
    assert page.blocked == [], f"requests tried to leave the machine: {page.blocked}"
