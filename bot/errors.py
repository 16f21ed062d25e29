"""Errors of the bot package: one base class; the specific ones also inherit the builtin they resemble."""

from __future__ import annotations


class BotError(Exception):
    """Base class of every error raised by ``bot``."""


class ServiceUnavailable(ConnectionError, BotError):
    """A service the bot depends on (Rasa, the classifier) cannot be reached; try again later."""


class RasaUnavailable(ServiceUnavailable):
    """The Rasa server did not answer, or answered with an error."""


class ClassifierUnavailable(ServiceUnavailable):
    """The group classifier (in-process pipeline or Rasa /model/parse) is not available."""


class TryLater(BotError):
    """Raised by a handler when its update must be processed again later (the cause is chained)."""

    def __init__(self, reason: str, delay: float = 30.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class GroupMessageFailed(BotError):
    """A grid-group message could be neither filed nor set aside for review; its update is kept as
    failed in the inbox (with this reason) instead of being marked done."""


class TakenOver(BotError):
    """This worker's lease on the update ran out and another worker took it over: the update is the
    other worker's to finish, this one leaves it alone."""
