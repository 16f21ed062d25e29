"""What every console request needs: the runtime built at start-up, the signed-in person, templates,
CSRF checking and flash messages."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from bot.rasa import RasaClient
from console import texts
from console.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    UNSAFE_METHODS,
    SignInThrottle,
    csrf_ok,
    csrf_token,
    password_fingerprint,
    same_origin,
)
from console.tryout import Reply
from tickets import messages
from tickets.classification import Classification
from tickets.classification import Classifier as GroupClassifier
from tickets.db import Database
from tickets.domain import Domain
from tickets.links import PublicLinks
from tickets.models import Person
from tickets.settings import Settings
from tickets.statuses import HandlingMode, Role, Source, Status, event_label
from tickets.usecases.views import PastedOutcome

TEMPLATES = Path(__file__).resolve().parent / "templates"
log = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class Classifier(Protocol):
    """Classifies one text the way the NLU pipeline does (``nlu.pipeline``)."""

    def classify(self, text: str) -> Classification: ...


class ConsoleError(Exception):
    """Base class of the errors the console raises itself (the domain's are ``TicketError``)."""


class LoginRequired(ConsoleError):
    """The request needs a signed-in staff member."""


class CsrfFailed(PermissionError, ConsoleError):
    """An unsafe request without the session's CSRF token, or from another site."""


class TTLCache:
    """A small thread-safe cache whose entries are fresh for ``seconds``.

    With ``stale_seconds``, an entry past its freshness but younger than that is still served while one
    background thread recomputes it (stale-while-revalidate); ``compute`` must then open its own
    database session. ``seconds=0`` turns the cache off (the benchmark measures the uncached work)."""

    def __init__(
        self, seconds: float, *, stale_seconds: float = 0.0, max_entries: int = 2000
    ) -> None:
        self.seconds = seconds
        self.stale_seconds = stale_seconds
        self.max_entries = max_entries
        self._items: dict[Hashable, tuple[float, Any]] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
            if hit is not None and hit[0] + self.stale_seconds > now:
                if key not in self._refreshing:
                    self._refreshing.add(key)
                    threading.Thread(target=self._refresh, args=(key, compute), daemon=True).start()
                return hit[1]
        return self._store(key, compute())

    def _store(self, key: Hashable, value: T) -> T:
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.seconds, value)
        return value

    def _refresh(self, key: Hashable, compute: Callable[[], Any]) -> None:
        try:
            self._store(key, compute())
        except Exception:
            log.exception("refreshing a cached value failed; the stale value stays")
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass(frozen=True)
class ChatLine:
    """One line of a 试一试 chat: what the resident said (``replies`` empty) or what the bot answered."""

    said: str | None = None
    replies: tuple[Reply, ...] = ()


@dataclass(frozen=True)
class PasteResult:
    """A console user's latest paste on the 试一试 page and what became of each message."""

    grid: str
    text: str
    outcomes: tuple[PastedOutcome, ...] = ()


class Recent(Generic[K, V]):
    """A small thread-safe mapping in this process's memory that forgets the entries written least
    recently beyond ``size`` (the 试一试 page's transcripts and latest pastes: what they filed is in the
    database; a restarted console starts them afresh)."""

    def __init__(self, size: int = 500) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._items.get(key)

    def update(self, key: K, change: Callable[[V | None], V]) -> V:
        """Store ``change(current value or None)`` under ``key``."""
        with self._lock:
            value = change(self._items.get(key))
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return value

    def put(self, key: K, value: V) -> None:
        self.update(key, lambda _: value)

    def pop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)


@dataclass
class Console:
    """The console's dependencies, built once in the composition root (``console.app``)."""

    settings: Settings
    db: Database
    domain: Domain
    links: PublicLinks
    classifier: Classifier | None = None
    #: 试一试: the grid groups' classifier (chosen by the settings, as the bot chooses it) and
    #: the Rasa server the web chat talks to.
    group_classifier: GroupClassifier | None = None
    rasa: RasaClient | None = None
    #: 试一试 in memory: chat transcripts by web resident, the latest paste by console user.
    chats: Recent[int, tuple[ChatLine, ...]] = field(default_factory=Recent)
    pastes: Recent[int, PasteResult] = field(default_factory=Recent)
    #: Counts beside the filter options, per person and filter (cleared by every console change).
    counts: TTLCache = field(default_factory=lambda: TTLCache(30.0))
    #: Dashboards, per access scope and period: fresh for a minute, then served for up to ten more
    #: while one background thread recomputes them.
    boards: TTLCache = field(default_factory=lambda: TTLCache(60.0, stale_seconds=600.0))
    #: Failed sign-ins per client address (console.security.SignInThrottle).
    sign_ins: SignInThrottle = field(default_factory=SignInThrottle)
    templates: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(("html", "svg", "xml")),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            Status=Status,
            Source=Source,
            HandlingMode=HandlingMode,
            Role=Role,
            texts=texts,
            categories=self.domain.taxonomy.categories,
            category_name=self.category_name,
            local_time=self.local_time,
            local_date=self.local_date,
            event_label=event_label,
            yuan=messages.yuan,
            pct=lambda v: "—" if v is None else f"{v:.1%}",
        )

    # --- helpers shared by the views -----------------------------------------------------------

    def now(self) -> datetime:
        return self.domain.clock()

    def local_now(self) -> datetime:
        return self.now().astimezone(self.settings.timezone)

    def category_name(self, code: str | None) -> str:
        if not code:
            return "非诉求"
        return self.domain.taxonomy.name(code) if code in self.domain.taxonomy else code

    def local_time(self, at: datetime | None) -> str:
        return at.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M") if at else "—"

    def local_date(self, at: datetime | None) -> str:
        return at.astimezone(self.settings.timezone).strftime("%Y-%m-%d") if at else "—"

    def viewer(self, request: Request, session: Session) -> Person:
        """The signed-in staff member, loaded in ``session``; raises LoginRequired otherwise."""
        data = request.session
        uid = data.get("uid")
        if not isinstance(uid, int):
            raise LoginRequired()
        person = session.get(Person, uid)
        if (
            person is None
            or not person.active
            or not person.role.uses_console
            or data.get("pv") != password_fingerprint(person.password_hash)
        ):
            data.pop("uid", None)
            raise LoginRequired()
        return person

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        viewer: Person | None = None,
        public: bool = False,
    ) -> HTMLResponse:
        """Render ``template``; public pages get no session (no cookie, no CSRF token, no flashes)."""
        session = request.session
        flashes = session.pop("flash", []) if not public and "flash" in session else []
        html = self.templates.get_template(template).render(
            request=request,
            viewer=viewer,
            csrf_token="" if public else csrf_token(session),
            csrf_field=CSRF_FIELD,
            flashes=flashes,
            **context,
        )
        return HTMLResponse(html, status_code=status_code)


def get_console(request: Request) -> Console:
    return request.app.state.console


def flash(request: Request, kind: str, message: str) -> None:
    """Show ``message`` on the next page (kind: ok | error)."""
    items = list(request.session.get("flash", []))
    items.append([kind, message[:500]])
    request.session["flash"] = items[-5:]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/"
    return redirect("/login?next=" + quote(target, safe="/"))


async def check_csrf(request: Request) -> None:
    """Router dependency: every unsafe request carries the session's CSRF token from this site."""
    if request.method not in UNSAFE_METHODS:
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not same_origin(request) or not csrf_ok(request.session, submitted):
        raise CsrfFailed("CSRF")
