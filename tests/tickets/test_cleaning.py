"""Every input is cleaned the same way before it is stored or classified: whatever Unicode arrives, what
comes out can be stored in SQLite and PostgreSQL, and a ticket is filed or the input refused clearly."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.tickets.factories import classified
from tickets import services
from tickets.cleaning import TRUNCATION_MARK, clean, scrub
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import Ticket
from tickets.statuses import Source

#: Every code point, lone surrogates and controls included.
ANY_TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=200)
INVISIBLE = "\x00\x01\x1b\x7f\x85\u200b\u200c\u200e\u202e\u2060\u2066\ufeff"


@pytest.mark.parametrize(
    ("raw", "clean_text"),
    [
        ("路\u200d灯坏了", "路灯坏了"),
        ("电梯\x00坏咗", "电梯坏咗"),
        ("\ud800积水", "\ufffd积水"),
        ("第一行\r\n第二行\r第三行", "第一行\n第二行\n第三行"),
        ("\u202e反向文字", "反向文字"),
        ("👨\u200d👩\u200d👧 一家人", "👨\u200d👩\u200d👧 一家人"),  # an emoji sequence is kept
    ],
)
def test_what_no_reader_sees_and_no_store_takes_is_removed(raw: str, clean_text: str) -> None:
    assert clean(raw, limit=100).text == clean_text


def test_too_long_is_refused_or_cut_with_a_mark() -> None:
    with pytest.raises(InvalidInput, match="过长"):
        clean("长" * 11, limit=10)
    cut = clean("长" * 50, limit=20, truncate=True)
    assert cut.truncated and cut.text.endswith(TRUNCATION_MARK) and len(cut.text) == 20


@given(ANY_TEXT)
def test_anything_cleaned_is_storable_text(raw: str) -> None:
    text = scrub(raw)
    text.encode("utf-8")  # no lone surrogates left
    assert not any(ch in text for ch in INVISIBLE)
    assert all(unicodedata.category(ch) != "Cc" or ch in "\n\t" for ch in text)
    assert scrub(text) == text  # cleaning twice changes nothing


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.one_of(ANY_TEXT, st.text(max_size=12_000).map(lambda t: t * 3)))
def test_any_text_is_filed_or_refused_clearly_on_every_database(
    db: Database, domain: Domain, raw: str
) -> None:
    with db.unit_of_work() as uow:
        try:
            ticket = services.file_ticket(
                session=uow.session,
                domain=domain,
                text=raw,
                source=Source.API,
                classification=classified("other"),
            )
        except InvalidInput as e:
            assert str(e)  # a message for the person who sent it
            return
        uow.commit()
        code = ticket.code
    with db.session() as s:
        stored = s.scalar(select(Ticket.original_text).where(Ticket.code == code))
    assert stored == clean(raw, limit=services.MAX_TEXT_CHARS).text
