"""The action server's dependencies: one Database and Domain per process, created on first use, and the
classifier of a whole report's story (Rasa's ``/model/parse`` on the action server's ``RASA_URL``)."""

from __future__ import annotations

import atexit
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from nlu.place_text import PlaceWords
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Classifies a report's joined story text; None when the NLU cannot be reached (the per-turn results
#: are then used alone).
StoryClassifier = Callable[[str], Awaitable[dict[str, Any] | None]]


class RasaStoryClassifier:
    """The ``minwei`` result of Rasa's ``/model/parse`` for a text: the same model that read each turn."""

    def __init__(self, rasa_url: str, *, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=rasa_url.rstrip("/"), timeout=timeout)

    async def __call__(self, text: str) -> dict[str, Any] | None:
        try:
            response = await self._client.post("/model/parse", json={"text": text})
            result = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as e:
            log.warning("story not classified (Rasa unreachable): %r", e)
            return None
        minwei = result.get("minwei") if isinstance(result, dict) else None
        return dict(minwei) if isinstance(minwei, dict) else None

    async def close(self) -> None:
        await self._client.aclose()


async def no_story_classifier(text: str) -> dict[str, Any] | None:
    """For callers without an NLU (the per-turn results are used alone)."""
    return None


@dataclass
class ActionDeps:
    db: Database
    domain: Domain
    classify_story: StoryClassifier = no_story_classifier
    place_words: PlaceWords = field(default_factory=PlaceWords.load)

    async def write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``Database.run``: ``fn(session, *args, **kwargs)`` in a unit of work, committed."""
        return await self.db.run(fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``Database.run`` read-only."""
        return await self.db.run(fn, *args, write=False, **kwargs)


_shared: ActionDeps | None = None


def shared() -> ActionDeps:
    """The process's dependencies, built from the settings the first time an action needs them."""
    global _shared
    if _shared is None:
        settings = Settings.from_env()
        deps = ActionDeps(
            Database(settings.database_url),
            Domain.load(settings),
            classify_story=RasaStoryClassifier(settings.rasa_url),
        )
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
