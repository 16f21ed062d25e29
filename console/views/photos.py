"""照片 on the console: a ticket's photos for staff who may see the ticket (thumbnails and the full
image, both re-encoded without EXIF), and approving one for the public pages or withdrawing it (an
audited event of the ticket). The public's own route (approved photos only, by an unguessable token)
is ``console.views.public``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.deps import Console, flash, get_console, redirect
from console.views.tickets import visible_ticket
from tickets.errors import NotFound, TicketError
from tickets.usecases import photos

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


def image_response(data: bytes, content_type: str, *, cache: str) -> Response:
    return Response(
        content=data,
        media_type=content_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def _staff_image(
    console: Console, request: Request, code: str, photo_id: int, thumb: bool
) -> Response:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        ticket = visible_ticket(
            session, code.strip().upper(), viewer, console.domain.units(session)
        )
        data, content_type = photos.image(session, ticket, photo_id, thumb=thumb)
    return image_response(data, content_type, cache="private, max-age=3600")


@router.get("/tickets/{code}/photos/{photo_id}", name="ticket_photo")
def ticket_photo(request: Request, console: ConsoleDep, code: str, photo_id: int) -> Response:
    return _staff_image(console, request, code, photo_id, thumb=False)


@router.get("/tickets/{code}/photos/{photo_id}/thumb", name="ticket_photo_thumb")
def ticket_photo_thumb(request: Request, console: ConsoleDep, code: str, photo_id: int) -> Response:
    return _staff_image(console, request, code, photo_id, thumb=True)


@router.post("/tickets/{code}/photos/{photo_id}/public")
def ticket_photo_public(
    request: Request,
    console: ConsoleDep,
    code: str,
    photo_id: int,
    public: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """公开 (``public``) or 撤回 a photo of the ticket."""
    code = code.strip().upper()[:40]
    try:
        with console.db.unit_of_work() as uow:
            viewer = console.viewer(request, uow.session)
            ticket = visible_ticket(uow.session, code, viewer, console.domain.units(uow.session))
            done = photos.set_public(
                uow.session,
                console.domain,
                ticket=ticket,
                photo_id=photo_id,
                actor=viewer,
                public=public,
            )
            uow.commit()
    except NotFound:
        raise
    except TicketError as e:
        flash(request, "error", str(e))
        return redirect(f"/tickets/{code}#photos")
    flash(request, "ok", f"{code}：{done}")
    return redirect(f"/tickets/{code}#photos")
