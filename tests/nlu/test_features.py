"""Features: the n-gram lookup of a batch (a hash table) finds the columns the sorted keys find."""

from __future__ import annotations

import numpy as np

from nlu.data import load_examples
from nlu.features import _gram_key
from nlu.pipeline import Pipeline


def test_the_hash_table_finds_the_columns_of_the_binary_search(pipe: Pipeline) -> None:
    """Every character and character pair of every training text, and numbers that are no
    n-gram: the same column as ``np.searchsorted`` over the sorted keys, -1 for the rest."""
    v = pipe.classifier.vectorizer
    text = "\n".join(ex.text for ex in load_examples()) + "😀\ud800"
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = codes.astype(np.int64)
    rng = np.random.default_rng(14)
    keys = np.concatenate(
        [
            codes,
            _gram_key(codes[:-1], codes[1:]),
            rng.integers(0, _gram_key(0x10FFFF, 0x10FFFF), 20_000),
            v._gram_keys,
        ]
    )
    at = np.minimum(np.searchsorted(v._gram_keys, keys), len(v._gram_keys) - 1)
    expected = np.where(v._gram_keys[at] == keys, v._gram_cols[at], -1)
    found = v._table.columns(keys)
    assert found.tolist() == expected.tolist()
    assert 0.3 < (found >= 0).mean() < 0.9
