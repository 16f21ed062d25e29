"""Scripted conversations (tests/data/*.yml) played against the running stack.

A script names its people and groups, then lists steps; each step is one mapping:

- ``say: 文本`` (``as: person``, ``in: group`` for a group message)
- ``pin: [纬度, 经度]`` a Telegram location pin (``title:`` makes it a venue), ``as:``/``in:`` as for say
- ``press: 按钮`` under the latest message in ``chat:`` (the person's private chat by default, ``staff``)
- ``reply: 文本`` to the latest bot message in ``chat:`` containing ``to:``
- ``forward: [{from: person | "hidden:名字", text: …}, …]`` forwarded by ``as:`` in one burst
- ``expect: [子串, …]`` a new message to ``chat:`` (a person, a group, ``staff``) containing all of them
  (``edited: true``: a message the bot edited)
- ``silence: seconds`` nothing new was sent to ``chat:``
- ``tickets: {…}`` the tickets matching ``where`` (reporter, forwarder, source, chat): ``count`` /
  ``max_count``, ``each`` (in order) and ``includes`` (somewhere among them) with these values
- ``seed: {…}`` people (with roles), group bindings and tickets written straight to the database
- ``bot: kill | stop | start`` crash, stop or start the bot process
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from tests.e2e.conftest import STAFF_CHAT, Stack
from tickets import services
from tickets.classification import Classification
from tickets.domain import Domain
from tickets.models import ChatBinding, Person, Ticket, utcnow
from tickets.statuses import Role, Source

TIMEOUT = 60.0


@dataclass
class Script:
    path: Path
    title: str
    people: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    steps: list[dict[str, Any]]

    @classmethod
    def load(cls, path: Path) -> Script:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(path, doc["title"], doc.get("people", {}), doc.get("groups", {}), doc["steps"])


@dataclass
class Runner:
    stack: Stack
    script: Script
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    chats: dict[str, int] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        telegram = self.stack.telegram
        for name, p in self.script.people.items():
            self.users[name] = telegram.user(p["id"], p.get("name", name), p.get("username"))
            self.chats[name] = p["id"]
            role = Role(p.get("role", "resident"))
            if role is not Role.RESIDENT:
                self._seed_person(p["id"], role, p.get("unit"), p.get("name", name))
        for name, g in self.script.groups.items():
            telegram.group(g["id"], g["title"])
            self.chats[name] = g["id"]
        self.chats["staff"] = STAFF_CHAT
        for chat_id in self.chats.values():
            self.seen[chat_id] = len(telegram.sent(chat_id))

    def run(self) -> None:
        for n, step in enumerate(self.script.steps, 1):
            kind = next(k for k in STEPS if k in step)
            try:
                getattr(self, "_" + kind)(step)
            except AssertionError as e:
                raise AssertionError(f"{self.script.path.name} step {n} {step}: {e}") from None

    # ------------------------------------------------------------------ what people do

    def _chat(self, step: dict[str, Any], key: str = "in") -> dict[str, Any]:
        name = step.get(key)
        if name is None:
            return self.stack.telegram.chats[self.users[step["as"]]["id"]]
        return self.stack.telegram.chats[self.chats[name]]

    def _say(self, step: dict[str, Any]) -> None:
        self.stack.telegram.message(self.users[step["as"]], str(step["say"]), chat=self._chat(step))

    def _pin(self, step: dict[str, Any]) -> None:
        lat, lng = step["pin"]
        where = {"latitude": float(lat), "longitude": float(lng)}
        extra: dict[str, Any] = {"location": where}
        if step.get("title"):
            extra["venue"] = {"location": where, "title": step["title"], "address": ""}
        self.stack.telegram.message(self.users[step["as"]], None, chat=self._chat(step), **extra)

    def _press(self, step: dict[str, Any]) -> None:
        chat_id = self.chats[step.get("chat", step["as"])]
        label = step["press"]
        deadline = time.monotonic() + TIMEOUT
        while True:
            candidates = [
                m
                for m in reversed(self.stack.telegram.sent(chat_id))
                if any(
                    b["text"] == label
                    for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                    for b in row
                )
            ]
            if candidates:
                break
            assert time.monotonic() < deadline, f"no button {label!r} in chat {chat_id}"
            time.sleep(0.1)
        self.stack.telegram.press(self.users[step["as"]], candidates[0], label)

    def _reply(self, step: dict[str, Any]) -> None:
        chat_id = self.chats[step.get("chat", step["as"])]
        message = self.stack.telegram.wait_for_message(chat_id, step["to"], timeout=TIMEOUT)
        self.stack.telegram.reply_to(self.users[step["as"]], message, step["reply"])

    def _forward(self, step: dict[str, Any]) -> None:
        when = int(time.time()) - 3600
        for n, item in enumerate(step["forward"]):
            origin = item["from"]
            if origin.startswith("hidden:"):
                source: dict[str, Any] = {"type": "hidden_user", "sender_user_name": origin[7:]}
            elif origin.startswith("channel:"):
                source = {
                    "type": "channel",
                    "chat": {"id": -100555, "type": "channel", "title": origin[8:]},
                    "message_id": 1,
                }
            else:
                source = {"type": "user", "sender_user": self.users[origin]}
            self.stack.telegram.forward(
                self.users[step["as"]],
                item["text"],
                source,
                date=when + item.get("minute", n * 5) * 60,
            )

    # ------------------------------------------------------------------ what we expect

    def _expect(self, step: dict[str, Any]) -> None:
        chat_id = self.chats[step["chat"]]
        wanted = step["expect"] if isinstance(step["expect"], list) else [step["expect"]]
        telegram = self.stack.telegram
        found: list[dict[str, Any]] = []

        edited = bool(step.get("edited"))

        def arrived() -> bool:
            sent = telegram.sent(chat_id)
            fresh = [m for m in sent if "edit_date" in m] if edited else sent[self.seen[chat_id] :]
            found[:] = [m for m in fresh if all(w in m.get("text", "") for w in wanted)]
            return bool(found)

        if not telegram.wait_until(arrived, timeout=step.get("timeout", TIMEOUT)):
            fresh = telegram.texts(chat_id)[self.seen[chat_id] :]
            raise AssertionError(f"expected a message with {wanted}; the bot sent {fresh}")
        if not edited:
            self.seen[chat_id] = telegram.sent(chat_id).index(found[0]) + 1

    def _silence(self, step: dict[str, Any]) -> None:
        chat_id = self.chats[step["chat"]]
        time.sleep(float(step["silence"]))
        fresh = self.stack.telegram.texts(chat_id)[self.seen[chat_id] :]
        assert fresh == [], f"expected silence in {step['chat']}, the bot sent {fresh}"

    def _tickets(self, step: dict[str, Any]) -> None:
        spec = step["tickets"]
        deadline = time.monotonic() + spec.get("timeout", TIMEOUT)
        while True:
            problems = self._check_tickets(spec)
            if not problems:
                return
            assert time.monotonic() < deadline, problems
            time.sleep(0.3)

    def _check_tickets(self, spec: dict[str, Any]) -> str:
        where = spec.get("where", {})
        with self.stack.db.session() as s:
            stmt = select(Ticket)
            if "reporter" in where:
                stmt = stmt.join(Person, Person.id == Ticket.reporter_id).where(
                    Person.telegram_user_id == self.users[where["reporter"]]["id"]
                )
            if "forwarder" in where:
                forwarder = s.scalar(
                    select(Person.id).where(
                        Person.telegram_user_id == self.users[where["forwarder"]]["id"]
                    )
                )
                stmt = stmt.where(Ticket.forwarder_id == forwarder)
            if "source" in where:
                stmt = stmt.where(Ticket.source == Source(where["source"]))
            if "chat" in where:
                stmt = stmt.where(Ticket.chat_id == self.chats[where["chat"]])
            tickets = list(s.scalars(stmt.order_by(Ticket.id)))
            found = f"{len(tickets)} tickets: {[t.original_text for t in tickets]}"
            if "count" in spec and len(tickets) != spec["count"]:
                return found
            if "max_count" in spec and len(tickets) > spec["max_count"]:
                return found
            for n, expected in enumerate(spec.get("each", [])):
                if n >= len(tickets):
                    return f"only {found}"
                problem = _mismatch(tickets[n], expected)
                if problem:
                    return problem
            for expected in spec.get("includes", []):
                if all(_mismatch(t, expected) for t in tickets):
                    return f"no ticket with {expected}; {found}"
        return ""

    # ------------------------------------------------------------------ setting the scene

    def _seed_person(self, telegram_id: int, role: Role, unit: str | None, name: str) -> None:
        with self.stack.db.unit_of_work() as uow:
            existing = uow.session.scalar(
                select(Person).where(Person.telegram_user_id == telegram_id)
            )
            if existing is None:
                unit_id = self.stack.domain().units(uow.session).get(unit).id if unit else None
                uow.session.add(
                    Person(
                        role=role, telegram_user_id=telegram_id, unit_id=unit_id, display_name=name
                    )
                )
                uow.commit()

    def _seed(self, step: dict[str, Any]) -> None:
        seed = step["seed"]
        if "binding" in seed:
            b = seed["binding"]
            with self.stack.db.unit_of_work() as uow:
                grid = self.stack.domain().units(uow.session).get(b["grid"])
                uow.session.add(
                    ChatBinding(chat_id=self.chats[b["group"]], title="", grid_id=grid.id)
                )
                uow.commit()
        if "ticket" in seed:
            self._seed_ticket(seed["ticket"])

    def _seed_ticket(self, t: dict[str, Any]) -> None:
        days_ago = float(t.get("days_ago", 0))
        domain: Domain = self.stack.domain()
        domain.clock = lambda: utcnow() - timedelta(days=days_ago)
        with self.stack.db.unit_of_work() as uow:
            s = uow.session
            uid = self.users[t["reporter"]]["id"]
            reporter = s.scalar(select(Person).where(Person.telegram_user_id == uid))
            if reporter is None:
                reporter = Person(
                    role=Role.RESIDENT, telegram_user_id=uid, display_name=t["reporter"]
                )
                s.add(reporter)
                s.flush()
            text = t["text"]
            spans = [
                {"text": loc, "start": text.find(loc), "end": text.find(loc) + len(loc)}
                for loc in t.get("locations", [])
            ]
            ticket = services.file_ticket(
                session=s,
                domain=domain,
                text=text,
                source=Source.PRIVATE,
                classification=Classification(
                    True, 0.95, t["category"], 0.9, [(t["category"], 0.9)], False, spans, "seed"
                ),
                reporter=reporter,
            )
            for action in t.get("then", []):
                domain.clock = utcnow
                if action == "accept":
                    services.accept(session=s, domain=domain, ticket=ticket, actor="工作人员")
                elif action.startswith("note:"):
                    services.add_note(
                        session=s,
                        domain=domain,
                        ticket=ticket,
                        text=action[5:],
                        actor="工作人员",
                        tell_resident=True,
                    )
                elif action.startswith("resolve:"):
                    services.resolve(
                        session=s, domain=domain, ticket=ticket, note=action[8:], actor="工作人员"
                    )
            uow.commit()

    def _bot(self, step: dict[str, Any]) -> None:
        what = step["bot"]
        if what == "kill":
            self.stack.bot.kill()
        elif what == "stop":
            self.stack.bot.stop()
        else:
            self.stack.start_bot()


def _mismatch(t: Ticket, expected: dict[str, Any]) -> str:
    """Why ticket ``t`` does not have the ``expected`` values ("" when it does)."""
    for key, value in expected.items():
        if key.endswith("_contains"):
            actual = str(getattr(t, key.removesuffix("_contains")) or "")
            if value not in actual:
                return f"ticket {t.code} {key}: {value!r} not in {actual!r}"
        elif key == "origin":
            if t.origin_label != value:
                return f"ticket {t.code} origin {t.origin_label!r} != {value!r}"
        else:
            actual = getattr(t, key)
            actual = getattr(actual, "value", actual)
            if actual != value:
                return f"ticket {t.code} {key}: {actual!r} != {value!r}"
    return ""


STEPS = ("say", "pin", "press", "reply", "forward", "expect", "silence", "tickets", "seed", "bot")
