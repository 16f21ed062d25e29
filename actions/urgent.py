"""What an urgent report's resident should do right now (the advice texts live in bot.texts)."""

from __future__ import annotations

from actions import texts


def advice_for(text: str) -> str:
    """The first advice whose words appear in ``text``; the general emergency numbers otherwise."""
    for words, advice in texts.URGENT_ADVICE:
        if any(w in text for w in words):
            return advice
    return texts.URGENT_DEFAULT_ADVICE
