"""The perfumer's flow in a real browser: brief -> candidates -> shortlist -> Compare (3D) -> CSV export.

Runs against `streamlit run app.py` (see conftest.py) in Debian's headless Chromium. Every non-loopback
request is aborted, and the tests assert that none was even attempted. Screenshots of every page go to
artifacts/screenshots/. Timings (to first page, to first results) are written to artifacts/e2e_timings.txt.
"""
from __future__ import annotations

import csv
import io
import time

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Page, expect
from rdkit import Chem

from .conftest import REPO, SCREENSHOTS

pytestmark = pytest.mark.e2e

PROMPT = "a fresh summer morning by the sea with a hint of lemon"
RUN_TIMEOUT_MS = 180_000  # first generation loads the models on a 2-core machine
TIMINGS = REPO / "artifacts" / "e2e_timings.txt"


def wait_idle(page: Page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Waits until the app is connected and its script has finished running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_timeout(300)  # let the last deltas paint


def go_to(page: Page, title: str) -> None:
    """Switches page with the sidebar link: same session, so the shortlist must survive."""
    page.locator("[data-testid='stSidebarNavLink']").filter(has_text=title).first.click()
    wait_idle(page)


def shoot(page: Page, name: str) -> None:
    """Saves a screenshot of the whole page: Streamlit scrolls inside stMain, so the viewport is grown to fit."""
    size = page.viewport_size
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 8000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size(size)


def record(line: str) -> None:
    with open(TIMINGS, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def canvas_is_drawn(png_path) -> bool:
    """Returns True when a screenshot of the canvas is not one flat colour (a molecule was drawn)."""
    img = Image.open(png_path).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 16)
    n_colours = len(colours) if colours is not None else 1 << 16
    return n_colours > 20 and max(ImageStat.Stat(img).stddev) > 5


def test_every_page_opens_offline_and_about_names_the_cache(app_server, guarded_page: Page):
    base, to_healthy = app_server
    page = guarded_page
    t0 = time.perf_counter()
    page.goto(base)
    expect(page.get_by_role("heading", name="Generate")).to_be_visible(timeout=60_000)
    wait_idle(page)
    record(f"server healthy: {to_healthy:.2f} s; first page rendered: {time.perf_counter() - t0:.2f} s after goto")
    shoot(page, "01_generate_empty")
    for title, shot in (("Analyze a molecule", "analyze_empty"), ("Shortlist", "shortlist_empty"),
                        ("Compare", "compare_empty"), ("About", "about")):
        go_to(page, title)
        shoot(page, shot)
    expect(page.get_by_text("in-process cache only")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.blocked == [], f"requests tried to leave the machine: {page.blocked}"


def test_generate_shortlist_compare_export(app_server, guarded_page: Page, tmp_path):
    base, _ = app_server
    page = guarded_page
    page.goto(base)
    wait_idle(page)
    t_prompt = time.perf_counter()
    page.get_by_label("Describe the scent").fill(PROMPT)
    page.keyboard.press("Control+Enter")  # commits a text area
    expect(page.get_by_text("What the brief asks for")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    t_interp = time.perf_counter() - t_prompt
    shoot(page, "02_generate_interpreted")
    t0 = time.perf_counter()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_text("Candidates for")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    t_gen = time.perf_counter() - t0
    record(f"first results on a fresh server: prompt -> interpretation shown (loads all models) {t_interp:.2f} s; "
           f"Generate click -> 16 candidates shown {t_gen:.2f} s; total {t_interp + t_gen:.2f} s")
    assert page.locator("[data-testid='stException']").count() == 0
    shoot(page, "03_generate_results")

    boxes = page.locator("[data-testid='stCheckbox']").filter(has_text="shortlist")
    assert boxes.count() >= 2, "fewer than two candidates to shortlist"
    for i in range(2):
        boxes.nth(i).locator("label").click()
        wait_idle(page)
    expect(page.locator("[data-testid='stSidebar']").get_by_text("Shortlist: 2 molecules")).to_be_visible()

    t1 = time.perf_counter()
    page.get_by_role("button", name="Generate", exact=True).click()  # same brief, same settings
    wait_idle(page)
    record(f"repeated request (session cache): {time.perf_counter() - t1:.2f} s incl. re-render")

    go_to(page, "Compare")
    frames = _viewer_frames(page, expected=2)
    for n, frame in enumerate(frames[:2], 1):
        _assert_canvas_drawn(page, frame, f"compare_canvas_{n}")
    shoot(page, "04_compare")

    go_to(page, "Shortlist")
    shoot(page, "05_shortlist")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").click()
    path = tmp_path / "shortlist.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == 2
    for row in rows:
        assert Chem.MolFromSmiles(row["smiles"]) is not None, row["smiles"]
        assert row["prompt"] == PROMPT
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.blocked == [], f"requests tried to leave the machine: {page.blocked}"


def test_analyze_shows_report_and_3d_view(app_server, guarded_page: Page):
    base, _ = app_server
    page = guarded_page
    page.goto(base)
    wait_idle(page)
    go_to(page, "Analyze a molecule")
    box = page.get_by_label("SMILES")
    box.fill("CC(C)=CCCC(C)(O)C=C")
    box.press("Enter")
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    frame = _viewer_frames(page, expected=1)[0]
    _assert_canvas_drawn(page, frame, "analyze_canvas")
    shoot(page, "analyze_linalool")
    assert page.blocked == [], f"requests tried to leave the machine: {page.blocked}"


def _viewer_frames(page: Page, expected: int, timeout_s: float = 30):
    """Returns the iframes holding a 3D viewer once `expected` of them have loaded."""
    deadline = time.time() + timeout_s
    while True:
        frames = [f for f in page.frames if f != page.main_frame and f.locator("[data-odordiff='viewer-3d']").count()]
        if len(frames) >= expected or time.time() > deadline:
            assert len(frames) >= expected, f"{len(frames)} 3D viewers, expected {expected}"
            return frames
        page.wait_for_timeout(250)


def _assert_canvas_drawn(page: Page, frame, name: str) -> None:
    canvas = frame.locator("[data-odordiff='viewer-3d'] canvas").first
    canvas.wait_for(state="attached", timeout=30_000)
    assert frame.evaluate("() => window.odordiffFallback || null") is None  # SwiftShader gives WebGL here
    page.wait_for_timeout(500)  # first frame drawn
    path = SCREENSHOTS / f"{name}.png"
    canvas.screenshot(path=str(path))
    assert canvas_is_drawn(path), f"the 3D canvas is blank ({path})"


def test_without_webgl_the_3d_panel_falls_back_to_2d_with_a_note(app_server, browser_without_webgl):
    base, _ = app_server
    page = browser_without_webgl.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base)
    wait_idle(page)
    go_to(page, "Analyze a molecule")
    page.get_by_role("button", name="vanillin").click()
    wait_idle(page)
    deadline = time.time() + 30
    frame = None
    while frame is None and time.time() < deadline:
        frame = next((f for f in page.frames if f != page.main_frame
                      and f.evaluate("() => window.odordiffFallback || null")), None)
        page.wait_for_timeout(250)
    assert frame is not None, "no 3D panel fell back to 2D"
    assert "no WebGL" in frame.evaluate("() => window.odordiffFallback")
    expect(frame.locator("[data-odordiff='fallback'] svg")).to_be_visible()
    expect(frame.get_by_text("Showing the 2D structure instead")).to_be_visible()
    shoot(page, "analyze_no_webgl_fallback")
