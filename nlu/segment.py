"""Word segmentation with the NLU's own jieba tokenizer (never jieba's global one).

The tokenizer gets jieba's default dictionary, the user dictionary ``data/jieba/userdict.txt`` and the
place names of ``data/units.yml``; its prefix-dictionary cache lives in ``var/cache/jieba`` instead of
the system temp directory. Segmentation runs without jieba's HMM: unknown names come out as single
characters, which the location patterns assemble, and it is twice as fast.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nlu.resources import JIEBA_DIR, VAR_DIR

PLACE_FREQ = 5000


class Segmenter:
    """One jieba.Tokenizer with our dictionaries; build once per pipeline (loading takes ~1 s)."""

    def __init__(
        self,
        userdict: Path | None = None,
        extra_words: Iterable[str] = (),
        cache_dir: Path | None = None,
    ) -> None:
        import jieba  # heavy: imported when a pipeline is built, not when nlu is imported

        logging.getLogger("jieba").setLevel(logging.WARNING)
        cache_dir = cache_dir or VAR_DIR / "cache" / "jieba"
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._tokenizer: Any = jieba.Tokenizer()
        self._tokenizer.tmp_dir = str(cache_dir)
        self._tokenizer.initialize()
        path = userdict or JIEBA_DIR / "userdict.txt"
        # jieba's own load_userdict would read our '#' comment lines as words: parse them here.
        with path.open("rb") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip() and not ln.startswith(b"#")]
        for raw in lines:
            parts = raw.decode("utf-8").split()
            freq = int(parts[1]) if len(parts) > 1 else None
            tag = parts[2] if len(parts) > 2 else None
            self._tokenizer.add_word(parts[0], freq, tag)
        for word in extra_words:
            self._tokenizer.add_word(word, PLACE_FREQ, "ns")

    def cut(self, text: str) -> list[str]:
        """Words of ``text`` in order; concatenated they give ``text`` back."""
        return list(self._tokenizer.cut(text, HMM=False))
