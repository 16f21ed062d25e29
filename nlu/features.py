"""Features of the demand/category classifier: character n-grams plus regex and lookup features.

Input is normalised text (nlu/normalize.py). Character n-grams of length ``ngram_min..ngram_max`` are
counted, weighted by ``(1 + log tf) · idf`` and the vector is L2-normalised; lexical features
(``data/lexicon/features.yml`` and the taxonomy keywords) are binary, weighted by idf like the rest.
The vocabulary and idf are stored with the model as JSON/NPZ, so both environments use the same numbers.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from nlu.errors import DataError
from nlu.patterns import gate
from nlu.resources import DATA_DIR, LEXICON_DIR, read_yaml, taxonomy_keywords


@dataclass(frozen=True)
class FeatureConfig:
    ngram_min: int = 1
    ngram_max: int = 4
    min_df: int = 1
    lexicon: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Lexicon:
    """Named word lists and regexes; ``hits(text)`` names those that occur in ``text``."""

    def __init__(self, words: dict[str, list[str]], regexes: dict[str, str]) -> None:
        self._owners: dict[str, set[str]] = {}
        for name, items in words.items():
            for word in items:
                self._owners.setdefault(word.lower(), set()).add(name)
        alternation = "|".join(map(re.escape, sorted(self._owners, key=len, reverse=True)))
        self._words = re.compile(alternation) if alternation else None
        self._regexes = [(name, re.compile(rx)) for name, rx in regexes.items()]
        # Each regex behind its ``gate`` (plain strings a match must start with): most messages
        # are ruled out by that one fast search. The same hits (``skip_searches=False``: without).
        self._gated = [(name, rx, gate(rx)) for name, rx in self._regexes]
        self.words = words
        self.regexes = regexes

    @classmethod
    def load(cls, path: Path | None = None, taxonomy: Path | None = None) -> Lexicon:
        path = path or LEXICON_DIR / "features.yml"
        doc = read_yaml(path) or {}
        try:
            words = {f"lx:{k}": [str(w) for w in v] for k, v in (doc.get("lookups") or {}).items()}
            regexes = {f"rx:{k}": str(v) for k, v in (doc.get("regexes") or {}).items()}
        except (AttributeError, TypeError) as e:
            raise DataError(f"{path}: lookups/regexes must be mappings") from e
        for code, keywords in taxonomy_keywords(taxonomy or DATA_DIR / "taxonomy.yml").items():
            words[f"kw:{code}"] = keywords
        return cls(words, regexes)

    def hits(self, text: str, *, skip_searches: bool = True) -> set[str]:
        found: set[str] = set()
        if self._words is not None:
            for m in self._words.finditer(text):
                found |= self._owners[m.group()]
        if not skip_searches:
            for name, rx in self._regexes:
                if rx.search(text):
                    found.add(name)
            return found
        for name, rx, gate_rx in self._gated:
            if (gate_rx is None or gate_rx.search(text) is not None) and rx.search(text):
                found.add(name)
        return found


def _terms(
    text: str,
    lo: int,
    hi: int,
    lexicon: Lexicon | None,
    extra: Iterable[str] = (),
    *,
    skip_searches: bool = True,
) -> dict[str, int]:
    """Counts of the character n-grams (``lo``..``hi``) plus the named binary features."""
    counts: Counter[str] = Counter()
    for size in range(lo, hi + 1):
        if size == 1:
            counts.update(text)  # counting runs in C
        elif size == 2:
            counts.update(map(operator.add, text, text[1:]))
        else:
            counts.update(text[i : i + size] for i in range(len(text) - size + 1))
    if lexicon is not None:
        for name in lexicon.hits(text, skip_searches=skip_searches):
            counts[name] = 1
    for name in extra:
        counts[name] = 1
    return counts


def _gram_key(first: Any, second: Any) -> Any:
    """The number of a two-character n-gram from its code points (NumPy arrays or ints); a
    one-character n-gram's number is its code point, always smaller."""
    return (first + 1) * 0x110000 + second


#: Fibonacci hashing's multiplier (2^64 / golden ratio).
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


class _GramTable:
    """The vocabulary's n-gram numbers (``_gram_key``) → columns, as an open-addressing hash table
    in two NumPy arrays, looked up for a whole batch at once: a binary search of the sorted keys
    (``np.searchsorted``, which a test compares it with) cost about 0.2 µs per character, most of
    ``_batch_terms``; this is a few array operations per probe, and a quarter-full table needs few
    probes."""

    def __init__(self, keys: np.ndarray, cols: np.ndarray) -> None:
        bits = max(4, int(4 * max(len(keys), 1) - 1).bit_length())
        size = 1 << bits
        self._shift = np.uint64(64 - bits)
        self._mask = size - 1
        self._keys = np.full(size, -1, dtype=np.int64)
        self._cols = np.zeros(size, dtype=np.int64)
        slots = self._slots(np.asarray(keys, dtype=np.int64)).tolist()
        for key, col, slot in zip(keys.tolist(), cols.tolist(), slots, strict=True):
            while self._keys[slot] != -1:  # linear probing
                slot = (slot + 1) & self._mask
            self._keys[slot] = key
            self._cols[slot] = col

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            hashed = keys.astype(np.uint64) * _HASH_MULTIPLIER  # modulo 2^64
        return (hashed >> self._shift).astype(np.int64)

    def columns(self, keys: np.ndarray) -> np.ndarray:
        """The column of each key, -1 for keys not in the vocabulary."""
        out = np.full(len(keys), -1, dtype=np.int64)
        todo = np.arange(len(keys))
        slots = self._slots(keys)
        while len(todo):
            stored = self._keys[slots]
            hit = stored == keys[todo]
            out[todo[hit]] = self._cols[slots[hit]]
            more = ~hit & (stored != -1)  # another key in the slot: try the next one
            todo = todo[more]
            slots = (slots[more] + 1) & self._mask
        return out


class Vectorizer:
    """Maps normalised texts to L2-normalised sparse rows over a fixed vocabulary."""

    def __init__(
        self,
        config: FeatureConfig,
        vocabulary: Sequence[str],
        idf: np.ndarray,
        lexicon: Lexicon | None,
        *,
        reference: bool = False,
    ) -> None:
        self.reference = reference
        self.config = config
        self.vocabulary = list(vocabulary)
        self.index = {term: i for i, term in enumerate(self.vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float64)
        grams = [(i, t) for i, t in enumerate(self.vocabulary) if 1 <= len(t) <= 2]
        keys = np.array(
            [_gram_key(ord(t[0]), ord(t[1])) if len(t) == 2 else ord(t) for _, t in grams],
            dtype=np.int64,
        )
        order = np.argsort(keys, kind="stable")
        self._gram_keys = keys[order]  # the vocabulary's n-grams as numbers, sorted
        self._gram_cols = np.array([i for i, _ in grams], dtype=np.int64)[order]
        self._table = _GramTable(self._gram_keys, self._gram_cols)
        self.lexicon = lexicon if config.lexicon else None

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        config: FeatureConfig,
        lexicon: Lexicon | None,
        extras: Sequence[Iterable[str]] | None = None,
    ) -> Vectorizer:
        """Vocabulary and idf from training texts; ``extras`` adds named binary features per text."""
        lex = lexicon if config.lexicon else None
        df: dict[str, int] = {}
        for i, text in enumerate(texts):
            extra = extras[i] if extras is not None else ()
            for term in _terms(text, config.ngram_min, config.ngram_max, lex, extra):
                df[term] = df.get(term, 0) + 1
        vocabulary = sorted(t for t, c in df.items() if c >= config.min_df)
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in vocabulary])
        return cls(config, vocabulary, idf, lex)

    def transform(
        self, texts: Sequence[str], extras: Sequence[Iterable[str]] | None = None
    ) -> sp.csr_matrix:
        """One row per text. The weights and row norms are computed with NumPy over the whole
        batch: per-term Python arithmetic was the slowest step of ``nlu classify``. With n-grams of
        one and two characters (the default) the terms are counted over the whole batch too
        (``_batch_terms``); the per-message ``Counter`` of ``_terms`` is the reference
        (``reference=True``), and both give the same terms in the same order."""
        cfg = self.config
        if not self.reference and cfg.ngram_min >= 1 and cfg.ngram_max <= 2:
            cols, tfs, lengths = self._batch_terms(texts, extras)
        else:
            cols, tfs, lengths = self._message_terms(texts, extras)
        n = len(texts)
        rows = np.repeat(np.arange(n), lengths)
        known = cols >= 0
        cols, rows = cols[known], rows[known]
        values = self.idf[cols] * (1.0 + np.log(tfs[known]))
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
        norms[norms == 0.0] = 1.0
        values /= norms[rows]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return sp.csr_matrix((values, cols, indptr), shape=(n, len(self.vocabulary)))

    def _message_terms(
        self, texts: Sequence[str], extras: Sequence[Iterable[str]] | None
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Column (-1: not in the vocabulary) and count of each text's terms in ``_terms`` order,
        and how many terms each text has. The terms are looked up with ``map`` (a C loop)."""
        cfg = self.config
        get = self.index.get
        found: list[int] = []
        tfs: list[int] = []
        lengths: list[int] = []
        for k, text in enumerate(texts):
            extra = extras[k] if extras is not None else ()
            counts = _terms(
                text,
                cfg.ngram_min,
                cfg.ngram_max,
                self.lexicon,
                extra,
                skip_searches=not self.reference,
            )
            found.extend(map(get, counts, repeat(-1)))
            tfs.extend(counts.values())
            lengths.append(len(counts))
        return np.array(found, dtype=np.int64), np.array(tfs, dtype=np.float64), lengths

    def _batch_terms(
        self, texts: Sequence[str], extras: Sequence[Iterable[str]] | None
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """``_message_terms`` for one- and two-character n-grams, over the whole batch at once.

        The batch's characters become one array of code points; an n-gram is a number (``_gram_key``)
        looked up in the sorted keys of the vocabulary's n-grams, and NumPy counts the (row, column)
        pairs, keeping each row's first-occurrence order: no string per n-gram, no ``Counter`` per
        text. Terms outside the vocabulary are left out here (``_message_terms`` marks them -1 and
        ``transform`` drops them), which moves no other term. The named features (lexicon hits,
        ``extras``) follow each row's n-grams as in ``_terms``; they are longer than two
        characters, so never an n-gram."""
        cfg = self.config
        lexicon = self.lexicon
        named: list[list[str]] = []
        for k, text in enumerate(texts):
            names = dict.fromkeys(lexicon.hits(text)) if lexicon is not None else {}
            if extras is not None:
                names.update(dict.fromkeys(extras[k]))
            if any(len(name) <= 2 for name in names):  # could be an n-gram: count per text
                return self._message_terms(texts, extras)
            named.append(list(names))
        n = len(texts)
        n_cols = len(self.vocabulary)
        joined = "".join(texts).encode("utf-32-le", "surrogatepass")
        codes = np.frombuffer(joined, dtype=np.uint32).astype(np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), [len(t) for t in texts])
        parts: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, keys) of unigrams, bigrams
        if cfg.ngram_min == 1:
            parts.append((rows, codes))
        if cfg.ngram_max == 2:
            same = rows[:-1] == rows[1:]
            parts.append((rows[:-1][same], _gram_key(codes[:-1][same], codes[1:][same])))
        pieces_rows, pieces_cols, pieces_tfs = [], [], []
        for part_rows, keys in parts:
            cols = self._table.columns(keys)  # the sorted keys' column, -1: not an n-gram of it
            hit = cols >= 0
            pairs = part_rows[hit] * n_cols + cols[hit]
            unique, first, counts = np.unique(pairs, return_index=True, return_counts=True)
            order = np.argsort(first, kind="stable")  # rows stay together, in first-seen order
            pieces_rows.append(unique[order] // n_cols)
            pieces_cols.append(unique[order] % n_cols)
            pieces_tfs.append(counts[order].astype(np.float64))
        flat = [name for names in named for name in names]
        pieces_rows.append(np.repeat(np.arange(n, dtype=np.int64), [len(x) for x in named]))
        pieces_cols.append(np.fromiter(map(self.index.get, flat, repeat(-1)), np.int64, len(flat)))
        pieces_tfs.append(np.ones(len(flat)))
        all_rows = np.concatenate(pieces_rows)
        by_row = np.argsort(all_rows, kind="stable")  # each row: unigrams, bigrams, names
        lengths = np.bincount(all_rows, minlength=n).tolist()
        return np.concatenate(pieces_cols)[by_row], np.concatenate(pieces_tfs)[by_row], lengths
