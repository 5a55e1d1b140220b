"""What every bench section shares: the row and section records, load timing, the machine table, output."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from odordiff_core.errors import OdorDiffError

REPO = Path(__file__).resolve().parents[2]
N_PROMPTS = 20  # warm-generation and text-latency sample size
N_REPEATS = 200  # cached-repeat sample size
GEN_N = 16  # candidates per generation, as in the app
APP_START_TIMEOUT_S = 120  # give up on `streamlit run` after this long

# Perfumer prompts used for text latency and warm generation (fixed, so runs are comparable).
PROMPTS = (
    "a clean citrus top note",
    "a warm amber base with vanilla",
    "fresh summer morning by the sea with a hint of lemon",
    "green cut grass and crushed leaves",
    "creamy sandalwood, soft and milky",
    "a smoky leather accord",
    "juicy pear and apple, not too sweet",
    "white flowers: jasmine and tuberose",
    "spicy cinnamon and clove for winter",
    "earthy vetiver with a dry woody finish",
    "powdery iris and violet",
    "a marine ozonic note without fish",
    "sweet caramel and roasted coffee",
    "mint and eucalyptus, cooling",
    "ripe peach skin with a lactonic heart",
    "pine forest after rain",
    "honeyed beeswax and hay",
    "bitter orange peel and neroli",
    "musky, clean laundry",
    "tropical coconut and pineapple",
)


@dataclass(frozen=True)
class Row:
    figure: str
    value: float | None  # None: an informational row (text in `shown`)
    unit: str
    target: tuple[str, float] | None = None  # ("<=", 2.0) or (">=", 1000)
    how: str = ""  # what exactly was timed
    shown: str = ""  # value as displayed, when not a plain number

    def display(self) -> str:
        if self.shown:
            return self.shown
        v = self.value
        assert v is not None
        text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
        return f"{text} {self.unit}".strip()

    def verdict(self) -> str:
        if self.target is None or self.value is None:
            return ""
        op, limit = self.target
        ok = self.value <= limit if op == "<=" else self.value >= limit
        return "meets" if ok else "MISSES"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        op, limit = self.target
        return f"{'≤' if op == '<=' else '≥'} {limit:g} {self.unit}"


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)
    not_available: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        return f"`.venv/bin/python scripts/bench.py --only {self.name}`"


class NotAvailable(Exception):
    """The section cannot run here; the message says why (weights missing, no redis-server, no browser)."""


def loaded(what: str, load: Callable[[], Any]) -> tuple[Any, float]:
    """Returns (object, seconds to load it); a missing model (OdorDiffError) becomes NotAvailable."""
    started = time.perf_counter()
    try:
        obj = load()
    except OdorDiffError as e:
        raise NotAvailable(f"{what}: {e}") from e
    return obj, time.perf_counter() - started


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def machine_info() -> list[tuple[str, str]]:
    """Returns (name, value) pairs describing the machine and the versions in use."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024**2:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    server = shutil.which("redis-server")
    server_version = subprocess.run([server, "--version"], capture_output=True, text=True).stdout.split()[2] if server else "not installed"
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    info = [
        ("date", dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("commit", commit.stdout.strip() if commit.returncode == 0 else "no commit yet (working tree)"),
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("memory", mem),
        ("load average at start", " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min; > cores means shared CPUs skew the figures)"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("torch", version("torch")),
        ("rdkit", version("rdkit")),
        ("numpy", version("numpy")),
        ("streamlit", version("streamlit")),
        ("redis-py", version("redis")),
        ("redis-server", server_version),
    ]
    if importlib.util.find_spec("torch") is not None:
        import torch

        info.append(("torch threads", str(torch.get_num_threads())))
    return info


def markdown(machine: list[tuple[str, str]], sections: list[Section]) -> str:
    lines = [
        "# OdorDiff benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python scripts/bench.py`). Every figure below was measured by that run on",
        "the machine described here; rerun one section with the command in its row. A section that could not run says why.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine],
        "",
        "## Figures",
        "",
        "| Figure | Value | Target | | Command | What was timed |",
        "|---|---|---|---|---|---|",
    ]
    for s in sections:
        if s.not_available:
            lines.append(f"| {s.name} | not available: {s.not_available} | | | {s.command} | |")
        for r in s.rows:
            lines.append(f"| {r.figure} | {r.display()} | {r.target_text()} | {r.verdict()} | {s.command} | {r.how} |")
    notes = [f"- {s.name}: {n}" for s in sections for n in s.notes]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def print_section(s: Section) -> None:
    print(f"\n== {s.name}  ({s.command.strip('`')})", flush=True)
    if s.not_available:
        print(f"   not available: {s.not_available}")
    for r in s.rows:
        target = f"  target {r.target_text()}: {r.verdict()}" if r.target else ""
        print(f"   {r.figure:<64} {r.display():>14}{target}")
    for n in s.notes:
        print(f"   note: {n}")
    sys.stdout.flush()


