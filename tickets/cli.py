"""``python -m tickets``: database, units, accounts, API keys and statistics from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tickets import auth, migrate, stats, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput, TicketError
from tickets.settings import Settings
from tickets.statuses import Role


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}h"


def cmd_migrate(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    migrate.upgrade(db.engine)
    print(
        f"数据库已是最新结构（{migrate.current(db.engine)}）：{db.engine.url.render_as_string(hide_password=True)}"
    )
    return 0


def cmd_load_units(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    with db.unit_of_work() as uow:
        created, updated = units.load_units(uow.session, Path(args.file))
        uow.commit()
    print(f"已导入单位：新增 {created}，更新 {updated}")
    return 0


def cmd_units_import_division(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """Write a units file for a real district from the division data (no database needed)."""
    from tickets.divisions import Divisions, units_yaml

    divisions = Divisions.load()
    text = units_yaml(divisions, args.code, grids_per_community=args.grids_per_community)
    district = divisions.get(args.code)
    towns = [d for d in divisions.children(district) if d.level == "town"]
    villages = sum(len(divisions.children(t)) for t in towns)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(
        f"已写出 {out}：{divisions.path(district)}，镇街 {len(towns)} 个，村居 {villages} 个，"
        f"每个村居 {args.grids_per_community} 个网格（请改名）。导入：python -m tickets load-units {out}"
    )
    return 0


def cmd_supervise(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """One run of the supervision clock: every item due at ``--now`` (default: now), in passes of
    ``PASS_LIMIT``; with ``--dry-run`` nothing is kept (each pass is rolled back)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from tickets.usecases import supervision

    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise InvalidInput(f"--now 不是 ISO 8601 时间：{args.now}") from None
        now = now.replace(tzinfo=domain.settings.timezone) if now.tzinfo is None else now
        now = now.astimezone(UTC)
        domain = replace(domain, clock=lambda: now)
    else:
        now = domain.clock()
    steps: list[supervision.Step] = []
    with db.unit_of_work() as uow:
        # A dry run is one transaction rolled back at the end: later steps planned by earlier ones
        # (a warning done plans the next) are listed too, as a real run would do them.
        while True:
            found = supervision.run_pass(uow.session, domain, now=now)
            steps.extend(found)
            if not args.dry_run:
                uow.commit()
            if not found:
                break
    for step in steps:
        if args.json:
            print(json.dumps({**step.as_json(), "dry_run": args.dry_run}, ensure_ascii=False))
        else:
            print(
                f"{step.outcome:9} {step.as_json()['label']:12} {step.ticket or '—':18} "
                f"{step.unit or '—':14} {step.detail.get('to') or ''}"
            )
    if not args.json:
        done = sum(1 for s in steps if s.outcome == "done")
        verb = "将执行" if args.dry_run else "已执行"
        print(f"{verb} {done} 项（共处理 {len(steps)} 项到期事项）", file=sys.stderr)
    return 0


def cmd_user_create(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    password = sys.stdin.readline().rstrip("\r\n")  # a Windows or piped "\r\n" is no part of it
    with db.unit_of_work() as uow:
        unit = domain.units(uow.session).get(args.unit) if args.unit else None
        person = auth.create_user(
            uow.session,
            username=args.username,
            password=password,
            role=Role(args.role),
            unit=unit,
            display_name=args.name or "",
            pii_access=args.pii,
        )
        if args.telegram_id is not None:
            from tickets.usecases.people import link_telegram

            link_telegram(uow.session, person, args.telegram_id)
        uow.commit()
    linked = f"，Telegram {args.telegram_id}" if args.telegram_id is not None else ""
    print(
        f"已创建账号 {person.username}（{person.role.label}{'，' + unit.name if unit else ''}{linked}）"
    )
    return 0


def cmd_user_link(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """Link an existing console account to a Telegram user (the id the bot shows for /id)."""
    from sqlalchemy import select

    from tickets.errors import NotFound
    from tickets.models import Person
    from tickets.usecases.people import link_telegram

    with db.unit_of_work() as uow:
        person = uow.session.scalar(select(Person).where(Person.username == args.username))
        if person is None:
            raise NotFound(f"没有账号 {args.username}")
        moved = link_telegram(uow.session, person, args.telegram_id)
        uow.commit()
    extra = f"；原居民身份的 {moved} 张工单已并入" if moved else ""
    print(
        f"已把账号 {args.username}（{person.role.label}）关联到 Telegram {args.telegram_id}{extra}"
    )
    return 0


def cmd_api_key_create(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    with db.unit_of_work() as uow:
        _, key = auth.create_api_key(uow.session, name=args.name)
        uow.commit()
    print(key)
    print("请妥善保存：此密钥只显示这一次。", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    tz = domain.settings.timezone
    period = stats.parse_period(args.period, tz, domain.clock())
    with db.session() as session:
        rows = stats.compute(
            session,
            period=period,
            by=args.by,
            tz=tz,
            response_limit_hours=domain.settings.response_limit_hours,
            urgent_response_limit_hours=domain.settings.urgent_response_limit_hours,
        )
        spots = stats.hotspots(session, period=period, limit=args.hotspots)
    if args.json:
        print(
            json.dumps(
                {
                    "period": period.label,
                    "rows": [r.as_dict() for r in rows],
                    "hotspots": [
                        s.__dict__ | {"last_report_at": s.last_report_at.isoformat()} for s in spots
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    names = {c.code: c.name for c in domain.taxonomy.categories}
    print(f"统计时段：{period.label}")
    header = (
        "维度",
        "诉求量",
        "受理量",
        "办结",
        "响应率",
        "办结率",
        "按时办结率",
        "满意率",
        "告知率",
        "平均响应",
        "平均办结",
    )
    print("\t".join(header))
    for r in rows:
        label = names.get(r.key, r.label) if args.by == "category" else r.label
        print(
            "\t".join(
                [
                    label,
                    str(r.filed),
                    str(r.accepted),
                    str(r.done),
                    _pct(r.response_rate),
                    _pct(r.completion_rate),
                    _pct(r.on_time_rate),
                    _pct(r.satisfaction_rate),
                    _pct(r.inform_rate),
                    _hours(r.mean_response_hours),
                    _hours(r.mean_resolution_hours),
                ]
            )
        )
    if spots:
        print("\n热点（类案）：")
        for s in spots:
            print(
                f"  {s.case_code}\t{names.get(s.category, s.category)}\t{s.reports} 次\t{s.title[:40]}"
            )
    return 0


def cmd_projects_list(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """民微实事 projects, newest first: one JSON object per line with ``--json``."""
    from tickets.usecases import projects

    with db.session() as session:
        rows = projects.list_projects(session, domain, unit_code=args.unit)
    for row in rows:
        if args.json:
            print(json.dumps(row.as_json(), ensure_ascii=False))
        else:
            print(
                f"{row.code}  {row.status_label:4}  {row.unit_name:8}  {row.budget:>12,.2f} 元  "
                f"赞成 {row.votes_for} 反对 {row.votes_against}  {row.title}"
            )
    if not args.json:
        print(f"共 {len(rows)} 个项目", file=sys.stderr)
    return 0


def cmd_report_card(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """The 成绩单 of a unit for a month or quarter (``--pdf FILE``: also as a printable PDF)."""
    from tickets import report_card, report_pdf
    from tickets.usecases import projects

    tz = domain.settings.timezone
    with db.session() as session:
        unit = domain.units(session).get(args.unit)
        period = report_card.parse_period(args.period, tz, domain.clock())
        card = report_card.of_unit(session, domain, unit, period)
        rows = projects.list_projects(session, domain, unit_code=unit.code)
    if args.pdf:
        pdf = report_pdf.render(card, rows, generated_at=domain.clock(), tz=tz)
        Path(args.pdf).write_bytes(pdf)
        print(f"已写入 {args.pdf}（{len(pdf):,} 字节）", file=sys.stderr)
    if args.json:
        print(json.dumps(card.as_json(), ensure_ascii=False))
        return 0
    print(f"{card.unit_name} {card.period.label} 成绩单")
    print(
        f"收集诉求 {card.demands}　办结率 {_pct(card.completion_rate)}　按时办结率 "
        f"{_pct(card.on_time_rate)}　满意率 {_pct(card.satisfaction_rate)}"
    )
    print(
        f"提议项目 {card.proposed}　立项 {card.approved}　完成 {card.finished}　不立项 "
        f"{card.rejected}　落实资金 {card.committed_fen / 100:,.2f} 元　已支出 {card.spent_fen / 100:,.2f} 元"
    )
    return 0


def cmd_demo(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """Load the demo data into the configured database (once: a second run changes nothing)."""
    from tickets import demo

    with db.unit_of_work() as uow:
        result = demo.load(uow.session, domain)
        uow.commit()
    if result.created:
        print(
            f"已载入演示数据：工单 {result.tickets} 张，需求 {result.needs} 条，"
            f"民微实事项目 {'、'.join(result.projects)}"
        )
    else:
        print("演示数据已存在，未做任何改动")
    return 0


def cmd_first_run(args: argparse.Namespace, db: Database, domain: Domain) -> int:
    """What ``make run`` does on a fresh embedded (SQLite) database: load the demo data and create a
    first district admin with a random password printed once. Does nothing on PostgreSQL or on a
    database that already has tickets or a console account."""
    import secrets

    from sqlalchemy import func, select

    from tickets import demo
    from tickets.models import Person, Ticket

    if db.dialect != "sqlite":
        return 0
    with db.unit_of_work() as uow:
        s = uow.session
        fresh = not s.scalar(select(func.count(Ticket.id)))
        has_account = bool(
            s.scalar(select(func.count(Person.id)).where(Person.username.is_not(None)))
        )
        lines = []
        if fresh and not has_account:
            result = demo.load(s, domain)
            if result.created:
                lines.append(
                    f"新数据库：已载入演示数据（幸福社区的工单、三张清单和民微实事项目 "
                    f"{'、'.join(result.projects)}），在控制台的“民微实事”“三张清单”“成绩单”中查看"
                )
        if not s.scalar(
            select(func.count(Person.id)).where(
                Person.role == Role.DISTRICT_ADMIN, Person.password_hash.is_not(None)
            )
        ):
            password = secrets.token_urlsafe(12)
            auth.create_user(
                s,
                username="admin",
                password=password,
                role=Role.DISTRICT_ADMIN,
                unit=None,
                display_name="区级管理员",
            )
            lines.append(
                f"已创建首个区级管理员：用户名 admin，密码 {password}（只显示这一次，请妥善保存）"
            )
        uow.commit()
    for line in lines:
        print(line)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tickets", description="民微工单管理命令")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(
        func=cmd_migrate
    )
    p = sub.add_parser(
        "load-units", help="load units (district → street → community → grid) from YAML"
    )
    p.add_argument("file")
    p.set_defaults(func=cmd_load_units)
    unit_cmds = sub.add_parser("units", help="unit trees").add_subparsers(
        dest="units_command", required=True
    )
    p = unit_cmds.add_parser(
        "import-division",
        help="write a units file for a real district from its 6-digit division code (e.g. 440113)",
    )
    p.add_argument("code", help="division code of the district or county (6 digits)")
    p.add_argument("--grids-per-community", type=_positive, default=1, metavar="N")
    p.add_argument("--out", required=True, help="the units file to write (YAML)")
    p.set_defaults(func=cmd_units_import_division)
    p = unit_cmds.add_parser("load", help="load units from YAML (the same as load-units)")
    p.add_argument("file")
    p.set_defaults(func=cmd_load_units)
    user = sub.add_parser("user", help="console accounts").add_subparsers(
        dest="user_command", required=True
    )
    p = user.add_parser("create", help="create an account; the password is read from stdin")
    p.add_argument("--username", required=True)
    p.add_argument(
        "--role", required=True, choices=[r.value for r in Role if r is not Role.RESIDENT]
    )
    p.add_argument("--unit", help="unit code (required below district level)")
    p.add_argument("--name", help="display name")
    p.add_argument(
        "--pii",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="may see phone/ID numbers (default: by role)",
    )
    p.add_argument(
        "--telegram-id",
        type=int,
        help="link the account to this Telegram user id (the bot's /id command shows it)",
    )
    p.set_defaults(func=cmd_user_create)
    p = user.add_parser(
        "link", help="link an account to a Telegram user id (staff buttons, /bind, /stats)"
    )
    p.add_argument("--username", required=True)
    p.add_argument("--telegram-id", type=int, required=True)
    p.set_defaults(func=cmd_user_link)
    keys = sub.add_parser("api-key", help="Open311 API keys").add_subparsers(
        dest="key_command", required=True
    )
    p = keys.add_parser("create", help="create a key and print it once")
    p.add_argument("name")
    p.set_defaults(func=cmd_api_key_create)
    p = sub.add_parser(
        "supervise",
        help="run the supervision clock once (warnings, 督办, 回访, auto-close …)",
        description="Do every due item of the supervision clock (data/supervision.yml) and print "
        "one line, or with --json one JSON object, per item.",
    )
    p.add_argument(
        "--now", help="act as if it were this time (ISO 8601; local time without offset)"
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be done, change nothing")
    p.add_argument("--json", action="store_true", help="one JSON object per item")
    p.set_defaults(func=cmd_supervise)
    project_cmds = sub.add_parser("projects", help="民微实事 projects").add_subparsers(
        dest="projects_command", required=True
    )
    p = project_cmds.add_parser("list", help="list projects (newest first)")
    p.add_argument("--unit", help="only projects in this unit's area (unit code)")
    p.add_argument("--json", action="store_true", help="one JSON object per project")
    p.set_defaults(func=cmd_projects_list)
    p = sub.add_parser("report-card", help="a unit's 成绩单 for a month or quarter")
    p.add_argument("--unit", required=True, help="unit code")
    p.add_argument("--period", default="month", help="2026-11, 2026-Q4, month or quarter")
    p.add_argument("--json", action="store_true")
    p.add_argument("--pdf", metavar="FILE", help="also write the printable PDF to FILE")
    p.set_defaults(func=cmd_report_card)
    sub.add_parser(
        "demo", help="load the demo district's demo data (tickets, cases, lists, projects) once"
    ).set_defaults(func=cmd_demo)
    sub.add_parser(
        "first-run",
        help="on a fresh SQLite database: load the demo and create a first admin (make run does it)",
    ).set_defaults(func=cmd_first_run)
    p = sub.add_parser("stats", help="print statistics")
    p.add_argument(
        "--period", default="month", help="today, week, month, 30d, 2026-11, 2026-11-01..2026-11-30"
    )
    p.add_argument("--by", default="total", choices=stats.DIMENSIONS)
    p.add_argument("--hotspots", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        domain = Domain.load(settings)
        db = Database(settings.database_url)
    except TicketError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, db, domain))
    except TicketError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
