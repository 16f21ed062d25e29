"""模型管理: the NLU models registry for district admins — history with figures, retrain, rollback.

The retrain button starts ``python -m nlu retrain`` in its own process (``tickets.learning``) and
returns at once; the page shows it as running until that process has recorded its outcome. Every
action is recorded in ``model_events`` with who and when.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from console.deps import Console, flash, get_console, redirect
from nlu.errors import NluError
from nlu.learning import DEFAULT_TOLERANCE, HEADLINE
from tickets import learning
from tickets.errors import PermissionDenied
from tickets.models import Person
from tickets.statuses import Role

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


def _admin(console: Console, request: Request, session: object) -> Person:
    viewer = console.viewer(request, session)  # type: ignore[arg-type]
    if viewer.role is not Role.DISTRICT_ADMIN:
        raise PermissionDenied("只有区级管理员可以管理 NLU 模型")
    return viewer


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, console: ConsoleDep) -> HTMLResponse:
    with console.db.unit_of_work() as uow:
        viewer = _admin(console, request, uow.session)
        versions, active = learning.history(uow.session, console.settings)
        events = learning.events(uow.session)
        uow.commit()  # versions found only in the registry are recorded now
        return console.render(
            request,
            "models.html",
            {
                "versions": versions,
                "active": active,
                "events": events,
                "headline": [*HEADLINE, ("urgent_precision", "紧急精确率")],
                "running": learning.running(console.settings),
                "tolerance": console.settings.learning_tolerance or DEFAULT_TOLERANCE,
                "confirmation": console.settings.learning_require_confirmation,
                "time": console.local_time,
            },
            viewer=viewer,
        )


@router.post("/models/retrain")
def retrain(request: Request, console: ConsoleDep) -> RedirectResponse:
    with console.db.unit_of_work() as uow:
        viewer = _admin(console, request, uow.session)
        started = learning.start_retrain(
            uow.session, console.settings, actor=viewer, label="", now=console.now()
        )
        uow.commit()
    if started:
        flash(request, "ok", "已开始再训练（约需数分钟），完成后本页显示结果。")
    else:
        flash(request, "error", "已有一次再训练正在进行，请稍后再试。")
    return redirect("/models")


@router.post("/models/rollback")
def rollback(
    request: Request, console: ConsoleDep, version: Annotated[str, Form()]
) -> RedirectResponse:
    with console.db.unit_of_work() as uow:
        viewer = _admin(console, request, uow.session)
        try:
            previous = learning.rollback(
                uow.session, console.settings, version, actor=viewer, label="", now=console.now()
            )
        except NluError as e:
            flash(request, "error", str(e))
            return redirect("/models")
        uow.commit()
    flash(request, "ok", f"已回滚到 {version}（原为 {previous}），机器人和 Rasa 将在数秒内换用。")
    return redirect("/models")
