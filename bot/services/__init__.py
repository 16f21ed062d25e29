"""Use cases behind the bot and the Rasa actions: plain functions that take a session (and the domain).

No Telegram objects and no NLU inside: callers pass plain values and classification dicts, and get frozen
views back (``bot.services.views``). Callers own the transaction.
"""
