"""Turn the list page's query string into a ``TicketFilter`` (and back into links)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from tickets.errors import InvalidInput
from tickets.queries import MAX_PAGE_SIZE, SORTS, STATUS_TABS, TicketFilter
from tickets.search import MAX_QUERY_CHARS
from tickets.statuses import HandlingMode, Source, Status
from tickets.taxonomy import Taxonomy

#: Query-string keys the list understands (everything else is ignored).
KEYS = (
    "tab",
    "status",
    "category",
    "urgent",
    "mode",
    "area",
    "unit",
    "source",
    "from",
    "to",
    "overdue",
    "review",
    "q",
    "sort",
    "size",
)


def _one(params: QueryParams, key: str) -> str:
    value = params.get(key, "")
    if len(value) > 200 and key != "q":
        raise InvalidInput(f"参数 {key} 过长")
    return value.strip()


def _date(value: str, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}格式应为 YYYY-MM-DD：{value[:20]}") from None


def _enum(cls: Any, value: str, what: str) -> Any:
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        raise InvalidInput(f"未知的{what}：{value[:40]}") from None


def parse(params: QueryParams, taxonomy: Taxonomy) -> tuple[TicketFilter, str]:
    """(filter, status tab) from the query string; invalid values raise InvalidInput with a reason."""
    tab = _one(params, "tab") or "all"
    if tab != "all" and tab not in STATUS_TABS:
        raise InvalidInput(f"未知的状态分组：{tab[:20]}")
    statuses: tuple[Status, ...] = STATUS_TABS.get(tab, ())
    status = _enum(Status, _one(params, "status"), "状态")
    if status is not None:
        statuses = (status,)
    categories = tuple(c for c in params.getlist("category") if c)
    for code in categories:
        if code not in taxonomy:
            raise InvalidInput(f"未知类别：{code[:40]}")
    urgent = {"": None, "1": True, "0": False}.get(_one(params, "urgent"))
    q = params.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(f"搜索内容过长（{len(q)} 字），最多 {MAX_QUERY_CHARS} 字")
    sort = _one(params, "sort") or "-created"
    descending = sort.startswith("-")
    if sort.lstrip("-") not in SORTS:
        raise InvalidInput(f"不支持的排序：{sort[:20]}")
    try:
        page = int(_one(params, "page") or 1)
        size = int(_one(params, "size") or 20)
    except ValueError:
        raise InvalidInput("页码和每页条数必须是数字") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"每页条数应在 1 到 {MAX_PAGE_SIZE} 之间")
    date_from = _date(_one(params, "from"), "开始日期")
    date_to = _date(_one(params, "to"), "结束日期")
    if date_from and date_to and date_to < date_from:
        raise InvalidInput("结束日期早于开始日期")
    f = TicketFilter(
        statuses=statuses,
        categories=categories,
        urgent=urgent,
        handling_mode=_enum(HandlingMode, _one(params, "mode"), "办理方式"),
        area=_one(params, "area") or None,
        unit=_one(params, "unit") or None,
        source=_enum(Source, _one(params, "source"), "来源"),
        date_from=date_from,
        date_to=date_to,
        overdue=_one(params, "overdue") == "1",
        needs_review=_one(params, "review") == "1",
        q=q.strip(),
        sort=sort.lstrip("-"),
        descending=descending,
        page=page,
        page_size=size,
    )
    return f, tab if status is None else ""


def query_string(params: Mapping[str, str | Sequence[str]], **changes: str | None) -> str:
    """The list's query string with ``changes`` applied (None removes a key; the page resets)."""
    items: dict[str, list[str]] = {}
    for key, values in params.items():
        if key in KEYS or key == "page":
            items[key] = [values] if isinstance(values, str) else list(values)
    if "page" not in changes:
        items.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            items.pop(key, None)
        else:
            items[key] = [value]
    pairs = [(k, v) for k, vs in items.items() for v in vs if v != ""]
    return urlencode(pairs)


def params_dict(params: QueryParams) -> dict[str, list[str]]:
    return {k: params.getlist(k) for k in params}


def for_export(f: TicketFilter) -> TicketFilter:
    """The list filter for an export: every page, newest first unless sorted otherwise."""
    return replace(f, page=1)
