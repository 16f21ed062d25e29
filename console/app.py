"""The console's composition root: ``create_app(settings)`` wires the database, domain, NLU classifier,
security middleware, views and error handlers. Nothing connects at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.rasa import RasaClient
from console import maps, open311
from console.classifier import group_classifier as classifier_for_groups
from console.classifier import load_classifier
from console.deps import (
    Classifier,
    Console,
    CsrfFailed,
    LoginRequired,
    TTLCache,
    check_csrf,
    login_redirect,
)
from console.security import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    SessionMiddleware,
    csp,
)
from console.views import (
    auth,
    board,
    dashboard,
    exports,
    follow,
    models,
    photos,
    projects,
    public,
    public_projects,
    review,
    tickets,
    tryout,
)
from console.views.projects import MAX_UPLOADS
from tickets import links
from tickets.classification import Classifier as GroupClassifier
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import (
    ConfigError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    TicketError,
    UnknownCategory,
)
from tickets.settings import Settings

log = logging.getLogger("console")
STATIC = Path(__file__).resolve().parent / "static"
_LOAD = object()

#: How each expected error is answered.
STATUS: list[tuple[type[BaseException], int]] = [
    (NotFound, 404),
    (PermissionDenied, 403),
    (CsrfFailed, 403),
    (InvalidInput, 400),
    (IllegalTransition, 409),
    (UnknownCategory, 400),
    (StoreUnavailable, 503),
    (ConfigError, 500),
    (TicketError, 400),
]
TITLES = {400: "请求有误", 403: "没有权限", 404: "没有找到", 409: "操作冲突", 503: "服务暂不可用"}


def secret_key(settings: Settings) -> str:
    if not settings.console_secret_key:
        log.warning(
            "CONSOLE_SECRET_KEY is not set: using the key kept in %s (set it in .env for "
            "production, the same for every console and bot process)",
            settings.secret_file,
        )
    return links.secret_key(settings)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    domain: Domain | None = None,
    classifier: Classifier | Any | None = _LOAD,
    caches: bool = True,
    rasa: RasaClient | None = None,
    group_classifier: GroupClassifier | Any | None = _LOAD,
) -> FastAPI:
    """Build the console. Tests pass their own database, domain (clock), classifiers, bot settings and
    Rasa client; the benchmark turns the caches off (``caches=False``) to measure the work behind every
    page."""
    key = secret_key(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database(settings.database_url)
        rasa_client = rasa or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
        try:
            nlu = (
                await run_in_threadpool(load_classifier, settings.nlu_model_dir)
                if classifier is _LOAD
                else classifier
            )
            console = Console(
                settings=settings,
                db=db,
                domain=domain or Domain.load(settings),
                links=links.PublicLinks(key, settings.public_base_url),
                classifier=nlu,
                rasa=rasa_client,
                group_classifier=classifier_for_groups(nlu, settings, rasa_client)
                if group_classifier is _LOAD
                else group_classifier,
            )
            if not caches:
                console.counts, console.boards = TTLCache(0), TTLCache(0)
            app.state.console = console
            yield
        finally:
            if rasa is None:
                await rasa_client.close()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="民微 MinWei", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.add_middleware(SessionMiddleware, secret_key=key)
    app.add_middleware(SecurityHeadersMiddleware, policy=csp(maps.tile_origins(settings)))
    # The project update form takes photos: its body may hold a few of them.
    app.add_middleware(
        BodyLimitMiddleware,
        uploads=((r"/projects/[^/]+/update", settings.photo_max_bytes * MAX_UPLOADS + 65536),),
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    protected = [Depends(check_csrf)]
    for views in (
        auth,
        tickets,
        photos,
        review,
        follow,
        dashboard,
        exports,
        tryout,
        projects,
        models,
    ):
        app.include_router(views.router, dependencies=protected)
    app.include_router(board.router)  # /p/board before /p/{code}
    app.include_router(public_projects.router)  # before /p/{code}
    app.include_router(public.router)
    app.include_router(open311.router)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    _error_handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/open311/")


def _page(request: Request, status: int, message: str) -> Response:
    console: Console | None = getattr(request.app.state, "console", None)
    if _is_api(request):
        return open311.error_response(status, message)
    if console is None:
        return PlainTextResponse(message, status_code=status)
    return console.render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "出错了"), "message": message},
        status_code=status,
    )


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _page(request, 403, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")

    @app.exception_handler(open311.Open311Error)
    async def open311_error(request: Request, exc: open311.Open311Error) -> Response:
        return open311.error_response(exc.status, exc.description)

    @app.exception_handler(TicketError)
    async def ticket_error(request: Request, exc: TicketError) -> Response:
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        if status >= 500:
            log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        return _page(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        if _is_api(request):
            return open311.error_response(400, f"invalid or missing: {', '.join(fields)}")
        return _page(request, 400, f"提交的内容有误或缺少必填项：{'、'.join(fields)}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "没有这个页面", 405: "不支持这种请求方式"}.get(
            exc.status_code, str(exc.detail)
        )
        return _page(request, exc.status_code, message)
