"""The bot, running for real in the test's event loop: the PTB Application with our handlers, the inbox
worker, the outbox sender and polling ingest, against the test database. Tests that take the ``rasa``
fixture talk to the real Rasa server and action server (tests/support/rasa.py); for the others Rasa's
address is a loopback port where nothing listens. Faked: Telegram at the HTTP boundary
(``FakeRequest``) and the group classifier (a table of texts)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.app import Stack, build_application, post_init, post_shutdown, run
from bot.config import BotConfig
from bot.rasa import RasaClient
from tests.conftest import STAFF_CHAT_ID, Clock
from tests.support.fake_telegram import FakeRequest, FakeTelegram, free_port
from tests.support.processes import Redis
from tickets import queues
from tickets.classification import Classification
from tickets.clock import QuietHours
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import InboxItem, OutboxItem, Person, Ticket, utcnow
from tickets.statuses import Role

TOKEN = "123456:TEST-TOKEN"


def demand(
    category: str,
    *,
    confidence: float = 0.95,
    urgent: bool = False,
    locations: list[str] | None = None,
    text: str = "",
) -> dict[str, Any]:
    spans = [
        {"text": loc, "start": text.find(loc), "end": text.find(loc) + len(loc)}
        for loc in locations or []
    ]
    return {
        "is_demand": True,
        "demand_confidence": confidence,
        "category": category,
        "category_confidence": confidence,
        "ranking": [[category, confidence]],
        "urgent": urgent,
        "locations": spans,
        "classifier_version": "fake",
    }


CHATTER = {
    "is_demand": False,
    "demand_confidence": 0.02,
    "category": None,
    "category_confidence": 0.0,
    "ranking": [],
    "urgent": False,
    "locations": [],
    "classifier_version": "fake",
}


@dataclass
class FakeClassifier:
    """The NLU as a table: text → classification (anything else is chatter)."""

    table: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str = "fake"
    calls: list[list[str]] = field(default_factory=list)
    down: bool = False

    async def start(self) -> None:
        return None

    async def classify(self, texts: list[str]) -> list[Classification]:
        from tickets.classification import ClassifierUnavailable

        if self.down:
            raise ClassifierUnavailable("NLU down")
        self.calls.append(list(texts))
        return [Classification.from_dict(self.table.get(t, CHATTER)) for t in texts]

    async def close(self) -> None:
        return None


@dataclass
class Harness:
    """The bot running in the test's event loop; ``restart`` stops it and starts a new one."""

    telegram: FakeTelegram
    rasa_url: str
    classifier: FakeClassifier
    db: Database
    domain: Domain
    config: BotConfig
    stack: Stack = field(init=False)
    _stopping: asyncio.Event = field(init=False)
    _running: asyncio.Task[None] = field(init=False)

    def peer(self, **config: Any) -> Harness:
        """Another bot process (not started) over the same Telegram, Rasa, classifier and database,
        as worker ``bot2`` with ``config`` changed."""
        return Harness(
            self.telegram,
            self.rasa_url,
            self.classifier,
            self.db,
            self.domain,
            replace(self.config, **{"worker_id": "bot2", **config}),
        )

    async def start(self) -> None:
        settings = replace(
            self.domain.settings,
            telegram_bot_token=TOKEN,
            telegram_api_base_url="http://telegram.test/bot",
        )
        app = build_application(settings, self.config, request=FakeRequest(self.telegram))
        await app.initialize()
        self.stack = await post_init(
            app,
            settings,
            self.config,
            db=self.db,
            domain=self.domain,
            rasa=RasaClient(self.rasa_url),
            classifier=self.classifier,
        )
        await app.start()
        self._stopping = asyncio.Event()
        self._running = asyncio.create_task(run(self.stack, self._stopping))

    async def stop(self) -> None:
        self._stopping.set()
        await self._running
        await self.stack.app.stop()
        await self.stack.app.shutdown()
        await post_shutdown(self.stack)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every pushed update was processed and every due message sent."""
        deadline = asyncio.get_running_loop().time() + timeout
        quiet = 0
        while quiet < 3:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the bot did not settle")
            await asyncio.sleep(0.03)
            quiet = quiet + 1 if await asyncio.to_thread(self._idle) else 0

    def _idle(self) -> bool:
        with self.db.session() as s:
            newest = s.scalar(select(func.max(InboxItem.update_id))) or 0
            if newest < max(self.telegram.pushed_at, default=0):
                return False
            processing = s.scalar(
                select(func.count(InboxItem.id)).where(
                    InboxItem.status.in_(("processing", "waiting"))
                )
            )
            sending = s.scalar(
                select(func.count(OutboxItem.id)).where(OutboxItem.status == "sending")
            )
            ready = queues.claimable(s)
        return (processing, sending, ready) == (0, 0, (0, 0)) and self.stack.worker.in_flight == 0

    async def confirm_report(
        self, user: dict[str, Any], buttons: tuple[str, ...]
    ) -> tuple[dict[str, Any], str]:
        """The resident ``user`` presses ``buttons`` in turn on the dialogue's latest question (对,
        跳过, 可以 …) until the real action server files the report: the filing reply and the code
        of the only ticket, which the reply names."""
        chat_id = int(user["id"])
        for button in buttons:
            self.telegram.press(user, self.telegram.sent(chat_id)[-1], button)
            await self.settle(timeout=60)
        filed = await self.message(chat_id, "已为您登记")
        with self.db.session() as s:
            code = s.scalars(select(Ticket.code)).one()
        assert code in filed["text"]
        return filed, code

    async def message(
        self, chat_id: int, contains: str, *, after: int = 0, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait (without blocking the bot) for a message to ``chat_id`` containing ``contains``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [
                m for m in self.telegram.sent(chat_id)[after:] if contains in m.get("text", "")
            ]
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"no message containing {contains!r} in chat {chat_id}; "
                    f"the bot sent: {self.telegram.texts(chat_id)[after:]}"
                )
            await asyncio.sleep(0.02)

    async def worker_retries_now(self) -> None:
        """Make every update waiting for a retry due now."""
        with self.db.unit_of_work() as uow:
            uow.session.execute(
                update(InboxItem).where(InboxItem.status == "pending").values(not_before=None)
            )
            uow.commit()
        self.stack.worker.wake()

    def person(self, role: Role, tg: int, unit: str | None = None, name: str = "") -> Person:
        with self.db.unit_of_work() as uow:
            unit_id = self.domain.units(uow.session).get(unit).id if unit else None
            p = Person(
                role=role, telegram_user_id=tg, unit_id=unit_id, display_name=name or role.label
            )
            uow.session.add(p)
            uow.commit()
            return p


@pytest.fixture
def clock() -> Clock:
    """Real time: the outbox sends what is due now, and services stamp messages with the domain clock."""
    return Clock(utcnow())


@pytest.fixture
def telegram() -> FakeTelegram:
    telegram = FakeTelegram()
    telegram.group(STAFF_CHAT_ID, "云溪区工作群")
    return telegram


@pytest.fixture
def no_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], None]:
    """Every test that drives the Application asserts nothing was logged at ERROR (PTB swallows
    handler exceptions into the log)."""
    caplog.set_level(logging.INFO)

    def check() -> None:
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [f"{r.name}: {r.getMessage()}" for r in errors] == []

    return check


@pytest.fixture
def bot_config(tmp_path: Path) -> BotConfig:
    return BotConfig(
        poll_timeout=1,
        inbox_poll_seconds=0.05,
        outbox_poll_seconds=0.05,
        forward_burst_seconds=0.3,
        group_batch_wait=0.01,
        send_journal=tmp_path / "bot-outbox.journal",
        supervision_seconds=0,  # tests that need the clock run it (tests/bot/test_follow_through.py)
    )


def nowhere() -> str:
    """An address where nothing listens: Rasa for the tests that do not talk to it."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def bot(
    request: pytest.FixtureRequest,
    db: Database,
    domain: Domain,
    telegram: FakeTelegram,
    bot_config: BotConfig,
    no_errors: Callable[[], None],
) -> AsyncIterator[Harness]:
    # The bot runs on the wall clock: without quiet hours, what it says in a group does not depend
    # on the hour the tests run at (21:30–08:00 in Guangzhou would hold group lines back).
    domain.rules = replace(
        domain.rules, quiet=QuietHours(time(0), time(0), domain.rules.quiet.staff)
    )
    rasa_url = request.getfixturevalue("rasa").url if "rasa" in request.fixturenames else nowhere()
    harness = Harness(telegram, rasa_url, FakeClassifier(), db, domain, bot_config)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
    no_errors()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    """A throw-away redis-server (Debian's ``redis-server``; skipped, saying so, where it is missing)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
