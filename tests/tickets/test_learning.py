"""Staff corrections become training examples (PII masked, who/when, optional second person), the next
retrain trains on them and records the version; rollback is audit-logged; the weekly retrain is
planned on the supervision clock."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from nlu.data import load_examples, split
from nlu.registry import Registry, read_active
from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import learning, services, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import DueItem, ModelEvent, ModelVersion, Person
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Role
from tickets.usecases import supervision


def _tiny(which: str, per_intent: int) -> list:
    seen: dict[str, int] = {}
    out = []
    for ex in split(load_examples(), which):
        if seen.get(ex.intent, 0) < per_intent:
            seen[ex.intent] = seen.get(ex.intent, 0) + 1
            out.append(ex)
    return out


def test_a_reclassification_is_a_masked_training_example_with_who_and_when(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.STREET_STAFF, unit="YX-SG", domain=domain, name="李主任")
        text = "东风市场门口成日有货车乱停，堵住晒，打我电话13812345678"
        ticket = file(s, domain, text, "sanitation", locations=["东风市场"])
        services.reclassify(
            session=s, domain=domain, ticket=ticket, category="parking", actor=staff
        )
        s.flush()
        examples = learning.correction_examples(s)
    assert len(examples) == 1
    ex = examples[0]
    assert ex.intent == "demand_parking" and not ex.urgent
    assert "13812345678" not in ex.text and len(ex.text) == len(text)
    assert ex.text[ex.locations[0][0] : ex.locations[0][1]] == "东风市场"
    assert ex.markup.startswith("[东风市场](location)门口")
    assert "李主任" in ex.source and "staff" in ex.source and "2026-11-23" in ex.source


def test_with_confirmation_required_a_label_counts_once_two_people_gave_it(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        first = person(s, Role.DISTRICT_ADMIN, name="甲")
        second = person(s, Role.GRID_MEMBER, name="乙")
        ticket = file(s, domain, "2栋门口有人乱停车堵住消防通道", "sanitation")
        services.reclassify(
            session=s, domain=domain, ticket=ticket, category="parking", actor=first
        )
        s.flush()
        assert learning.correction_examples(s, require_confirmation=True) == []
        assert len(learning.correction_examples(s)) == 1
        # A second person (a grid member's 确认分类 button) gives the same label.
        services.record_feedback(
            session=s,
            domain=domain,
            text=ticket.original_text,
            predicted={"is_demand": True, "category": "parking"},
            corrected={"is_demand": True, "category": "parking", "urgent": False},
            actor=second,
            source="grid_member",
            ticket=ticket,
        )
        s.flush()
        confirmed = learning.correction_examples(s, require_confirmation=True)
    assert [ex.intent for ex in confirmed] == ["demand_parking"]


def test_a_staff_correction_is_in_the_next_retrain_and_rollback_is_logged(
    sqlite_db: Database, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=DATA_DIR,
        model_registry=tmp_path / "registry",
        learning_tolerance=1.0,
    )
    domain = Domain.load(settings, clock=Clock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC)))
    with sqlite_db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    shipped, frozen = _tiny("train", 8), [ex.as_record() for ex in _tiny("test", 4)]
    with sqlite_db.unit_of_work() as uow:
        s = uow.session
        admin = person(s, Role.DISTRICT_ADMIN, name="区管理员")
        first = learning.retrain(
            s,
            settings,
            actor=admin,
            now=domain.clock(),
            shipped=shipped,
            eval_records=frozen,
            seed=False,
        )
        uow.commit()
    with sqlite_db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.STREET_STAFF, unit="YX-SG", domain=domain, name="李主任")
        ticket = file(
            s, domain, "东风市场门口成日有货车乱停，堵住晒", "sanitation", locations=["东风市场"]
        )
        services.reclassify(
            session=s, domain=domain, ticket=ticket, category="parking", actor=staff
        )
        uow.commit()
    with sqlite_db.unit_of_work() as uow:
        second = learning.retrain(
            uow.session,
            settings,
            actor=None,
            label="命令行",
            now=domain.clock(),
            shipped=shipped,
            eval_records=frozen,
            seed=False,
        )
        uow.commit()
    assert second.promoted and second.corrections_used == 1
    registry = Registry.open(settings.model_registry)
    kept = [
        json.loads(line)
        for line in (registry.path(second.candidate) / "corrections.jsonl").read_text().splitlines()
    ]
    assert [(k["text"], k["category"]) for k in kept] == [
        ("东风市场门口成日有货车乱停，堵住晒", "parking")
    ]
    assert read_active(registry.root) == second.candidate
    with sqlite_db.unit_of_work() as uow:
        s = uow.session
        admin = s.scalars(select(Person).where(Person.display_name == "区管理员")).one()
        learning.rollback(s, settings, first.candidate, actor=admin, label="", now=domain.clock())
        uow.commit()
    assert read_active(registry.root) == first.candidate
    with sqlite_db.session() as s:
        versions = {v.version: v for v in s.scalars(select(ModelVersion))}
        kinds = [(e.kind, e.version, e.actor_label) for e in s.scalars(select(ModelEvent))]
        assert versions[second.candidate].status == "promoted"
        assert versions[second.candidate].corrections == 1
        assert versions[second.candidate].figures == second.candidate_figures
    assert kinds == [
        ("promoted", first.candidate, "区管理员"),
        ("promoted", second.candidate, "命令行"),
        ("rolled_back", first.candidate, "区管理员"),
    ]


def test_the_weekly_retrain_is_planned_and_started_on_the_supervision_clock(
    db: Database, domain: Domain, clock: Clock, tmp_path: Path
) -> None:
    assert domain.rules.retrain_every is not None and str(domain.rules.retrain_every) == "7d"
    domain = dataclasses.replace(
        domain, settings=dataclasses.replace(domain.settings, model_registry=tmp_path / "reg")
    )
    with db.unit_of_work() as uow:
        supervision.run_pass(uow.session, domain)
        assert uow.session.scalar(select(DueItem).where(DueItem.kind == "retrain")) is None
        services.record_feedback(  # a correction: now there is something to learn from
            session=uow.session,
            domain=domain,
            text="楼道灯坏咗成个礼拜",
            predicted={"is_demand": False},
            corrected={"is_demand": True, "category": "streetlight", "urgent": False},
            actor="review",
            source="review",
        )
        supervision.run_pass(uow.session, domain)
        supervision.run_pass(uow.session, domain)  # planned once
        uow.commit()
    with db.session() as s:
        rows = s.scalars(select(DueItem).where(DueItem.kind == "retrain")).all()
        assert len(rows) == 1 and rows[0].status == "pending"
        assert rows[0].due_at == clock() + timedelta(days=7)
    clock.advance(days=7, minutes=1)
    with db.unit_of_work() as uow:
        steps = supervision.run_pass(uow.session, domain)
        uow.commit()
    try:
        assert [(st.kind, st.outcome, st.detail) for st in steps] == [
            ("retrain", "done", {"started": True, "feedback_id": 1})
        ]
        with db.session() as s:
            event = s.scalars(select(ModelEvent)).one()
            assert (event.kind, event.actor_label) == ("requested", "每周自动再训练")
            # Learned up to that correction: nothing new, so no next retrain planned yet …
            pending = select(DueItem).where(DueItem.status == "pending", DueItem.kind == "retrain")
            assert s.scalars(pending).all() == []
        assert learning.running(domain.settings)
        with db.unit_of_work() as uow:
            services.record_feedback(
                session=uow.session,
                domain=domain,
                text="3栋门口有车乱停",
                predicted={"is_demand": False},
                corrected={"is_demand": True, "category": "parking", "urgent": False},
                actor="review",
                source="review",
            )
            supervision.run_pass(uow.session, domain)
            pending = uow.session.scalars(
                select(DueItem).where(DueItem.kind == "retrain", DueItem.status == "pending")
            ).one()
            # … until a new correction: a week after the last one.
            assert pending.due_at == clock() - timedelta(minutes=1) + timedelta(days=7)
            uow.commit()
    finally:
        # The retrain process this test started: stop it rather than train for minutes.
        assert learning.stop_retrain(domain.settings)
        assert not learning.running(domain.settings)
