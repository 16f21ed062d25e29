"""Errors of the tickets package: one base class; specific errors also inherit the builtin they resemble."""


class TicketError(Exception):
    """Base class of every error raised by ``tickets``."""


class ConfigError(ValueError, TicketError):
    """A configuration or data file is invalid; the message names the file and line."""


class NotFound(LookupError, TicketError):
    """A ticket, unit, person or case does not exist."""


class IllegalTransition(ValueError, TicketError):
    """The requested status change is not allowed from the ticket's current status."""

    def __init__(self, code: str, current: str, action: str) -> None:
        super().__init__(f"工单 {code} 当前状态为「{current}」，不能执行「{action}」")
        self.code = code
        self.current = current
        self.action = action


class UnknownCategory(ValueError, TicketError):
    """A category code that is not in the taxonomy."""


class PermissionDenied(PermissionError, TicketError):
    """The actor may not see or change this object."""


class InvalidInput(ValueError, TicketError):
    """Input that fails validation (empty, too long, malformed)."""


class StoreUnavailable(ConnectionError, TicketError):
    """The database cannot be reached; the caller should keep the input and retry later."""
