"""Actions run as the action server runs them: hand-built trackers, a collecting dispatcher, the domain
from domain.yml, and the real test database behind them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker

from actions.deps import ActionDeps
from tickets.db import Database
from tickets.domain import Domain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rasa_domain() -> dict[str, Any]:
    domain: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain


@pytest.fixture
def deps(db: Database, domain: Domain) -> ActionDeps:
    return ActionDeps(db, domain)


def nlu(
    category: str | None,
    *,
    urgent: bool = False,
    text: str = "",
    locations: tuple[str, ...] = (),
    confidence: float = 0.9,
) -> dict[str, Any]:
    return {
        "is_demand": category is not None,
        "demand_confidence": 0.95 if category else 0.1,
        "category": category,
        "category_confidence": confidence if category else 0.0,
        "ranking": [[category, confidence]] if category else [],
        "urgent": urgent,
        "locations": [
            {"text": loc, "start": text.find(loc), "end": text.find(loc) + len(loc)}
            for loc in locations
        ],
        "classifier_version": "test",
    }


def tracker(
    text: str,
    intent: str,
    *,
    slots: dict[str, Any] | None = None,
    minwei: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    filled: dict[str, Any] | None = None,
    sender: str = "tg:501",
    form: bool = False,
) -> Tracker:
    """The tracker Rasa sends for ``text``; ``filled`` are the slots Rasa set from it this turn."""
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "metadata": metadata
        if metadata is not None
        else {"telegram": {"chat_id": 501, "message_id": 10, "user_id": 501, "name": "陈姨"}},
    }
    if minwei is not None:
        latest["minwei"] = minwei
    events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in (filled or {}).items()]
    all_slots = {**(slots or {}), **(filled or {})}
    return Tracker(
        sender,
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": "report_form"} if form else {},
        "action_listen",
    )
