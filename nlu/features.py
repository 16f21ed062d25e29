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

    def hits(self, text: str) -> set[str]:
        found: set[str] = set()
        if self._words is not None:
            for m in self._words.finditer(text):
                found |= self._owners[m.group()]
        for name, rx in self._regexes:
            if rx.search(text):
                found.add(name)
        return found


def _terms(
    text: str, lo: int, hi: int, lexicon: Lexicon | None, extra: Iterable[str] = ()
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
        for name in lexicon.hits(text):
            counts[name] = 1
    for name in extra:
        counts[name] = 1
    return counts


class Vectorizer:
    """Maps normalised texts to L2-normalised sparse rows over a fixed vocabulary."""

    def __init__(
        self,
        config: FeatureConfig,
        vocabulary: Sequence[str],
        idf: np.ndarray,
        lexicon: Lexicon | None,
    ) -> None:
        self.config = config
        self.vocabulary = list(vocabulary)
        self.index = {term: i for i, term in enumerate(self.vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float64)
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
        """One row per text. The terms are looked up with ``map`` (a C loop) and the weights and row
        norms computed with NumPy over the whole batch: per-term Python arithmetic was the slowest
        step of ``nlu classify``."""
        cfg = self.config
        get = self.index.get
        found: list[int] = []
        tfs: list[int] = []
        lengths: list[int] = []
        for k, text in enumerate(texts):
            extra = extras[k] if extras is not None else ()
            counts = _terms(text, cfg.ngram_min, cfg.ngram_max, self.lexicon, extra)
            found.extend(map(get, counts, repeat(-1)))
            tfs.extend(counts.values())
            lengths.append(len(counts))
        n = len(texts)
        cols = np.array(found, dtype=np.int64)
        rows = np.repeat(np.arange(n), lengths)
        known = cols >= 0
        cols, rows = cols[known], rows[known]
        values = self.idf[cols] * (1.0 + np.log(np.array(tfs, dtype=np.float64)[known]))
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
        norms[norms == 0.0] = 1.0
        values /= norms[rows]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return sp.csr_matrix((values, cols, indptr), shape=(n, len(self.vocabulary)))
