"""Errors of the ``nlu`` package: one base class; specific errors also inherit the builtin they resemble."""


class NluError(Exception):
    """Base class of every error raised by ``nlu``."""


class ModelNotFound(LookupError, NluError):
    """No trained model in the directory asked for (train one with ``python -m nlu train``)."""


class ModelInvalid(ValueError, NluError):
    """A model directory exists but its files are unreadable or from an incompatible format."""


class DataError(ValueError, NluError):
    """A training-data, lexicon or gazetteer file is malformed; the message names the file."""


class InvalidInput(ValueError, NluError):
    """An input record is not a JSON object with a string ``text``."""
