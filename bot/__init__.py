"""The Telegram adapter: updates in through the inbox, messages out through the outbox.

``bot.handlers`` turns Telegram updates into calls on the core's use cases (``tickets.usecases``) and
the resident dialogue (Rasa, through ``bot.rasa``); ``bot.app`` is the composition root: ``Deps`` is
built whole in ``post_init`` and the workers (inbox worker, group intake, forward coalescer) are kept in
``bot_data`` beside it. No SQL, no NLU logic, no business rules here. Nothing connects at import time.
"""
