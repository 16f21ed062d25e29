"""Open311 GeoReport v2 (JSON) over the tickets: services, requests (list, one, create).

- One service per taxonomy code. Internal statuses map to ``open``/``closed``; ``status_notes`` carries
  the Chinese status (and the resolution note or rejection reason); ``agency_responsible`` is the
  responsible unit. Descriptions are always the redacted text.
- Reading needs an API key (header ``X-Api-Key``, or ``api_key`` as the spec has it — redacted from
  the access log; all tickets) or a signed-in console session (the person's
  units only): requests are residents' words, even redacted, so they are not public.
- Creating needs an API key. ``service_code`` is optional: without it the description is classified by
  the NLU. A description the NLU does not think is a demand is still filed (the client asserts it is a
  request) as ``other``, flagged for review (待复核), and the response's ``service_notice`` says so.
- Errors use the spec's format, ``[{"code": 400, "description": "..."}]``, with the same HTTP status.
- Extensions: ``page`` and ``page_size`` (default 100, at most 1000) on the list.
- ``lat``/``long`` (WGS84): accepted on create (both or neither; a request whose text names no known
  place goes to the nearest unit); returned exact to a signed-in staff member (their own units'
  tickets, as on their console), rounded to 3 decimals (≈110 m) for API-key clients, which are outside
  systems that may publish what they read: a resident's pin is often their door.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import true
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from console.deps import Console, ConsoleError, LoginRequired, get_console
from tickets import access, auth, queries, services
from tickets.classification import Classification
from tickets.cleaning import scrub
from tickets.errors import InvalidInput, PermissionDenied
from tickets.geo import PUBLIC_DECIMALS, Point
from tickets.models import Ticket
from tickets.statuses import CLOSED_STATUSES, OPEN_STATUSES, Source, Status
from tickets.usecases import photos

log = logging.getLogger(__name__)
router = APIRouter(prefix="/open311/v2")
ConsoleDep = Annotated[Console, Depends(get_console)]
DEFAULT_DAYS = 90
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_FIELD_CHARS = 1000


class Open311Error(ConsoleError):
    """An error answered in the GeoReport format."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def error_response(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if at else None


def _parse_time(value: str, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-11-01T00:00:00+08:00"
        ) from None
    if at.tzinfo is None:
        raise Open311Error(400, f"{name} must include a time zone (Z or +08:00)")
    return at.astimezone(UTC)


def _status_notes(t: Ticket) -> str:
    notes = t.status.label
    if t.status in (Status.RESOLVED, Status.CLOSED) and t.resolution_note:
        notes += f"：{t.resolution_note}"
    return notes


def media_url(console: Console, token: str | None) -> str | None:
    """The public address of a photo staff approved (re-encoded without EXIF), or None."""
    return f"{console.settings.public_base_url}/p/photos/{token}.jpg" if token else None


def request_json(
    t: Ticket, console: Console, *, exact: bool = False, photo: str | None = None
) -> dict[str, Any]:
    """One request as GeoReport JSON; ``exact``: coordinates unrounded (a staff reader); ``photo``:
    the token of its first approved photo."""
    point = (
        Point(t.latitude, t.longitude)
        if t.latitude is not None and t.longitude is not None
        else None
    )
    if point is not None and not exact:
        point = point.rounded(PUBLIC_DECIMALS)
    return {
        "service_request_id": t.code,
        "status": "open" if t.status in OPEN_STATUSES else "closed",
        "status_notes": _status_notes(t),
        "service_name": console.category_name(t.category),
        "service_code": t.category,
        "description": t.redacted_text,
        "agency_responsible": t.unit.name if t.unit else None,
        "service_notice": None,
        "requested_datetime": _iso(t.created_at),
        "updated_datetime": _iso(t.updated_at),
        "expected_datetime": _iso(t.due_at),
        "address": t.location_text or (t.area.name if t.area else None),
        "address_id": t.area.code if t.area else None,
        "zipcode": None,
        "lat": point.latitude if point else None,
        "long": point.longitude if point else None,
        "media_url": media_url(console, photo),
    }


def _reader_scope(request: Request, console: Console, session: Session) -> Any:
    """The tickets the caller may read: all with an API key, their units' with a console session."""
    key = api_key_of(request)
    if key:
        try:
            auth.check_api_key(session, key[:200], now=console.now())
        except PermissionDenied:
            raise Open311Error(403, "invalid api_key") from None
        return None
    try:
        viewer = console.viewer(request, session)
    except LoginRequired:
        raise Open311Error(401, "api_key required (or sign in to the console)") from None
    return access.visible_tickets(viewer, console.domain.units(session))


@router.get("/services.json")
def services_json(console: ConsoleDep) -> JSONResponse:
    return JSONResponse(
        [
            {
                "service_code": c.code,
                "service_name": c.name,
                "description": c.description,
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join(c.keywords),
                "group": "民生诉求",
            }
            for c in console.domain.taxonomy.categories
        ]
    )


@router.get("/services/{code}.json")
def service_definition(console: ConsoleDep, code: str) -> JSONResponse:
    if code not in console.domain.taxonomy:
        raise Open311Error(404, f"unknown service_code: {code[:40]}")
    return JSONResponse({"service_code": code, "attributes": []})


def _list_filter(request: Request, console: Console) -> queries.TicketFilter:
    params = request.query_params
    codes = tuple(c for c in params.get("service_code", "").split(",") if c)
    for code in codes:
        if code not in console.domain.taxonomy:
            raise Open311Error(400, f"unknown service_code: {code[:40]}")
    statuses: tuple[Status, ...] = ()
    wanted = {s for s in params.get("status", "").split(",") if s}
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "status must be open or closed")
    if wanted == {"open"}:
        statuses = tuple(sorted(OPEN_STATUSES))
    elif wanted == {"closed"}:
        statuses = tuple(sorted(CLOSED_STATUSES))
    start = _parse_time(params["start_date"], "start_date") if params.get("start_date") else None
    end = _parse_time(params["end_date"], "end_date") if params.get("end_date") else None
    if start is None and end is None:
        start = console.now() - timedelta(days=DEFAULT_DAYS)
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    ids = tuple(
        i.strip().upper() for i in params.get("service_request_id", "").split(",") if i.strip()
    )
    try:
        page = int(params.get("page", "1"))
        size = int(params.get("page_size", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        raise Open311Error(400, "page and page_size must be integers") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Open311Error(400, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page < 1 or (page - 1) * size > queries.COUNT_CAP:
        raise Open311Error(
            400,
            f"page out of range: at most the first {queries.COUNT_CAP} results; narrow the dates",
        )
    return queries.TicketFilter(
        statuses=statuses,
        categories=codes,
        created_after=start,
        created_before=end,
        codes=ids[:100],
        page=page,
        page_size=size,
    )


@router.get("/requests.json")
def requests_json(request: Request, console: ConsoleDep) -> JSONResponse:
    f = _list_filter(request, console)
    with console.db.unit_of_work() as uow:
        scope = _reader_scope(request, console, uow.session)
        tree = console.domain.units(uow.session)
        found = queries.list_tickets(
            uow.session,
            f,
            scope=scope if scope is not None else true(),
            tree=tree,
            now=console.now(),
            tz=console.settings.timezone,
            with_count=False,
        )
        shown = photos.public_tokens(uow.session, [t.id for t in found.items])
        body = [
            request_json(t, console, exact=scope is not None, photo=shown.get(t.id))
            for t in found.items
        ]
        uow.commit()  # the API key's last use
    return JSONResponse(body)


@router.get("/requests/{code}.json")
def request_one(request: Request, console: ConsoleDep, code: str) -> JSONResponse:
    with console.db.unit_of_work() as uow:
        scope = _reader_scope(request, console, uow.session)
        ticket = queries.ticket_by_code(uow.session, code[:40])
        if ticket is None or (
            scope is not None and not queries.in_scope(uow.session, ticket, scope)
        ):
            raise Open311Error(404, f"service_request_id not found: {code[:40]}")
        shown = photos.public_tokens(uow.session, [ticket.id])
        body = [request_json(ticket, console, exact=scope is not None, photo=shown.get(ticket.id))]
        uow.commit()
    return JSONResponse(body)


def api_key_of(request: Request, fields: dict[str, str] | None = None) -> str:
    """The caller's API key: the ``X-Api-Key`` header (which never reaches an access log), else
    ``api_key`` in the body or the query string as the GeoReport spec has it."""
    return (
        request.headers.get("x-api-key")
        or (fields or {}).get("api_key")
        or request.query_params.get("api_key")
        or ""
    ).strip()


def is_json(request: Request) -> bool:
    """Whether the body is JSON (media types are case-insensitive: ``Application/JSON`` is JSON)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _fields(request: Request) -> dict[str, str]:
    """The POST body: form-encoded as the spec says, or JSON; every value cleaned
    (``tickets.cleaning``: surrogates, NUL and control characters, zero-width characters)."""
    if is_json(request):
        body = await request.body()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            raise Open311Error(400, "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Open311Error(400, "body must be a JSON object")
        items = data.items()
    else:
        items = (await request.form()).items()  # type: ignore[assignment]
    fields: dict[str, str] = {}
    for key, value in items:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise Open311Error(400, f"{scrub(str(key))[:40]} must be text")
        fields[scrub(str(key))] = scrub(str(value))
    return fields


def classify(console: Console, text: str, code: str | None) -> tuple[Classification, str | None]:
    """The classification to file with, and a notice for the client when it is flagged for review."""
    taxonomy = console.domain.taxonomy
    if code:
        if code not in taxonomy:
            raise Open311Error(400, f"unknown service_code: {code[:40]}")
        if console.classifier is not None:
            nlu = console.classifier.classify(text)
            return (
                Classification(
                    is_demand=True,
                    demand_confidence=nlu.demand_confidence,
                    category=code,
                    category_confidence=1.0,
                    ranking=nlu.ranking,
                    urgent=nlu.urgent,
                    locations=nlu.locations,
                    classifier_version=nlu.classifier_version,
                ),
                None,
            )
        return Classification(True, 1.0, code, 1.0, classifier_version="api"), None
    if console.classifier is None:
        return (
            Classification(True, 0.0, "other", 0.0, classifier_version="unavailable"),
            "分类服务暂不可用，已按“其他诉求”受理，待人工复核",
        )
    nlu = console.classifier.classify(text)
    if not nlu.is_demand or not nlu.category:
        return (
            Classification(
                is_demand=True,
                demand_confidence=nlu.demand_confidence,
                category="other",
                category_confidence=0.0,
                ranking=nlu.ranking,
                urgent=False,
                locations=nlu.locations,
                classifier_version=nlu.classifier_version,
            ),
            "未能识别为明确的诉求类别，已按“其他诉求”受理，待人工复核",
        )
    return nlu, None


@router.post("/requests.json")
async def create_request(request: Request, console: ConsoleDep) -> JSONResponse:
    fields = await _fields(request)
    for name, value in fields.items():
        if len(value) > (services.MAX_TEXT_CHARS if name == "description" else MAX_FIELD_CHARS):
            raise Open311Error(400, f"{name} is too long")
    key = api_key_of(request, fields)
    if not key:
        raise Open311Error(403, "api_key required")
    description = fields.get("description", "").strip()
    if not description:
        raise Open311Error(400, "description required")
    address = fields.get("address_string", "").strip()
    media = fields.get("media_url", "").strip()
    point = _point(fields)
    return await run_in_threadpool(
        _file, console, key, description, address, fields.get("service_code") or None, media, point
    )


def _point(fields: dict[str, str]) -> Point | None:
    """``lat`` and ``long`` of a new request: both or neither."""
    lat, lng = fields.get("lat", "").strip(), fields.get("long", "").strip()
    if not lat and not lng:
        return None
    if not (lat and lng):
        raise Open311Error(400, "lat and long must be given together")
    try:
        return Point.parse(lat, lng)
    except InvalidInput:
        raise Open311Error(
            400, "lat must be -90..90 and long -180..180 (decimal degrees)"
        ) from None


def _file(
    console: Console,
    key: str,
    description: str,
    address: str,
    code: str | None,
    media: str,
    point: Point | None,
) -> JSONResponse:
    with console.db.unit_of_work() as uow:
        try:
            api_key = auth.check_api_key(uow.session, key[:200], now=console.now())
        except PermissionDenied:
            raise Open311Error(403, "invalid api_key") from None
        text = f"{description}（地址：{address}）" if address else description
        classification, notice = classify(console, text, code)
        tree = console.domain.units(uow.session)
        locations = list(classification.locations)
        if address and not any(loc.get("text") == address for loc in locations):
            start = text.rfind(address)
            locations.append({"text": address, "start": start, "end": start + len(address)})
        area = tree.locate([address]) if address else None
        try:
            ticket = services.file_ticket(
                session=uow.session,
                domain=console.domain,
                text=text,
                source=Source.API,
                classification=_with_locations(classification, locations),
                origin_label=f"Open311：{api_key.name}"[:255],
                area=area,
                attachments=[media] if media else None,
                actor=f"Open311：{api_key.name}"[:100],
                point=point,
            )
        except InvalidInput as e:
            raise Open311Error(400, str(e)) from e
        uow.commit()
        code_out = ticket.code
    console.counts.clear()
    log.info("Open311 request %s filed by key %s", code_out, api_key.prefix)
    return JSONResponse(
        [{"service_request_id": code_out, "service_notice": notice, "account_id": None}],
        status_code=201,
    )


def _with_locations(c: Classification, locations: list[dict[str, Any]]) -> Classification:
    return Classification(
        is_demand=c.is_demand,
        demand_confidence=c.demand_confidence,
        category=c.category,
        category_confidence=c.category_confidence,
        ranking=c.ranking,
        urgent=c.urgent,
        locations=locations,
        classifier_version=c.classifier_version,
    )
