"""Sign in and out. Accounts are created with ``python -m tickets user create``."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from console import texts
from console.deps import Console, get_console, redirect
from console.security import csrf_token, password_fingerprint
from tickets import auth
from tickets.errors import PermissionDenied

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


def _safe_next(target: str | None) -> str:
    """Only local paths: ``next=//evil.example`` or ``https://…`` go to the start page instead."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/tickets"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, console: ConsoleDep, next: str = "") -> HTMLResponse:
    csrf_token(request.session)
    return console.render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_model=None)
def login(
    request: Request,
    console: ConsoleDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    client = request.client.host if request.client else "unknown"
    wait = console.sign_ins.wait_seconds(client, time.monotonic())
    if wait > 0:
        return console.render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": texts.sign_in_throttled(wait), "username": ""},
            status_code=429,
        )
    with console.db.unit_of_work() as uow:
        try:
            person = auth.authenticate(
                uow.session, username=username, password=password, now=console.now()
            )
        except PermissionDenied as e:
            uow.commit()  # keep the failure count (lock-out)
            console.sign_ins.failed(client, time.monotonic())
            return console.render(
                request,
                "login.html",
                {"next": _safe_next(next), "error": str(e), "username": username},
                status_code=401,
            )
        console.sign_ins.succeeded(client)
        if not person.role.uses_console:
            return console.render(
                request,
                "login.html",
                {"next": _safe_next(next), "error": "该账号不能登录工作台"},
                status_code=403,
            )
        uow.commit()
        request.session.clear()  # a fresh session (and CSRF token) after signing in
        request.session["uid"] = person.id
        request.session["pv"] = password_fingerprint(person.password_hash)
        csrf_token(request.session)
    return redirect(_safe_next(next))


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return redirect("/login")
