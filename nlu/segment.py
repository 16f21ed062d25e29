"""Word segmentation with the NLU's own jieba tokenizer (never jieba's global one).

The tokenizer gets jieba's default dictionary, the user dictionary ``data/jieba/userdict.txt`` and the
place names of ``data/units.yml``; its prefix-dictionary cache lives in ``var/cache/jieba`` instead of
the system temp directory. Segmentation is jieba's maximum-probability path over that dictionary
without the HMM (unknown names come out as single characters, which the location patterns assemble).
``cut`` computes exactly what ``jieba.Tokenizer.cut(text, HMM=False)`` returns (a test checks this on
every training text, ``benchmarks/bench_nlu_speed.py`` on every tipdm2020c message too):

- with ``rjieba`` installed (jieba-rs, the same algorithm and default dictionary in Rust; an abi3 wheel for
  both environments) it does the cutting, about 7× faster than the Python loop below. jieba-rs differs
  from jieba in one bookkeeping detail: re-adding a word that is already in the dictionary replaces its
  frequency in the total, where jieba adds the new frequency on top. The difference is added to
  jieba-rs' total with one word made of private-use characters that no text can contain, so both
  totals — and so every path score — are the same;
- without it, jieba's ``get_DAG`` + ``calc`` + ``__cut_DAG_NO_HMM`` in one Python loop (1.7× jieba).
"""

from __future__ import annotations

import logging
import math
import operator
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nlu.resources import JIEBA_DIR, VAR_DIR

PLACE_FREQ = 5000
# jieba's own block patterns (jieba/__init__.py: re_han_default, re_skip_default, re_eng)
_HAN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
_SKIP = re.compile(r"(\r\n|\s)")
_ENG = re.compile(r"[a-zA-Z0-9]")
_PREFIX = 1.0  # a prefix of dictionary words, not a word itself (jieba: frequency 0)
_ABSENT = 2.0  # neither a word nor a prefix: no longer word starts here
_MAX_CACHED = 500_000
#: A word no message can contain (private-use characters outside jieba's Han blocks), carrying the
#: frequency jieba-rs leaves out of its total (see the module docstring).
_TOTAL_PAD_WORD = "\U000f0000\U000f0001"
# Repeated characters that can make two paths score exactly the same (see the module docstring).
_TRIPLE = re.compile(r"([\u4E00-\u9FD5])\1\1")
_ABA = re.compile(r"(?=([\u4E00-\u9FD5])([\u4E00-\u9FD5])\1)")


class Segmenter:
    """One jieba.Tokenizer with our dictionaries; build once per pipeline (loading takes ~1 s)."""

    def __init__(
        self,
        userdict: Path | None = None,
        extra_words: Iterable[str] = (),
        cache_dir: Path | None = None,
        *,
        accelerate: bool = True,
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
        added: list[tuple[str, str | None]] = []
        replaced = 0  # frequency of re-added words: in jieba's total, not in jieba-rs'
        freq_of = self._tokenizer.FREQ
        for raw in lines:
            parts = raw.decode("utf-8").split()
            freq = int(parts[1]) if len(parts) > 1 else None
            tag = parts[2] if len(parts) > 2 else None
            replaced += freq_of.get(parts[0]) or 0
            self._tokenizer.add_word(parts[0], freq, tag)
            added.append((parts[0], tag))
        for word in extra_words:
            replaced += freq_of.get(word) or 0
            self._tokenizer.add_word(word, PLACE_FREQ, "ns")
            added.append((word, "ns"))
        self._freq: dict[str, int] = self._tokenizer.FREQ
        self._fast: Any = _rust_jieba(added, self._freq, replaced) if accelerate else None
        self._log_total = math.log(self._tokenizer.total)
        # frag → log probability (< 0) of a dictionary word, _PREFIX or _ABSENT: one lookup per
        # fragment once warm (jieba's FREQ needs a second one for the log); bounded by _MAX_CACHED.
        self._logp: dict[str, float] = {}

    @property
    def accelerated(self) -> bool:
        """True when jieba-rs does the cutting."""
        return self._fast is not None

    def cut(self, text: str) -> list[str]:
        """Words of ``text`` in order; concatenated they give ``text`` back."""
        if self._fast is not None and not self._may_tie(text):
            return self._fast(text, False)
        return self.cut_python(text)

    def _may_tie(self, text: str) -> bool:
        """Whether two paths through ``text`` may score exactly the same (jieba-rs breaks such
        ties differently): AAA with AA a word, ABA with AB and BA words of equal frequency."""
        if not any(map(operator.eq, text, text[2:])):
            return False  # both need a character equal to the one two places on: most texts
        freq = self._freq
        for m in _TRIPLE.finditer(text):
            if freq.get(m.group(1) * 2):
                return True
        for m in _ABA.finditer(text):
            a, b = m.group(1), m.group(2)
            if a != b:
                f = freq.get(a + b)
                if f and f == freq.get(b + a):
                    return True
        return False

    def cut_python(self, text: str) -> list[str]:
        """``cut`` without jieba-rs (the fallback, and the reference in tests)."""
        out: list[str] = []
        for block in _HAN.split(text):
            if not block:
                continue
            if _HAN.match(block):
                out.extend(self._cut_block(block))
            else:
                for piece in _SKIP.split(block):
                    if not piece:
                        continue
                    if _SKIP.match(piece):
                        out.append(piece)
                    else:
                        out.extend(piece)
        return out

    def jieba_cut(self, text: str) -> list[str]:
        """The same segmentation by jieba's own code (for tests and comparison)."""
        return list(self._tokenizer.cut(text, HMM=False))

    def _cut_block(self, s: str) -> list[str]:
        """jieba's ``get_DAG`` + ``calc`` + ``__cut_DAG_NO_HMM`` in one pass (same ties: the longer
        word wins)."""
        n = len(s)
        freq = self._freq
        logp = self._logp
        log_total = self._log_total
        score = [0.0] * (n + 1)
        nxt = [0] * (n + 1)
        for idx in range(n - 1, -1, -1):
            best = 0.0
            end = -1
            i = idx
            frag = s[idx]
            while True:
                lp = logp.get(frag)
                if lp is None:
                    f = freq.get(frag)
                    lp = _ABSENT if f is None else (math.log(f) - log_total if f else _PREFIX)
                    if len(logp) < _MAX_CACHED:
                        logp[frag] = lp
                if lp == _ABSENT:
                    break
                if lp < 0.0:
                    candidate = lp + score[i + 1]
                    if end < 0 or candidate >= best:
                        best = candidate
                        end = i
                i += 1
                if i >= n:
                    break
                frag = s[idx : i + 1]
            if end < 0:  # unknown character: jieba scores it as frequency 1
                best = -log_total + score[idx + 1]
                end = idx
            score[idx] = best
            nxt[idx] = end + 1
        words: list[str] = []
        buf = ""
        x = 0
        while x < n:
            y = nxt[x]
            word = s[x:y]
            if y - x == 1 and _ENG.match(word):
                buf += word
            else:
                if buf:
                    words.append(buf)
                    buf = ""
                words.append(word)
            x = y
        if buf:
            words.append(buf)
        return words


def _rust_jieba(words: list[tuple[str, str | None]], freq: dict[str, int], replaced: int) -> Any:
    """``rjieba.Jieba().cut`` with ``words`` added at jieba's frequencies; None without rjieba."""
    try:
        import rjieba
    except ImportError:
        return None
    fast = rjieba.Jieba()
    for word, tag in words:
        fast.add_word(word, freq[word], tag)
    if replaced:
        fast.add_word(_TOTAL_PAD_WORD, replaced, None)
    return fast.cut
