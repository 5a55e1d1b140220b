#!/usr/bin/env python
"""`make bench`: measures OdorDiff's speed on this machine, prints a table and writes BENCHMARKS.md.

Each figure comes with the command that reproduces it (`python scripts/bench.py --only SECTION`) and
the target it is checked against. A section whose weights or services are missing prints
"not available: <why>" instead of a figure, so it never shows a made-up number. The sections live in
`scripts/benchmarks/` (models, cache, app), one module per kind of figure.

    .venv/bin/python scripts/bench.py                 # every section, writes BENCHMARKS.md
    .venv/bin/python scripts/bench.py --only cache    # one section, prints only (add --out to write)
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from odordiff_core.config import Settings  # noqa: E402
from scripts.benchmarks.api import bench_api  # noqa: E402
from scripts.benchmarks.app import bench_app  # noqa: E402
from scripts.benchmarks.cache import bench_cache  # noqa: E402
from scripts.benchmarks.common import NotAvailable, Section, machine_info, markdown, print_section  # noqa: E402
from scripts.benchmarks.memory import bench_memory  # noqa: E402
from scripts.benchmarks.models import bench_generator, bench_pipeline, bench_predictor, bench_text  # noqa: E402

SECTIONS = ("predictor", "text", "generator", "pipeline", "cache", "app", "memory", "api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable); prints only unless --out")
    parser.add_argument("--out", type=Path, help="Markdown file to write (default BENCHMARKS.md for a full run)")
    parser.add_argument("--redis-url", help="benchmark this Redis instead of starting a redis-server")
    parser.add_argument("--app", type=Path, default=REPO / "app.py", help="Streamlit entry point for the app section")
    args = parser.parse_args(argv)
    out = args.out or (None if args.only else REPO / "BENCHMARKS.md")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a script, not the core: it may set its own environment
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    machine = machine_info()
    print("OdorDiff benchmarks")
    for k, v in machine:
        print(f"   {k:<14} {v}")
    settings = Settings.from_env()
    shared: dict[str, Any] = {}
    runners: dict[str, Callable[[Section], None]] = {
        "predictor": lambda s: bench_predictor(settings, s, shared),
        "text": lambda s: bench_text(settings, s, shared),
        "generator": lambda s: bench_generator(settings, s, shared),
        "pipeline": lambda s: bench_pipeline(settings, s, shared),
        "cache": lambda s: bench_cache(settings, s, shared, args.redis_url),
        "app": lambda s: bench_app(settings, s, shared, args.app.resolve()),
        "memory": lambda s: bench_memory(settings, s, shared),
        "api": lambda s: bench_api(settings, s, shared),
    }
    sections = []
    for name in SECTIONS:
        if args.only and name not in args.only:
            continue
        section = Section(name)
        try:
            runners[name](section)
        except NotAvailable as e:
            section.not_available = str(e)
        sections.append(section)
        print_section(section)
    if out is not None:
        out.write_text(markdown(machine, sections))
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
