"""The demo district's demo data (``python -m tickets demo``): residents' tickets in 幸福社区 that
cluster into cases, the three lists built from them, and two 民微实事 projects at different stages
(one being voted on, one being implemented), so a new user sees the feature without setting anything up.

Everything goes in one transaction and only when the demo is not there yet (its first project's title
marks it), so running it twice changes nothing. The units must be loaded (``load-units``) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets import services
from tickets.classification import Classification
from tickets.domain import Domain
from tickets.errors import NotFound
from tickets.geo import Point
from tickets.models import Need, Person, Project
from tickets.statuses import Role, Source
from tickets.usecases import lists, projects
from tickets.usecases.projects import Args, ProjectCommand

#: The demo's residents (Telegram ids no real account has: Telegram's are below 10^13).
RESIDENTS = {
    9_900_000_000_001 + i: name for i, name in enumerate(("陈姨", "黄伯", "阿珍", "李叔", "小梁"))
}
STAFF_USERNAME = "demo-xingfu"
FIRST_PROJECT = "幸福花园健身器材更新"

#: (resident index, text, category, place, the pin the resident also sent: demo coordinates near
#: 幸福社区's demo centre point, so the console's map has something to draw)
TICKETS: tuple[tuple[int, str, str, str, Point | None], ...] = (
    (0, "幸福花园的健身器材全部坏了，老人冇地方锻炼", "greening_space", "幸福花园", None),
    (1, "幸福花园健身器材坏咗好耐，冇人修", "greening_space", "幸福花园", Point(23.1294, 113.2638)),
    (2, "幸福花园里面的健身器材生锈坏了，小朋友玩好危险", "greening_space", "幸福花园", None),
    (
        3,
        "康乐楼的路灯一到夜晚就唔着，行路好惊",
        "road_facility",
        "康乐楼",
        Point(23.1283, 113.2655),
    ),
    (4, "康乐楼门口路灯坏咗成个礼拜", "road_facility", "康乐楼", Point(23.1284, 113.2653)),
    (0, "幸福花园老人家食饭唔方便，想有个长者饭堂", "elder_care", "幸福花园", None),
)


@dataclass(frozen=True)
class DemoResult:
    created: bool
    tickets: int = 0
    needs: int = 0
    projects: tuple[str, ...] = ()


def _classified(text: str, category: str, place: str) -> Classification:
    start = text.find(place)
    return Classification(
        is_demand=True,
        demand_confidence=0.95,
        category=category,
        category_confidence=0.9,
        ranking=[(category, 0.9)],
        locations=[{"text": place, "start": start, "end": start + len(place)}]
        if start >= 0
        else [],
        classifier_version="demo",
    )


def load(session: Session, domain: Domain) -> DemoResult:
    """Load the demo data unless it is there already."""
    if session.scalar(select(Project.id).where(Project.title == FIRST_PROJECT)) is not None:
        return DemoResult(created=False)
    tree = domain.units(session)
    try:
        community = tree.get("YX-SG-XF")
    except NotFound:
        raise NotFound(
            "演示数据需要示例区的单位：请先运行 python -m tickets load-units data/units.yml"
        ) from None
    staff = session.scalar(select(Person).where(Person.username == STAFF_USERNAME))
    if staff is None:
        staff = Person(
            username=STAFF_USERNAME,
            role=Role.COMMUNITY_STAFF,
            unit_id=community.id,
            display_name="幸福社区（演示）",  # no password: nobody signs in as the demo's actor
        )
        session.add(staff)
    people = {}
    for tg, name in RESIDENTS.items():
        p = session.scalar(select(Person).where(Person.telegram_user_id == tg))
        if p is None:
            p = Person(role=Role.RESIDENT, telegram_user_id=tg, display_name=name)
            session.add(p)
        people[tg] = p
    session.flush()
    residents = list(people.values())
    for index, text, category, place, pin in TICKETS:
        services.file_ticket(
            session=session,
            domain=domain,
            text=text,
            source=Source.PRIVATE,
            classification=_classified(text, category, place),
            reporter=residents[index],
            point=pin,
        )
    actor = staff
    needs = lists.needs_from_cases(session, domain, actor, community.code)
    lists.add_need(
        session,
        domain,
        actor,
        unit_code=community.code,
        category="elder_care",
        title="长者饭堂（居民问卷）",
        place="幸福花园",
        reporters=23,
        source="survey",
    )
    resource = lists.add_resource(
        session,
        domain,
        actor,
        unit_code=community.code,
        provider="幸福餐饮有限公司",
        provider_kind="company",
        what="长者午餐配送",
        place="幸福路 18 号",
        capacity="每天 80 份",
        contact="020-1234 5678",
        period="工作日 11:00–13:00",
    )
    lists.add_resource(
        session,
        domain,
        actor,
        unit_code=community.code,
        provider="石岗街道青年志愿者协会",
        provider_kind="volunteer",
        what="设施安装和维护志愿服务",
        capacity="每月 2 次",
        contact="志愿者队长 138****0000",
        period="周末",
    )
    lists.add_service(
        session,
        domain,
        actor,
        unit_code=community.code,
        title="长者饭堂",
        description="60 岁以上老人午餐，送餐上门",
        place="幸福社区党群服务中心",
        schedule="工作日 11:30",
        provider="幸福餐饮有限公司",
    )
    lists.add_service(
        session,
        domain,
        actor,
        unit_code=community.code,
        title="每月义诊",
        place="幸福社区卫生服务站",
        schedule="每月第一个周六上午",
        provider="云溪区卫生健康局",
    )
    fitness = next((n for n in needs if n.category == "greening_space"), None)
    lights = next((n for n in needs if n.category == "road_facility"), None)
    survey = lists.get_need(session, _survey_code(session))
    lists.match(session, domain, actor, need_code=survey.code, resource_code=resource.code)
    first = projects.propose(
        session,
        domain,
        actor=actor,
        title=FIRST_PROJECT,
        unit_code=community.code,
        description="更换幸福花园内损坏的健身器材 12 件，加装防滑地垫",
        place="幸福花园中心广场",
        category="greening_space",
        estimated="38000",
        funding_source="民生微实事专项资金",
        need_codes=[fitness.code] if fitness else [],
    )
    for command, args in (
        (ProjectCommand.DELIBERATE, Args()),
        (
            ProjectCommand.MEETING,
            Args(
                held_on=(domain.clock() - timedelta(days=3)).date().isoformat(),
                participants="社区党委、居民代表 8 人、物业公司",
                decision="同意提交居民表决",
            ),
        ),
        (ProjectCommand.OPEN_VOTE, Args()),
    ):
        projects.perform(session, domain, first, command, actor, args)
    second = projects.propose(
        session,
        domain,
        actor=actor,
        title="康乐楼路灯改造",
        unit_code=community.code,
        description="更换康乐楼周边 6 盏路灯为 LED 灯",
        place="康乐楼",
        category="road_facility",
        estimated="15000",
        funding_source="社区公益金",
        need_codes=[lights.code] if lights else [],
    )
    for command, args in (
        (ProjectCommand.DELIBERATE, Args()),
        (ProjectCommand.OPEN_VOTE, Args()),
        (ProjectCommand.APPROVE, Args(budget="14500")),
        (ProjectCommand.START, Args()),
        (ProjectCommand.UPDATE, Args(milestone="采购", text="LED 灯具已采购", spent="6200")),
    ):
        projects.perform(session, domain, second, command, actor, args)
    return DemoResult(
        created=True, tickets=len(TICKETS), needs=len(needs) + 1, projects=(first.code, second.code)
    )


def _survey_code(session: Session) -> str:
    code = session.scalar(select(Need.code).where(Need.source == "survey").order_by(Need.id.desc()))
    assert code is not None
    return code
