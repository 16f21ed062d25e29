"""公开进度: a public, read-only progress page per ticket or case, reached from a printed QR code.

No sign-in. The link carries an HMAC of the code (``PublicLinks``), so codes, which are sequential,
cannot be walked. The page shows the status, category, place, responsible unit, a shortened redacted
summary, the status history with dates, and the photos staff approved (re-encoded without EXIF), never
names, phone numbers, notes or who did what.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from console import qr
from console.deps import Console, get_console
from tickets import messages, queries
from tickets.errors import NotFound
from tickets.statuses import EventKind
from tickets.usecases import photos

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]
SUMMARY_CHARS = 80


def summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "…"


def _public_photo(console: Console, token: str, *, thumb: bool) -> Response:
    with console.db.session() as session:
        data, content_type = photos.public_image(session, token, thumb=thumb)
    return Response(
        content=data,
        media_type=content_type,
        headers={"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/p/photos/{token}.jpg", name="public_photo")
def public_photo(console: ConsoleDep, token: str) -> Response:
    """A photo staff approved for the public (or a project update's), without EXIF; by its token."""
    return _public_photo(console, token, thumb=False)


@router.get("/p/photos/{token}/thumb.jpg", name="public_photo_thumb")
def public_photo_thumb(console: ConsoleDep, token: str) -> Response:
    return _public_photo(console, token, thumb=True)


@router.get("/p/{code}", response_class=HTMLResponse, name="public_page")
def public_page(request: Request, console: ConsoleDep, code: str, k: str = "") -> HTMLResponse:
    code = code.strip().upper()[:40]
    if not k or len(k) > 64 or not console.links.check(code, k):
        raise NotFound("没有找到该进度页，请核对二维码")
    # The canonical link (what a QR code must carry), whatever else the request had appended.
    url = str(request.url_for("public_page", code=code).include_query_params(k=k))
    with console.db.session() as session:
        if code.startswith("CS-"):
            case = queries.case_by_code(session, code)
            if case is None:
                raise NotFound("没有找到该进度页")
            context = {
                "kind": "类案",
                "code": case.code,
                "category": console.category_name(case.category),
                "place": case.area.name if case.area else "",
                "summary": summary(case.title),
                "progress": queries.case_progress(session, case),
                "is_open": case.is_open,
                "started": case.created_at,
                "last": case.last_report_at,
            }
        else:
            ticket = queries.ticket_by_code(session, code)
            if ticket is None:
                raise NotFound("没有找到该进度页")
            events = [
                e
                for e in queries.events_of(session, ticket)
                if (kind := EventKind.of(e.kind)) is not None and kind.public
            ]
            context = {
                "kind": "工单",
                "photos": photos.public_photos(session, ticket),
                "code": ticket.code,
                "status": ticket.status,
                "category": console.category_name(ticket.category),
                "place": messages.without_pin(ticket.location_text)
                or (ticket.area.name if ticket.area else ""),
                "unit": ticket.unit.name if ticket.unit else "",
                "summary": summary(ticket.redacted_text),
                "created": ticket.created_at,
                "due": ticket.due_at,
                "events": events,
            }
        response = console.render(
            request,
            "public.html",
            {**context, "qr_svg": qr.svg(url, scale=4), "url": url},
            public=True,
        )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
