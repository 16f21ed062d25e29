"""Console fixtures: the real application on the test database (SQLite and PostgreSQL), staff accounts of
each role, a signed-in client per role, and a classifier that follows the NLU pipeline's contract."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its test client; httpx (already locked) works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from console.app import create_app
from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import auth
from tickets.classification import Classification
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Ticket
from tickets.settings import Settings
from tickets.statuses import Role

PASSWORD = "correct horse battery"

#: username → (role, unit code)
STAFF: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.DISTRICT_ADMIN, None),
    "street": (Role.STREET_STAFF, "YX-SG"),
    "xingfu": (Role.COMMUNITY_STAFF, "YX-SG-XF"),
    "cuihu": (Role.COMMUNITY_STAFF, "YX-SG-CH"),
    "grid1": (Role.GRID_MEMBER, "YX-SG-XF-01"),
}


class KeywordClassifier:
    """Stands in for ``nlu.pipeline`` (same contract: one text in, a Classification out)."""

    RULES = (("电梯", "elevator"), ("垃圾", "sanitation"), ("路灯", "road_facility"))

    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify(self, text: str) -> Classification:
        self.seen.append(text)
        category = next((c for word, c in self.RULES if word in text), None)
        places = [p for p in ("幸福花园", "康乐楼", "翠湖花园") if p in text]
        return Classification(
            is_demand=category is not None,
            demand_confidence=0.9 if category else 0.1,
            category=category,
            category_confidence=0.8 if category else 0.0,
            ranking=[(category, 0.8)] if category else [],
            urgent="困" in text,
            locations=[
                {"text": p, "start": text.find(p), "end": text.find(p) + len(p)} for p in places
            ],
            classifier_version="keywords-test",
        )


@pytest.fixture
def classifier() -> KeywordClassifier:
    return KeywordClassifier()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """argon2 is slow on purpose: hash the test password once per session."""
    return auth.hash_password(PASSWORD)


@pytest.fixture
def staff(db: Database, domain: Domain, password_hash: str) -> dict[str, int]:
    """One account per role (password ``PASSWORD``); returns person ids by username."""
    ids = {}
    with db.unit_of_work() as uow:
        tree = domain.units(uow.session)
        for username, (role, unit) in STAFF.items():
            p = Person(
                username=username,
                password_hash=password_hash,
                role=role,
                unit_id=tree.get(unit).id if unit else None,
                display_name=username,
            )
            uow.session.add(p)
            uow.session.flush()
            ids[username] = p.id
        uow.commit()
    return ids


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return Settings(
        database_url=settings.database_url,
        staff_chat_id=settings.staff_chat_id,
        data_dir=settings.data_dir,
        console_secret_key="test-secret-key-for-the-console",
    )


@pytest.fixture
def client(
    app_settings: Settings,
    db: Database,
    domain: Domain,
    classifier: KeywordClassifier,
    staff: dict[str, int],
) -> Iterator[TestClient]:
    app = create_app(app_settings, database=db, domain=domain, classifier=classifier)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def make_client(
    app_settings: Settings,
    db: Database,
    domain: Domain,
    classifier: KeywordClassifier,
    staff: dict[str, int],
) -> Iterator[Callable[[], TestClient]]:
    """More independent clients (each with its own cookies) on one application."""
    app = create_app(app_settings, database=db, domain=domain, classifier=classifier)
    clients: list[TestClient] = []

    def make() -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def csrf(client: TestClient, path: str = "/login") -> str:
    """The CSRF token from a form on ``path``."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf(client),
            "next": "/tickets",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def post(client: TestClient, path: str, data: dict[str, str], *, page: str | None = None) -> object:
    """POST a console form with the CSRF token taken from ``page`` (default: the ticket list)."""
    token = csrf(client, page or "/tickets")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


@dataclass
class Seeded:
    """Tickets in different places: one per community, plus an urgent one and one with PII."""

    xingfu: str  # 幸福社区 (grid 1)
    kangle: str  # 幸福社区 (grid 2)
    cuihu: str  # 翠湖社区
    daling: str  # 南岭街道大岭村
    with_pii: str  # 幸福社区, phone number in the text


@pytest.fixture
def seeded(db: Database, domain: Domain, clock: Clock) -> Seeded:
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=777001, name="陈姨")

        def f(text: str, category: str, place: str, **kw: object) -> Ticket:
            return file(s, domain, text, category, locations=[place], reporter=resident, **kw)  # type: ignore[arg-type]

        codes = Seeded(
            xingfu=f("幸福花园3栋电梯坏咗，我阿妈落唔到楼", "elevator", "幸福花园3栋").code,
            kangle=f("康乐楼门口垃圾堆咗三日冇人收", "sanitation", "康乐楼").code,
            cuihu=f("翠湖花园广场舞晚晚跳到十一点好嘈", "noise", "翠湖花园").code,
            daling=f("大岭村市场路灯成个礼拜唔着", "road_facility", "大岭村市场").code,
            with_pii=f("幸福花园5栋漏水，打我电话13812345678", "dispute", "幸福花园5栋").code,
        )
        uow.commit()
    return codes
