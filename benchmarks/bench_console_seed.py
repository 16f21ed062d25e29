"""Seed a database with many realistic tickets quickly (bulk inserts), for the console benchmark.

Texts are the demand examples of ``data/nlu/`` (markup removed) with a place of the demo district and a
building number added, so the search index sees varied, realistic Chinese. Dates spread over two years;
old tickets are mostly closed, recent ones mostly open; every ticket belongs to a case (个案到类案).
Ticket events and outbox rows are not seeded: no benchmarked page reads them.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter as Tally
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import insert, select, text

from nlu.pii import redact
from tickets import search, units
from tickets.auth import create_user
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Case, Person, Ticket
from tickets.routing import route
from tickets.settings import DATA_DIR
from tickets.statuses import HandlingMode, Role, Satisfaction, Source, Status

BATCH = 5_000
DAYS = 730
_MARKUP = re.compile(r"\[([^\]]+)\]\(location\)")
PASSWORD = "bench-password-123"


def demand_texts() -> list[tuple[str, str]]:
    """(category, text) for every demand example in data/nlu."""
    found = []
    for path in sorted((DATA_DIR / "nlu").glob("demand_*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in doc.get("nlu", []):
            intent = block.get("intent", "")
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.append((intent.removeprefix("demand_"), _MARKUP.sub(r"\1", line[2:])))
    if not found:
        raise SystemExit("no demand examples found under data/nlu")
    return found


def seed(db: Database, domain: Domain, count: int, *, now: datetime, rng_seed: int = 7) -> None:
    """Insert ``count`` tickets (and their cases and reporters) with bulk inserts."""
    rng = random.Random(rng_seed)
    started = time.perf_counter()
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    with db.session() as session:
        tree = domain.units(session)
    grids = [u for u in tree.by_id.values() if u.level == "grid"]
    places = [(g, p) for g in grids for p in g.places]
    texts = demand_texts()
    taxonomy = domain.taxonomy
    routes = {(c.code, g.id): route(tree, c, g) for c in taxonomy.categories for g in grids}
    tz = domain.settings.timezone

    with db.engine.begin() as conn:
        people = [
            {
                "role": Role.RESIDENT.value,
                "display_name": f"居民{i}",
                "telegram_user_id": 10_000_000 + i,
                "failed_logins": 0,
                "created_at": now - timedelta(days=DAYS),
                "active": True,
            }
            for i in range(max(100, count // 20))
        ]
        for i in range(0, len(people), BATCH):
            conn.execute(insert(Person.__table__), people[i : i + BATCH])
        first_person = conn.execute(text("SELECT min(id) FROM people")).scalar_one()
    resident_ids = range(first_person, first_person + len(people))

    # Creation times, oldest first, with more tickets in recent months.
    moments = sorted(now - timedelta(days=DAYS * rng.random() ** 1.3) for _ in range(count))
    open_cases: dict[tuple[str, int], tuple[int, datetime]] = {}
    case_rows: list[dict[str, Any]] = []
    reports: Tally[int] = Tally()
    daily: Tally[str] = Tally()
    next_case = 1
    ticket_id = 0
    with db.engine.begin() as conn:
        rows: list[dict[str, Any]] = []
        for created in moments:
            ticket_id += 1
            category, body = rng.choice(texts)
            grid, place = rng.choice(places)
            building = f"{place}{rng.randint(1, 40)}栋" if rng.random() < 0.6 else place
            original = f"{building}：{body}" if rng.random() < 0.5 else f"{body}（{building}）"
            urgent = rng.random() < 0.03
            cat = taxonomy.get(category)
            mode = HandlingMode.IMMEDIATE if urgent else cat.handling_mode
            age_days = (now - created).total_seconds() / 86400
            status = _status(rng, age_days)
            community = tree.area_at(grid, "community") or grid
            key = (category, community.id)
            case = open_cases.get(key)
            if case is None or (created - case[1]).days > 14 or rng.random() < 0.35:
                case_id = next_case
                next_case += 1
                case_rows.append(
                    {
                        "id": case_id,
                        "code": f"CS-{created.astimezone(tz):%Y%m%d}-{case_id:07d}",
                        "category": category,
                        "area_id": community.id,
                        "title": redact(original)[:80],
                        "is_open": True,
                        "report_count": 0,
                        "created_at": created,
                        "last_report_at": created,
                    }
                )
            else:
                case_id = case[0]
            open_cases[key] = (case_id, created)
            reports[case_id] += 1
            case_rows[case_id - 1]["last_report_at"] = created
            day = f"{created.astimezone(tz):%Y%m%d}"
            daily[day] += 1
            due = created + (
                timedelta(hours=taxonomy.immediate_hours)
                if urgent
                else timedelta(days=cat.time_limit_days * 7 / 5)
            )
            responded = status is not Status.NEW
            first_response = created + timedelta(hours=rng.uniform(0.1, 30)) if responded else None
            done = status in (Status.RESOLVED, Status.CLOSED)
            resolved = (
                min(now, created + timedelta(hours=rng.uniform(2, 24 * 12))) if done else None
            )
            rated = done and rng.random() < 0.6
            satisfaction = (
                rng.choices(list(Satisfaction), weights=(60, 25, 15))[0].value if rated else None
            )
            reporter = rng.choice(resident_ids) if rng.random() < 0.7 else None
            unit = routes[(category, grid.id)]
            redacted = redact(original)
            rows.append(
                {
                    "id": ticket_id,
                    "code": f"MW-{day}-{daily[day]:04d}",
                    "source": rng.choices(list(Source), weights=(40, 30, 20, 5, 5))[0].value,
                    "status": status.value,
                    "reporter_id": reporter,
                    "original_text": original,
                    "redacted_text": redacted,
                    "search_text": search.search_text(redacted),
                    "demand_confidence": round(rng.uniform(0.6, 1.0), 3),
                    "category": category,
                    "category_confidence": round(rng.uniform(0.3, 1.0), 3),
                    "ranking": [[category, 0.9]],
                    "urgent": urgent,
                    "handling_mode": mode.value,
                    "locations": [{"text": building, "start": 0, "end": len(building)}],
                    "location_text": building,
                    "area_id": grid.id,
                    "unit_id": unit.id if unit else None,
                    "case_id": case_id,
                    "classifier_version": "bench",
                    "needs_review": rng.random() < 0.02 and status is Status.NEW,
                    "attachments": [],
                    "created_at": created,
                    "updated_at": resolved or first_response or created,
                    "first_response_at": first_response,
                    "due_at": due,
                    "resolved_at": resolved,
                    "closed_at": resolved if status is Status.CLOSED else None,
                    "satisfaction": satisfaction,
                    "accept_notified_at": first_response if reporter and responded else None,
                    "result_notified_at": resolved if reporter and done else None,
                }
            )
            if len(rows) == BATCH:
                _flush(conn, case_rows, rows)
        _flush(conn, case_rows, rows)
        _flush_cases(conn, case_rows, len(case_rows))
        conn.execute(
            text(
                "UPDATE cases SET report_count = (SELECT count(*) FROM tickets t WHERE t.case_id = cases.id)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO counters (scope, day, value) SELECT 'ticket', substr(code, 4, 8), "
                "count(*) FROM tickets GROUP BY substr(code, 4, 8)"
            )
        )
    with db.unit_of_work() as uow:
        for username, role, unit in (
            ("bench_admin", Role.DISTRICT_ADMIN, None),
            ("bench_street", Role.STREET_STAFF, "YX-SG"),
            ("bench_community", Role.COMMUNITY_STAFF, "YX-SG-XF"),
            ("bench_grid", Role.GRID_MEMBER, "YX-SG-XF-01"),
        ):
            create_user(
                uow.session,
                username=username,
                password=PASSWORD,
                role=role,
                unit=tree.get(unit) if unit else None,
            )
        uow.commit()
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(
        f"  seeded {count:,} tickets, {len(case_rows):,} cases in {time.perf_counter() - started:.0f} s"
    )


_cases_written = 0


def _flush(conn: Any, case_rows: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    _flush_cases(conn, case_rows, max(r["case_id"] for r in rows))
    conn.execute(insert(Ticket.__table__), rows)
    rows.clear()


def _flush_cases(conn: Any, case_rows: list[dict[str, Any]], upto: int) -> None:
    global _cases_written
    if upto > _cases_written:
        conn.execute(insert(Case.__table__), case_rows[_cases_written:upto])
        _cases_written = upto


def _status(rng: random.Random, age_days: float) -> Status:
    roll = rng.random()
    if roll < 0.03:
        return Status.REJECTED
    if roll < 0.05:
        return Status.MERGED
    done = min(0.97, age_days / 12)
    if rng.random() < done:
        return Status.CLOSED if rng.random() < 0.7 or age_days > 30 else Status.RESOLVED
    return rng.choice(
        [Status.NEW, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.REOPENED]
    )


def reset_case_counter() -> None:
    global _cases_written
    _cases_written = 0


def seeded(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 0)


__all__ = ["PASSWORD", "reset_case_counter", "seed", "seeded"]


def _main() -> None:  # pragma: no cover - manual use
    import argparse

    from tickets import migrate
    from tickets.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    db = Database(args.url)
    migrate.upgrade(db.engine)
    domain = Domain.load(Settings(database_url=args.url, data_dir=DATA_DIR))
    seed(db, domain, args.tickets, now=datetime.now(UTC))
    db.dispose()


if __name__ == "__main__":  # pragma: no cover
    _main()
