"""The Telegram adapter: updates in through the inbox, messages out through the outbox.

``bot.services`` holds the use cases the adapter (and the Rasa actions) call; ``bot.handlers`` turns
Telegram updates into those calls; ``bot.app`` is the composition root. Nothing connects at import time.
"""
