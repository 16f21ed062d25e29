"""Full-text search over Chinese ticket text with character bigrams, on SQLite FTS5 and PostgreSQL GIN.

Chinese has no spaces, and ``LIKE '%电梯%'`` scans every row. Each ticket instead keeps a search column of
character bigrams of its redacted text: "幸福花园3栋电梯坏了" → ``幸福 福花 花园 园3 3栋 栋电 电梯 梯坏 坏了 了``.
Runs of letters and digits are split at punctuation and spaces; the last character of each run is kept as
a single-character token so that one-character queries can be answered with a prefix match.

- SQLite: an external-content FTS5 table ``tickets_fts`` over ``tickets.search_text`` (kept in sync by
  triggers created in migration 0002). A query is an FTS5 phrase of the query's bigrams.
- PostgreSQL: a GIN index on ``CAST(search_text AS tsvector)``. The cast reads the space-separated tokens
  literally (no text-search parser, so the result does not depend on the server's locale). The tsvector
  has no positions, so the GIN match (all bigrams present) is rechecked as a phrase with ``LIKE`` on the
  same row's search text.

This module only turns text into tokens and queries; ``tickets.queries`` builds the SQL.
Searching redacted text means phone and ID numbers are never searchable, whoever is searching.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tickets.errors import InvalidInput

#: Longest query accepted (characters); longer input is refused with a clear message.
MAX_QUERY_CHARS = 100
#: Names of the database objects that implement search and are not described by the models.
SEARCH_OBJECTS = frozenset(
    {
        "tickets_fts",
        "tickets_fts_data",
        "tickets_fts_idx",
        "tickets_fts_content",
        "tickets_fts_docsize",
        "tickets_fts_config",
        "ix_tickets_search",
    }
)

# Letters and digits of any script; everything else (punctuation, spaces, emoji, symbols) separates runs.
_RUN = re.compile(r"[^\W_]+")


def normalise(value: str) -> str:
    """NFKC (full-width → half-width) and lower case, as both the index and the query see text."""
    return unicodedata.normalize("NFKC", value).lower()


def runs(value: str) -> list[str]:
    return _RUN.findall(normalise(value))


def _run_tokens(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def search_text(value: str) -> str:
    """The search column for ``value``: bigrams of each run plus the run's last character."""
    return " ".join(token for run in runs(value) for token in _run_tokens(run))


@dataclass(frozen=True)
class Query:
    """A parsed search: each run becomes a phrase of bigrams (or a one-character prefix)."""

    phrases: tuple[tuple[str, ...], ...]
    prefixes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.prefixes


def parse(query: str) -> Query:
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"搜索内容过长（{len(query)} 字），最多 {MAX_QUERY_CHARS} 字")
    phrases: list[tuple[str, ...]] = []
    prefixes: list[str] = []
    for run in runs(query):
        if len(run) == 1:
            prefixes.append(run)
        else:
            phrases.append(tuple(run[i : i + 2] for i in range(len(run) - 1)))
    return Query(tuple(phrases), tuple(prefixes))


def fts5_expression(q: Query) -> str:
    """The SQLite FTS5 MATCH expression: each phrase quoted, one-character runs as prefixes."""
    # Tokens are letters and digits only, so double quotes cannot occur inside them.
    parts = ['"' + " ".join(p) + '"' for p in q.phrases]
    parts += [f'"{c}" *' for c in q.prefixes]
    return " AND ".join(parts)


def tsquery(q: Query) -> str:
    """The PostgreSQL tsquery (literal lexemes, read without the text-search parser)."""
    parts = [f"'{token}'" for phrase in q.phrases for token in dict.fromkeys(phrase)]
    parts += [f"'{c}':*" for c in q.prefixes]
    return " & ".join(parts)


def like_patterns(q: Query) -> list[str]:
    """``LIKE`` patterns (escape ``\\``) over `` ' ' || search_text || ' ' `` that check each phrase."""
    return [
        "% " + " ".join(p).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
        for p in q.phrases
        if len(p) > 1
    ]
