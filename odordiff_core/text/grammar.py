"""Prompt grammar: a perfumer's prompt -> clauses (content words, negation, intensity) and a note preference.

How a prompt is read (`parse_prompt`):
1. Cut to `MAX_PROMPT_CHARS`; note-position words ("top note", "heart", "base", "dry-down") are taken out
   and returned as `note` (a volatility preference for ranking, not an odor).
2. Split into clauses at punctuation and connectors ("and", "but", "with", ...); a negator ("not", "no",
   "without", ...) starts a negated clause, whose descriptors are excluded ("not too X" only lowers X).
   Intensity words scale the clause ("a hint of" 0.3, "slightly" 0.5, plain 0.8, "intense" 1.0).
Pure string code: no model, no numpy.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from ..errors import InvalidInput

MAX_PROMPT_CHARS = 1000  # longer prompts are cut here (a brief is rarely > 300 chars); keeps latency bounded

# Clause scale by intensity word (the lowest one in a clause wins; "strong" only applies with no weak word).
PLAIN_SCALE = 0.8
_WEAK = {  # phrase -> scale
    "a hint of": 0.3, "hint of": 0.3, "hints of": 0.3, "hint": 0.3, "hints": 0.3, "a touch of": 0.3,
    "touch of": 0.3, "a trace of": 0.3, "trace of": 0.3, "traces of": 0.3, "a whisper of": 0.3,
    "whisper of": 0.3, "a suggestion of": 0.3, "a dash of": 0.3, "dash of": 0.3, "a tinge of": 0.3,
    "tinge of": 0.3, "faint": 0.3, "faintly": 0.3, "barely": 0.3, "subtle": 0.3, "subtly": 0.3,
    "nuance": 0.3, "nuances": 0.3, "undertone": 0.3, "undertones": 0.3, "not too": 0.3, "not overly": 0.3,
    "not very": 0.3, "less": 0.3,
    "slightly": 0.5, "slight": 0.5, "a little": 0.5, "a bit of": 0.5, "a bit": 0.5, "somewhat": 0.5,
    "lightly": 0.5, "mildly": 0.5, "mild": 0.5, "delicate": 0.5, "delicately": 0.5, "gentle": 0.5,
    "gently": 0.5, "soft": 0.5, "softly": 0.5, "light": 0.5,
}
_STRONG = {
    "intense", "intensely", "very", "strong", "strongly", "rich", "heavy", "heavily", "bold", "powerful",
    "lots of", "loads of", "plenty of", "overdosed", "overdose", "dominant", "extremely", "really", "deep",
    "deeply", "full", "loud", "bursting", "bursting with",
}
STRONG_SCALE = 1.0
_NEGATORS = ("without", "not", "no", "never", "nor", "free of", "avoid", "avoiding", "none", "nothing", "minus", "zero")
_CONNECTORS = {"and", "but", "with", "plus", "or", "then", "yet", "over", "while", "into", "&", "+", "alongside", "against"}
_CARRY_NEGATION = {"or", "nor"}  # "no smoke or leather": the negation carries over these
_NOTE_PATTERNS = (  # checked on the whole prompt; the first match (by position) gives ParsedPrompt.note
    ("top", r"\btop[- ]?notes?\b|\bhead[- ]?notes?\b|\btop\b|\bopening\b|\bfirst impression\b"),
    ("heart", r"\bheart[- ]?notes?\b|\bmiddle[- ]?notes?\b|\bmid[- ]?notes?\b|\bheart\b"),
    ("base", r"\bbase[- ]?notes?\b|\bbottom[- ]?notes?\b|\bdry[- ]?downs?\b|\bbase\b|\blong[- ]lasting\b|\btrail\b"),
)
# Words that carry no odor of their own: never reported as unmapped.
_STOPWORDS = frozenset("""
a an the of in on at by for from to into onto up down out off over under after before during as is are was
were be been being it its this that these those there here some any my your our their his her me we you i
they he she them us like ish just very so too also only even still more most much many few little lot lots
bit such than then again ever always almost quite rather really note notes accord accords facet facets scent
scents smell smells smelling odor odors odour odours aroma aromas fragrance fragrances perfume perfumes
feel feeling impression touch hint hints trace nuance nuances undertone undertones kind sort type something
one ones all both each every around across through about between within
when where which who whom whose what why how has have had having do does did will would can could shall should
may might must if because though although whether
""".split())

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)  # letters only; "leather-bound" -> 2 words
_SPLIT_RE = re.compile(r"[,;:.!?()\[\]{}/\\|\n\r\t\"“”…–—]+")


@dataclass(frozen=True)
class Clause:
    """One clause of a prompt after modifiers are read (internal; exposed for tests and evaluation)."""

    text: str  # content words joined by spaces (what the encoder sees)
    words: tuple[str, ...]  # content words (stopwords and modifiers removed)
    negated: bool
    scale: float  # intensity, 0..1


@dataclass(frozen=True)
class ParsedPrompt:
    """A prompt read into clauses, before any label lookup."""

    clauses: tuple[Clause, ...]
    note: str | None  # "top" | "heart" | "base" | None (no note word in the prompt)
    truncated_chars: int  # characters cut off the end of the prompt (0 = whole prompt read)


def _phrase_re(phrases: Iterable[str]) -> re.Pattern:
    alts = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(p) for p in alts) + r")(?![\w'])")


_WEAK_RE = _phrase_re(_WEAK)
_STRONG_RE = _phrase_re(_STRONG)


def parse_prompt(prompt: str, max_chars: int = MAX_PROMPT_CHARS) -> ParsedPrompt:
    """Returns the clauses, note preference and truncation of a prompt. Raises InvalidInput when empty."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("The prompt is empty. Describe the odor you want, e.g. \"fresh citrus with a hint of vanilla\".")
    used = prompt[:max_chars]
    truncated = len(prompt) - len(used)
    text = used.lower().replace("’", "'")

    note, note_pos = None, None
    for name, pattern in _NOTE_PATTERNS:
        for m in re.finditer(pattern, text):
            if note_pos is None or m.start() < note_pos:
                note, note_pos = name, m.start()
    for _, pattern in _NOTE_PATTERNS:
        text = re.sub(pattern, " , ", text)  # a note word also ends a clause ("citrus top, woody base")

    clauses: list[Clause] = []
    for segment in _SPLIT_RE.split(text):
        # Connectors and negators cut the segment; a negator starts a negated clause.
        words = _WORD_RE.findall(segment.replace("-", " "))
        chunks: list[tuple[list[str], bool, str | None]] = []  # (words, starts negated, connector before)
        cur: list[str] = []
        neg, conn = False, None
        i = 0
        while i < len(words):
            w = words[i]
            two = " ".join(words[i:i + 2])
            if w in _CONNECTORS:
                chunks.append((cur, neg, conn))
                cur, neg, conn = [], False, w
            elif two in ("not too", "not overly", "not very"):
                cur.append(two)  # a weakener, read below
                i += 1
            elif two == "free of" or w in _NEGATORS:
                if cur:
                    chunks.append((cur, neg, conn))
                    cur, conn = [], None
                neg = True
                i += 1 if two == "free of" else 0
            else:
                cur.append(w)
            i += 1
        chunks.append((cur, neg, conn))
        prev_neg = False
        for ws, negated, conn in chunks:
            if not ws:
                prev_neg = prev_neg and negated
                continue
            negated = negated or (prev_neg and conn in _CARRY_NEGATION)
            prev_neg = negated
            joined = " ".join(ws)
            weak = [_WEAK[m.group(0)] for m in _WEAK_RE.finditer(joined)]
            scale = min(weak) if weak else (STRONG_SCALE if _STRONG_RE.search(joined) else PLAIN_SCALE)
            content = _STRONG_RE.sub(" ", _WEAK_RE.sub(" ", joined)).split()
            content = [w for w in content if w not in _STOPWORDS]
            if content:
                clauses.append(Clause(text=" ".join(content), words=tuple(content), negated=negated, scale=scale))
    return ParsedPrompt(clauses=tuple(clauses), note=note, truncated_chars=truncated)


_SUFFIXES = (  # (suffix, replacement), tried in this order after the word itself
    ("ies", "y"), ("ves", "f"), ("es", ""), ("s", ""), ("like", ""), ("ish", ""), ("iness", "y"), ("ness", ""),
    ("ey", ""), ("y", ""), ("ed", ""), ("ic", ""),
    ("ing", "e"), ("ing", ""), ("ing", "ed"),  # "smoking" -> smoke, "roasting" -> roast, "baking" -> baked
)


def fold_accents(text: str) -> str:
    """Returns the text without accents ("piña colada" -> "pina colada"; characters with no ASCII form dropped)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def word_forms(word: str) -> list[str]:
    """Returns the word and its likely base forms, most likely first ("lemony" -> lemon, "berries" -> berry,
    "apple-like", "baking" -> bake/baked, "grandmother's" -> grandmother, "piña" -> pina)."""
    forms = [word]
    if word.endswith("'s") and len(word) >= 5:  # possessive: the grammar keeps the apostrophe inside a word
        word = word[:-2]
        forms.append(word)
    folded = fold_accents(word)
    if folded and folded != word:  # accents: "café" -> cafe (the data files mostly spell without them)
        forms.append(folded)
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)]
            forms.append(stem + repl)
            if suffix == "ing" and not repl and stem[-1] == stem[-2]:  # "running" -> run
                forms.append(stem[:-1])
    return list(dict.fromkeys(forms))
