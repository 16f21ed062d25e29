"""The action server's dependencies: one Database and Domain per process, created on first use."""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import Settings

T = TypeVar("T")


@dataclass
class ActionDeps:
    db: Database
    domain: Domain

    async def write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` in a unit of work in a worker thread, then commit."""

        def work() -> T:
            with self.db.unit_of_work() as uow:
                result = fn(uow.session, *args, **kwargs)
                uow.commit()
                return result

        return await asyncio.to_thread(work)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        def work() -> T:
            with self.db.unit_of_work(write=False) as uow:
                return fn(uow.session, *args, **kwargs)

        return await asyncio.to_thread(work)


_shared: ActionDeps | None = None


def shared() -> ActionDeps:
    """The process's dependencies, built from the settings the first time an action needs them."""
    global _shared
    if _shared is None:
        settings = Settings.from_env()
        deps = ActionDeps(Database(settings.database_url), Domain.load(settings))
        atexit.register(deps.db.dispose)
        _shared = deps
    return _shared


class UsesDeps:
    """Mixin: ``self.deps`` is the injected dependencies or the process's shared ones."""

    def __init__(self, deps: ActionDeps | None = None) -> None:
        self._deps = deps

    @property
    def deps(self) -> ActionDeps:
        return self._deps if self._deps is not None else shared()
