"""The whole stack for end-to-end tests, started once per session: the real Rasa server with the trained
model, the real action server, the real bot process and a real SQLite database, with Telegram replaced by
a Bot API server on loopback (tests/support/fake_telegram.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer, free_port
from tests.support.rasa import environment
from tickets import migrate, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import DATA_DIR, Settings

STAFF_CHAT = -1009000001


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.timeout(600))


@dataclass
class Stack:
    telegram: FakeTelegram
    db: Database
    settings: Settings
    rasa: processes.Process
    actions: processes.Process
    bot: processes.Process
    workdir: Path
    expected_errors: set[str] = field(default_factory=set)

    def domain(self) -> Domain:
        return Domain.load(self.settings)

    def start_bot(self) -> None:
        calls = len(self.telegram.calls_to("getUpdates"))
        self.bot.start()
        if not self.telegram.wait_until(
            lambda: len(self.telegram.calls_to("getUpdates")) > calls, timeout=120
        ):
            raise RuntimeError(f"the bot did not start polling; see {self.bot.log}")

    def errors(self) -> list[str]:
        return [
            f"{p.name}: {line}"
            for p in (self.bot, self.actions, self.rasa)
            for line in p.errors()
            if not any(expected in line for expected in self.expected_errors)
        ]

    def expect_errors(self, *patterns: str) -> None:
        """Lines a fault the test causes makes a process log at ERROR (not a bug)."""
        self.expected_errors.update(patterns)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not processes.RASA_MODEL.exists():
        pytest.skip(f"no trained Rasa model at {processes.RASA_MODEL} (run `make train`)")
    workdir = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{workdir / 'minwei.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    telegram = FakeTelegram()
    telegram.group(STAFF_CHAT, "云溪区工作群")
    server = FakeTelegramServer(telegram).start()
    action_port = free_port()
    env = environment(url, STAFF_CHAT, action_port, token="123456:E2E-TOKEN")
    env.update(
        {
            "TELEGRAM_API_BASE_URL": server.base_url,
            "BOT_POLL_TIMEOUT": "2",
            "BOT_INBOX_POLL_SECONDS": "0.2",
            "BOT_OUTBOX_POLL_SECONDS": "0.2",
            "BOT_FORWARD_BURST_SECONDS": "1.5",
            "BOT_SEND_JOURNAL": str(workdir / "bot-outbox.journal"),
            # The fault test pushes hundreds of group messages; Telegram's 20 a minute per group
            # would make it wait minutes (the limiter itself is tested in tests/bot).
            "BOT_GROUP_MESSAGES_PER_MINUTE": "600",
        }
    )
    if os.environ.get("MINWEI_E2E_NLU_MODEL"):  # a model trained elsewhere (default: models/nlu)
        env["BOT_NLU_MODEL_DIR"] = os.environ["MINWEI_E2E_NLU_MODEL"]
    actions = processes.action_server(env, workdir, action_port)
    rasa = processes.rasa_server(env, workdir, action_port)
    env["RASA_URL"] = rasa.ready_url.rsplit("/", 1)[0]  # type: ignore[union-attr]
    actions.env["RASA_URL"] = env["RASA_URL"]  # the actions classify a whole report's story there
    bot = processes.bot(env, workdir)
    settings = Settings.from_env(environ=env, env_file=workdir / "none.env")
    e2e = Stack(telegram, db, settings, rasa, actions, bot, workdir)
    try:
        actions.start()
        rasa.start(timeout=400)
        e2e.start_bot()
        yield e2e
    finally:
        for process in (bot, rasa, actions):
            process.stop()
        server.stop()
        db.dispose()


@pytest.fixture
def e2e(stack: Stack) -> Iterator[Stack]:
    """The stack for one test, which must leave nothing logged at ERROR by any process."""
    before = len(stack.errors())
    if stack.bot.process is None or stack.bot.process.poll() is not None:
        stack.start_bot()
    yield stack
    assert stack.errors()[before:] == []
