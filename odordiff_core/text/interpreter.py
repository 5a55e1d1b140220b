"""Prompt interpreter: a parsed prompt -> weighted targets over the 138 GS-LF odor labels.

After `grammar.parse_prompt` has cut the prompt into clauses:
3. Each word is looked up in the lexicon shipped with the weights: label names, their spellings and
   synonyms ("leather" -> leathery) are direct hits; words with no GS-LF label ("marine", "sea", "salty",
   "tonka") map to the labels that co-occur with the GoodScents tag in the data, and are reported in
   `approximations` (word -> labels used).
4. A small MLP head (trained on GoodScents descriptions and Leffingwell raw label phrases, see
   `odordiff_core/train/text.py`) reads `features.head_features` of the clause embedding. Labels it adds
   beyond the direct hits are reported in `approximations` under the clause text. Content words that
   neither the lexicon nor the head could map are listed in `unmapped`: nothing is guessed silently.
5. Perfumers' words (`vocabulary.py`): material and trade names, fragrance families, composite everyday things
   (the everyday table: "Earl Grey" -> tea, bergamot) and everyday nouns become labels with their evidence
   (`Interpretation.readings`, one line each); a word with no evidence borrows its nearest known word's labels
   (an approximation, with the cosine); an unmapped word that is spelled like a known material gets suggestions
   (`Interpretation.suggestions`).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import ModelNotFound
from .encoder import EMBED_DIM, MiniLMEncoder, load_encoder
from .features import head_features
from .grammar import Clause, ParsedPrompt, parse_prompt, word_forms
from .vocabulary import NEAR_BAND, NEAR_K, NEGATED_NAME_LABELS, NameReading, ReadingKind, Vocabulary, load_vocabulary

_NAMED = (ReadingKind.MATERIAL, ReadingKind.FAMILY, ReadingKind.THING)  # entries that name a thing (not a word read for its odor)
MAX_SUGGESTED_WORDS = 8  # unmapped words per brief that get spelling suggestions (bounds the latency)
MIN_WEIGHT = 0.05  # weights below this are dropped from Interpretation.weights (noise for the generator)
MAX_LABELS = 15  # at most this many descriptors in Interpretation.weights
# The weights folder layout, shared with `odordiff train text` (which writes it).
WEIGHTS_SUBDIR = "text"  # <weights_dir>/text/
CONFIG_NAME = "config.json"  # labels, lexicon, thresholds, version
TENSORS_NAME = "head.safetensors"  # w1, b1, w2, b2, label_emb, term_emb
FORMAT_VERSION = 1  # bump when the weights layout changes; the loader refuses other versions


@dataclass(frozen=True)
class Interpretation:
    """What a prompt asks for, over the 138 GS-LF labels (all fields are facts of this reading)."""

    prompt: str  # the prompt as given (before truncation)
    weights: dict[str, float]  # label -> target weight 0..1, sorted by weight, highest first
    excluded: tuple[str, ...]  # labels the prompt negates ("not sweet"); never in weights
    note: str | None  # "top" | "heart" | "base" | None (no note word in the prompt)
    unmapped: tuple[str, ...]  # words that could not be mapped to any label
    approximations: dict[str, tuple[str, ...]]  # word or phrase with no exact label -> labels used for it
    truncated_chars: int  # characters cut off the end of the prompt (0 = whole prompt read)
    model_version: str
    message: str | None = None  # set when nothing could be mapped
    readings: tuple[NameReading, ...] = ()  # names and words read through their evidence, in brief order
    suggestions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # unmapped word -> known names spelled like it

    @property
    def seed_smiles(self) -> tuple[str, ...]:
        """Returns the structures of the materials the brief names (not negated), in brief order: where
        exploration edits start ("like Hedione but greener" starts from methyl dihydrojasmonate)."""
        return tuple(dict.fromkeys(r.smiles for r in self.readings
                                   if r.kind == ReadingKind.MATERIAL and r.smiles and not r.negated))

    def evidence_lines(self) -> tuple[str, ...]:
        """Returns one line per reading, then one per unmapped word with suggestions (CLI and app)."""
        return (tuple(r.line() for r in self.readings)
                + tuple(f"{w}: unknown name; closest known: {', '.join(s)}" for w, s in self.suggestions.items()))

    def to_json(self) -> dict[str, Any]:
        """Returns the JSON-ready dict of the `odordiff interpret --format json` contract."""
        return {
            "prompt": self.prompt,
            "weights": dict(self.weights),
            "excluded": list(self.excluded),
            "note": self.note,
            "unmapped": list(self.unmapped),
            "approximations": {k: list(v) for k, v in self.approximations.items()},
            "truncated_chars": self.truncated_chars,
            "used_chars": len(self.prompt) - self.truncated_chars,
            "message": self.message,
            "model_version": self.model_version,
            "readings": [r.to_json() for r in self.readings],
            "suggestions": {k: list(v) for k, v in self.suggestions.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Interpretation:
        """Returns the Interpretation that `to_json` wrote (`used_chars` is derived, so it is not read back).

        Raises KeyError when a contract key is missing; `message`, `readings` and `suggestions` may be absent
        (older JSON, read as none).
        """
        return cls(prompt=d["prompt"], weights=dict(d["weights"]), excluded=tuple(d["excluded"]), note=d["note"],
                   unmapped=tuple(d["unmapped"]), approximations={k: tuple(v) for k, v in d["approximations"].items()},
                   truncated_chars=d["truncated_chars"], model_version=d["model_version"], message=d.get("message"),
                   readings=tuple(NameReading.from_json(r) for r in d.get("readings", ())),
                   suggestions={k: tuple(v) for k, v in d.get("suggestions", {}).items()})


@dataclass(frozen=True)
class LexiconEntry:
    labels: tuple[str, ...]
    weights: tuple[float, ...]  # 1.0 for a direct hit; co-occurrence share for approximations
    kind: str  # "direct" (label, spelling, synonym) | "approx" (no GS-LF label: nearest labels from data)
    via: str | None = None  # the GoodScents tag whose co-occurring labels are used (approximations)
    reading: NameReading | None = None  # the evidence shown when this entry is used (vocabulary, tag approximations)


# What `_combine` returns per prompt: (ranking scores, positive weights, excluded label indices,
# approximations, unmapped words, readings).
_Combined = tuple[np.ndarray, np.ndarray, list[int], dict[str, tuple[str, ...]], list[str], list[NameReading]]


@dataclass(frozen=True, eq=False)
class Interpreter:
    """Prompt reader: encoder + lexicon + MLP head. Immutable after load, so one instance serves all threads."""

    labels: tuple[str, ...]  # the 138 GS-LF labels, in the data file's column order
    lexicon: dict[str, LexiconEntry]  # lowercase term (1-4 words) -> labels
    encoder: MiniLMEncoder
    label_emb: np.ndarray  # (138, 384) embeddings of the label names
    w1: np.ndarray  # (522, H) head, input = features.head_features: [clause embedding (384), cosine to each label (138)]
    b1: np.ndarray  # (H,)
    w2: np.ndarray  # (H, 138)
    b2: np.ndarray  # (138,)
    model_threshold: float  # head probability above which a label counts as read by the model
    with_direct_factor: float  # head labels are scaled by this in a clause that also has direct hits
    terms: tuple[str, ...]  # lexicon terms in the row order of term_emb
    term_emb: np.ndarray  # (T, 384) embeddings of the lexicon terms
    word_sim_threshold: float  # an unknown word this close (cosine) to a lexicon term borrows its labels
    word_sim_factor: float  # ... at this share of the term's weights
    version: str
    max_term_words: int = 4
    vocabulary: Vocabulary | None = None  # perfumers' words (None: the lexicon alone)
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index.update({lab: i for i, lab in enumerate(self.labels)})

    def embed(self, texts: list[str]) -> np.ndarray:
        """Returns (N, 384) float32 unit-norm sentence embeddings (all-MiniLM-L6-v2)."""
        return self.encoder.encode(list(texts))

    def head_proba(self, emb: np.ndarray) -> np.ndarray:
        """Returns (N, 138) head probabilities for (N, 384) embeddings."""
        x = head_features(emb, self.label_emb)  # (N, 522)
        h = np.maximum(x @ self.w1 + self.b1, 0.0)  # (N, H)
        return 1.0 / (1.0 + np.exp(-(h @ self.w2 + self.b2)))  # (N, 138)

    def _entry(self, term: str) -> LexiconEntry | None:
        """Returns the entry of a term: a label word first, then a family, material or everyday word, then a
        GoodScents tag approximation; None when nothing knows it."""
        entry = self.lexicon.get(term)
        if (entry is not None and entry.kind == "direct") or self.vocabulary is None:
            return entry
        v = self.vocabulary.get(term)
        return entry if v is None else LexiconEntry(v.labels, v.weights, str(v.reading.kind), None, v.reading)

    def _lookup(self, words: tuple[str, ...]) -> list[tuple[str, LexiconEntry | None]]:
        """Greedy longest-match of lexicon and vocabulary terms over the words; unknown words come back with None."""
        out: list[tuple[str, LexiconEntry | None]] = []
        i = 0
        while i < len(words):
            for n in range(min(self.max_term_words, len(words) - i), 0, -1):
                term = " ".join(words[i:i + n])
                entry = self._entry(term)
                if entry is None:  # base forms of the last word: "pralines", "granny smith apples"
                    head, last = words[i:i + n - 1], words[i + n - 1]
                    entry = next((e for f in word_forms(last)[1:] if (e := self._entry(" ".join((*head, f)))) is not None),
                                 None)
                if entry is not None or n == 1:
                    out.append((term, entry))
                    i += n
                    break
        return out

    def interpret(self, prompt: str) -> Interpretation:
        """Returns the weighted odor targets of one prompt. Raises InvalidInput for an empty prompt."""
        return self.interpret_many([prompt])[0]

    def interpret_many(self, prompts: list[str]) -> list[Interpretation]:
        """Returns one Interpretation per prompt, encoding all clauses in one batch."""
        results = []
        for prompt, parsed, scores in zip(prompts, *self._score(prompts)):
            results.append(self._finish(prompt, parsed, scores))
        return results

    def score(self, prompts: list[str]) -> np.ndarray:
        """Returns (N, 138) ranking scores (excluded labels at -1): what `weights` is cut from; for evaluation."""
        return np.stack([s[0] for s in self._score(prompts)[1]])

    def _score(self, prompts: list[str]) -> tuple[list[ParsedPrompt], list[_Combined]]:
        parsed = [parse_prompt(p) for p in prompts]
        found = {c: self._lookup(c.words) for pp in parsed for c in pp.clauses}  # each distinct clause once
        # The head reads each distinct clause text once; a clause made only of material or family names is not
        # read by it (the encoder is most of the latency, and a brief can list dozens of names).
        texts = list(dict.fromkeys(c.text for c, terms in found.items()
                                   if not all(e is not None and e.kind in _NAMED for _, e in terms)))
        unknown = sorted({t for terms in found.values() for t, e in terms if e is None})
        emb = self.embed(texts + unknown) if texts else np.zeros((0, EMBED_DIM), dtype=np.float32)  # one batch
        probs = self.head_proba(emb[: len(texts)]) if texts else np.zeros((0, len(self.labels)))  # (C, 138)
        row = {t: i for i, t in enumerate(texts)}
        unread = np.zeros(len(self.labels))  # (138,) head probabilities of a clause the head did not read
        near = self._nearest_terms(unknown, emb[len(texts):])
        out = []
        for pp in parsed:
            clause_probs = np.array([probs[row[c.text]] if c.text in row else unread for c in pp.clauses])
            out.append(self._combine(pp, clause_probs.reshape(len(pp.clauses), len(self.labels)), near, found))
        return parsed, out

    def _nearest_terms(self, words: list[str], emb: np.ndarray) -> dict[str, LexiconEntry]:
        """Returns {unknown word: borrowed entry} for words whose embedding is close to a lexicon term."""
        if not words:
            return {}
        probs = self.head_proba(emb)  # (W, 138): the head reading the word alone ("soil" -> earthy)
        # Candidates: the lexicon's terms, then the vocabulary's everyday words (with a vocabulary, one threshold).
        cand_terms, cand_emb, threshold = list(self.terms), self.term_emb, self.word_sim_threshold
        if self.vocabulary is not None:
            cand_terms += self.vocabulary.near_terms
            cand_emb = np.concatenate([self.term_emb, self.vocabulary.near_emb])  # (T + V, 384)
            threshold = self.vocabulary.near_threshold
        sims = emb @ cand_emb.T  # (W, T + V)
        out = {}
        for w, row, p in zip(words, sims, probs):
            if self._looks_like_a_name(w):
                continue  # a misspelt or unknown trade name stays unmapped, with the names it resembles
            j = int(np.argmax(row))
            read = [i for i in np.argsort(-p)[:3] if p[i] >= self.model_threshold]
            if read:
                labs = tuple(self.labels[i] for i in read)
                reading = NameReading(w, ReadingKind.MODEL, "the text head's reading of the word alone (approximation)", labs)
                out[w] = LexiconEntry(labs, tuple(float(self.word_sim_factor * p[i]) for i in read), "approx", None, reading)
            elif row[j] >= threshold:
                if (e := self._neighbours_entry(w, row, cand_terms)) is not None:
                    out[w] = e
        return out

    def _neighbours_entry(self, word: str, sims: np.ndarray, terms: list[str]) -> LexiconEntry | None:
        """Returns the labels the nearest known words agree on: up to NEAR_K neighbours within NEAR_BAND of the
        best cosine, each label summed over them (cosine x weight), the top 3 at >= half the best label's support.

        One neighbour alone is often a spelling likeness ("pralines" -> privet); several agreeing are a meaning.
        """
        used = [(terms[j], float(sims[j]), e) for j in np.argsort(-sims)[:NEAR_K]
                if sims[j] >= sims.max() - NEAR_BAND and (e := self._entry(terms[j])) is not None]
        support: dict[str, float] = {}
        for _, cos, e in used:
            for lab, w in zip(e.labels, e.weights):
                support[lab] = support.get(lab, 0.0) + cos * w
        if not support:
            return None
        best = max(support.values())
        labs = sorted((lab for lab in support if support[lab] >= 0.5 * best), key=lambda lab: -support[lab])[:3]
        cosines = f"{used[0][1]:.2f}" + (f"–{used[-1][1]:.2f}" if len(used) > 1 else "")
        reading = NameReading(word, ReadingKind.NEAREST, f"nearest: {', '.join(t for t, _, _ in used)} (approximation, "
                              f"cosine {cosines})", tuple(labs))
        return LexiconEntry(tuple(labs), tuple(self.word_sim_factor * support[lab] / best for lab in labs), "approx",
                            used[0][0], reading)

    def _looks_like_a_name(self, word: str) -> bool:
        """Returns True when the word is spelled like a known material name (difflib ratio >= 0.8)."""
        return self.vocabulary is not None and len(word) >= 4 and bool(self.vocabulary.suggest(word))

    def _combine(self, pp: ParsedPrompt, probs: np.ndarray, near: dict[str, LexiconEntry],
                 found: dict[Clause, list[tuple[str, LexiconEntry | None]]]) -> _Combined:
        n = len(self.labels)
        pos = np.zeros(n)  # (138,) positive weight
        rank_tiebreak = np.zeros(n)  # (138,) head probabilities, used only to order otherwise equal labels
        excluded: set[int] = set()
        approximations: dict[str, tuple[str, ...]] = {}
        unmapped: list[str] = []
        readings: dict[tuple[str, str, bool], NameReading] = {}  # (term, kind, negated) -> reading, brief order
        for clause, p in zip(pp.clauses, probs):
            direct = np.zeros(n)  # (138,)
            unknown = []
            named = False  # the clause names a label, tag, material or family (not only words read by likeness)
            for term, entry in found[clause]:
                entry = entry or near.get(term)
                if entry is None:
                    unknown.append(term)
                    continue
                labels, weights = entry.labels, entry.weights
                if clause.negated and entry.kind in _NAMED:
                    # "not like Hedione": exclude what defines it, not every label it carries
                    labels, weights = labels[:NEGATED_NAME_LABELS], (1.0,) * min(len(labels), NEGATED_NAME_LABELS)
                for lab, w in zip(labels, weights):
                    direct[self._index[lab]] = max(direct[self._index[lab]], w)
                named = named or not (entry.kind == ReadingKind.EVERYDAY
                                      or (entry.reading is not None and entry.reading.kind == ReadingKind.NEAREST))
                if entry.kind in ("approx", ReadingKind.EVERYDAY, ReadingKind.FAMILY, ReadingKind.THING):  # no label of its own
                    approximations[term] = entry.labels
                if entry.reading is not None:  # a material keeps its listed spelling ("Hedione"), the rest the brief's
                    named = entry.kind == ReadingKind.MATERIAL
                    r = entry.reading.with_use(entry.reading.term if named else term, clause.negated, labels)
                    readings.setdefault((r.term, str(r.kind), r.negated), r)
            read = p >= self.model_threshold  # (138,) bool
            if clause.negated:
                hits = np.flatnonzero(direct >= 0.5) if direct.any() else np.flatnonzero(read)[:1]
                excluded.update(int(i) for i in hits)
                unmapped.extend(unknown if not len(hits) else [])
                continue
            factor = self.with_direct_factor if named else 1.0  # the head counts in full beside mere likenesses
            model_w = np.where(read, p * factor, 0.0)  # (138,)
            extra = [self.labels[i] for i in np.argsort(-model_w) if model_w[i] > 0 and direct[i] == 0]
            if extra:
                approximations[clause.text] = tuple(extra)
            elif unknown:
                unmapped.extend(unknown)
            pos = np.maximum(pos, clause.scale * np.maximum(direct, model_w))
            rank_tiebreak = np.maximum(rank_tiebreak, clause.scale * p)
        scores = pos + 1e-3 * rank_tiebreak  # (138,)
        if excluded:
            scores[list(excluded)] = -1.0
        return scores, pos, sorted(excluded), approximations, list(dict.fromkeys(unmapped)), list(readings.values())

    def _finish(self, prompt: str, parsed: ParsedPrompt, combined: _Combined) -> Interpretation:
        _, pos, excluded, approximations, unmapped, readings = combined
        pos = pos.copy()
        pos[excluded] = 0.0
        order = [i for i in np.argsort(-pos, kind="stable") if pos[i] >= MIN_WEIGHT][:MAX_LABELS]
        weights = {self.labels[i]: round(float(pos[i]), 3) for i in order}
        if not parsed.clauses:
            unmapped = [t for t in prompt[: len(prompt) - parsed.truncated_chars].split() if t]
        message = None
        if not weights and not excluded:
            message = ("Could not map any word of the prompt to an odor descriptor. Use English odor words, "
                       "e.g. \"fresh citrus, woody base\".")
        suggestions: dict[str, tuple[str, ...]] = {}
        if self.vocabulary is not None:  # capped: each lookup is a difflib pass over one letter's names
            for w in [w for w in unmapped if len(w) >= 4][:MAX_SUGGESTED_WORDS]:
                if close := self.vocabulary.suggest(w):
                    suggestions[w] = close
        return Interpretation(
            prompt=prompt, weights=weights, excluded=tuple(self.labels[i] for i in excluded), note=parsed.note,
            unmapped=tuple(unmapped), approximations=approximations, truncated_chars=parsed.truncated_chars,
            model_version=self.version, message=message, readings=tuple(readings), suggestions=suggestions,
        )


def weights_dir(settings: Settings) -> Path:
    """Returns the interpreter's weights folder, `<settings.weights_dir>/text`."""
    return Path(settings.weights_dir) / WEIGHTS_SUBDIR


def load_interpreter(settings: Settings) -> Interpreter:
    """Returns the interpreter from `<weights_dir>/text/`. Raises ModelNotFound when weights are missing or stale.

    Load once per process and share (the object is never mutated).
    """
    from safetensors.numpy import load_file

    wdir = weights_dir(settings)
    cfg_path, t_path = wdir / CONFIG_NAME, wdir / TENSORS_NAME
    if not cfg_path.is_file() or not t_path.is_file():
        raise ModelNotFound(f"No text interpreter weights in {wdir}. Run `odordiff train text`.")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("format_version") != FORMAT_VERSION:
        raise ModelNotFound(f"Text weights in {wdir} have format {cfg.get('format_version')}, this code reads "
                            f"{FORMAT_VERSION}. Run `odordiff train text`.")
    t = load_file(str(t_path))
    labels = tuple(cfg["labels"])
    if (t["w2"].shape[1] != len(labels) or t["label_emb"].shape != (len(labels), EMBED_DIM)
            or t["term_emb"].shape != (len(cfg["terms"]), EMBED_DIM)):
        raise ModelNotFound(f"Text weights in {wdir} do not match their label list. Run `odordiff train text`.")
    digest = hashlib.sha256(t_path.read_bytes()).hexdigest()[:8]
    tag_counts = {t: a["molecules"] for t, a in cfg.get("approximations_from_data", {}).items()}

    def tag_reading(term: str, e: dict[str, Any]) -> NameReading | None:
        """The evidence of a GoodScents tag approximation ("tonka" -> its molecules' labels)."""
        if e["kind"] != "approx" or e.get("via") not in tag_counts:
            return None
        return NameReading(term, ReadingKind.EVERYDAY, f"GoodScents tag '{e['via']}' ({tag_counts[e['via']]} molecules)",
                           tuple(e["labels"]))

    lexicon = {term: LexiconEntry(tuple(e["labels"]), tuple(e["weights"]), e["kind"], e.get("via"), tag_reading(term, e))
               for term, e in cfg["lexicon"].items()}
    unknown = {lab for e in lexicon.values() for lab in e.labels} - set(labels)
    if unknown:
        raise ModelNotFound(f"Text lexicon uses labels {sorted(unknown)} not in the label list. Run `odordiff train text`.")
    vocabulary = load_vocabulary(wdir, labels, {t: (e.labels, e.weights, e.kind == "direct") for t, e in lexicon.items()})
    return Interpreter(
        labels=labels, lexicon=lexicon, encoder=load_encoder(), label_emb=t["label_emb"].astype(np.float32),
        w1=t["w1"], b1=t["b1"], w2=t["w2"], b2=t["b2"], model_threshold=float(cfg["model_threshold"]),
        with_direct_factor=float(cfg["with_direct_factor"]), terms=tuple(cfg["terms"]),
        term_emb=t["term_emb"].astype(np.float32), word_sim_threshold=float(cfg["word_sim_threshold"]),
        word_sim_factor=float(cfg["word_sim_factor"]), version=f"{cfg['version']}+{digest}",
        max_term_words=max(len(k.split()) for k in [*lexicon, *(vocabulary.entries if vocabulary else ())]),
        vocabulary=vocabulary,
    )


def format_table(it: Interpretation) -> str:
    """Returns a plain-text table of an interpretation (the CLI's default output)."""
    lines = [f"prompt: {it.prompt[:120]}{'…' if len(it.prompt) > 120 else ''}"]
    if it.truncated_chars:
        used = len(it.prompt) - it.truncated_chars
        lines.append(f"notice: prompt truncated, used the first {used:,} of {len(it.prompt):,} characters")
    lines.append(f"{'descriptor':<16} weight")
    for lab, w in it.weights.items():
        lines.append(f"{lab:<16} {w:.2f}  {'#' * max(1, math.ceil(w * 20))}")
    if not it.weights:
        lines.append("(none)")
    lines.append(f"excluded: {', '.join(it.excluded) or '-'}")
    lines.append(f"note: {it.note or '-'}")
    for k, v in it.approximations.items():
        lines.append(f"approximated: {k!r} -> {', '.join(v)}")
    for line in it.evidence_lines():
        lines.append(f"read: {line}")
    lines.append(f"unmapped: {', '.join(it.unmapped) or '-'}")
    if it.message:
        lines.append(f"message: {it.message}")
    lines.append(f"model: {it.model_version}")
    return "\n".join(lines)
