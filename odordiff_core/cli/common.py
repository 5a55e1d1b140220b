"""Helpers every `odordiff` command shares: bounded input files, output paths checked before work,
spreadsheet-safe CSV rows and batch progress on stderr. Each failure is an InvalidInput saying what to do,
so `main` prints `error: ...` and exits 2 instead of a traceback.
"""
from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from ..errors import InvalidInput

MAX_INPUT_LINES = 100_000  # most non-blank lines one --file / --prompts-file may hold; split larger files
MAX_LINE_CHARS = 100_000  # longest line read; a longer one is refused (no SMILES or brief is this long)
BATCH = 256  # molecules predicted, then printed, together (output streams batch by batch)
PROGRESS_EVERY = 20  # batches between progress lines when stderr is not a terminal


def read_lines(path: str, what: str) -> list[tuple[int, str]]:
    """Returns (line number, text) of the non-blank lines of a UTF-8 text file, at most MAX_INPUT_LINES.

    Raises InvalidInput for a missing file, a folder, an unreadable or non-UTF-8 file, too many lines or a line
    longer than MAX_LINE_CHARS.
    """
    p = Path(path)
    if p.is_dir():
        raise InvalidInput(f"{path} is a folder; give a text file with {what}.")
    out: list[tuple[int, str]] = []
    try:
        with open(p, encoding="utf-8") as fh:
            for i, line in enumerate(iter(lambda: fh.readline(MAX_LINE_CHARS + 1), ""), 1):
                if len(line.rstrip("\r\n")) > MAX_LINE_CHARS:  # also ends /dev/zero-like input instead of hanging
                    raise InvalidInput(f"{path} line {i} is longer than {MAX_LINE_CHARS:,} characters; give one "
                                       f"item per line.")
                if not line.strip():
                    continue
                if len(out) == MAX_INPUT_LINES:
                    raise InvalidInput(f"{path} has more than {MAX_INPUT_LINES:,} lines; split it into files of at "
                                       f"most {MAX_INPUT_LINES:,} lines (e.g. `split -l {MAX_INPUT_LINES} {path}`) "
                                       f"and run each.")
                out.append((i, line.rstrip("\r\n")))
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist; give a text file with {what}.") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at offset "
                           f"{exc.start}); save it as UTF-8, e.g. `iconv -f latin1 -t utf-8`.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}. Give a readable text file with {what}.") from None
    return out


def check_text(text: str, where: str) -> str:
    """Returns text; raises InvalidInput when it holds a lone surrogate (not encodable, e.g. a JSON "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{where} holds an invalid character (a lone UTF-16 surrogate such as \\ud800); "
                           f"remove it or write the character itself.") from None
    return text


def check_writable(path: str) -> None:
    """Raises InvalidInput, before any work starts, when `path` cannot be written (missing folder, a folder, no access)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InvalidInput(f"--out {path} is a folder; give a file name, e.g. {p / 'candidates.csv'}.")
    if not parent.is_dir():
        raise InvalidInput(f"--out {path}: folder {parent} does not exist; create it (mkdir -p {parent}) or pick "
                           f"another path.")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InvalidInput(f"--out {path} is not writable; pick a path you may write to.")


def open_output(path: str | None) -> TextIO:
    """Returns the file to write (UTF-8) or sys.stdout; path was checked with check_writable."""
    if path is None:
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot write --out {path}: {exc.strerror or exc}; pick another path.") from None


_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?")  # a formatted number: a spreadsheet reads it as a value


def safe_cells(row: Iterable[Any]) -> list[Any]:
    """Returns a CSV row with every text cell spreadsheet-safe (export.escape_cell); numbers, and text that is
    only a formatted number such as "-1.23", stay numbers."""
    from ..export import escape_cell

    return [escape_cell(v) if isinstance(v, str) and not _NUMBER.fullmatch(v) else v for v in row]


class Progress:
    """Prints `done/total` on stderr: every batch when stderr is a terminal, else every PROGRESS_EVERY batches."""

    def __init__(self, total: int, what: str) -> None:
        self.total, self.what, self.batches, self.t0 = total, what, 0, time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, done: int) -> None:
        self.batches += 1
        if self.total <= BATCH or not (self.tty or self.batches % PROGRESS_EVERY == 0 or done == self.total):
            return
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        end = "\r" if self.tty and done < self.total else "\n"
        print(f"{done:,}/{self.total:,} {self.what} ({rate:.0f}/s)", end=end, file=sys.stderr, flush=True)
