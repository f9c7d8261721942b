"""Full-text search across the meetings a user can see: transcript, chat, summary, topic.

Two engines behind one function, :func:`search`, picked by the database vendor:

* **PostgreSQL** (scaled mode): ``SearchVector``/``SearchQuery`` (``websearch`` syntax: words,
  "quoted phrases", ``-excluded``, ``or``) ranked by ``SearchRank``, snippets from
  ``SearchHeadline``; English stemming. :func:`ensure_index` adds GIN expression indexes that
  match the queries' ``to_tsvector`` expressions.
* **SQLite** (embedded mode): FTS5 external-content tables (``porter unicode61`` tokenizer)
  over the same columns, kept in sync by triggers, ranked by ``bm25``; the query's words are
  ANDed (each one quoted, so user input can never be FTS5 syntax).

The SQLite tables, triggers and the PostgreSQL indexes are created by :func:`ensure_index`,
run on ``post_migrate`` (``meetings.apps``), so they need no migration file and exist after
``migrate``/``migrate --run-syncdb`` and in test databases. It is idempotent and, on SQLite,
rebuilds an index that is out of step with its table (rows written before the triggers).

Each hit links to the moment in the meeting: ``/meetings/<uuid>/?before=<start_ms>.<pk+1>#segment-<pk>``
(transcript: the page of the transcript that ends with the hit),
``#chat-<pk>`` (chat), ``#summary`` (summary) or the meeting page (topic).
"""

from __future__ import annotations

import dataclasses
import re

from django.db import DatabaseError, connection
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from meetings.models import ChatMessage, Meeting, Summary, TranscriptSegment
from meetings.selectors.access import meeting_list_for_user

KINDS = ("transcript", "chat", "summary", "topic")
SNIPPET_START, SNIPPET_END = "\x02", "\x03"  # markers no user text contains: escaped, then <mark>
_WORD = re.compile(r"\w+", re.UNICODE)

# FTS5 external-content tables: (fts table, content table, indexed columns).
FTS_TABLES = {
    "transcript": ("meetings_fts_segment", TranscriptSegment._meta.db_table, ("text",)),
    "chat": ("meetings_fts_chat", ChatMessage._meta.db_table, ("text",)),
    "summary": ("meetings_fts_summary", Summary._meta.db_table, ("overview",)),
    "topic": ("meetings_fts_meeting", Meeting._meta.db_table, ("topic",)),
}
PG_CONFIG = "english"


@dataclasses.dataclass(frozen=True)
class Hit:
    """One search result: ``snippet`` is HTML-safe (escaped text, matches in ``<mark>``)."""

    kind: str  # transcript | chat | summary | topic
    meeting_id: str  # Meeting.public_id
    meeting_topic: str
    meeting_started_at: object  # datetime
    object_id: int
    offset_ms: int | None  # from the meeting start (transcript, chat)
    speaker: str
    snippet: SafeString
    rank: float  # higher is better (comparable within one engine)
    url: str


def _url(meeting_public_id, kind: str, object_id: int, offset_ms: int | None = None) -> str:
    """The meeting page at the hit. A transcript hit opens the transcript page that ends with
    that segment (the page's ``?before=<start_ms>.<pk>`` cursor: rows strictly before it), so
    the anchor exists however old the segment is."""
    base = reverse("meetings:detail", kwargs={"public_id": meeting_public_id})
    if kind == "transcript":
        return f"{base}?before={offset_ms or 0}.{object_id + 1}#segment-{object_id}"
    anchor = {"chat": f"#chat-{object_id}", "summary": "#summary"}
    return base + anchor.get(kind, "")


def _snippet_html(raw: str) -> SafeString:
    html = escape(raw).replace(SNIPPET_START, "<mark>").replace(SNIPPET_END, "</mark>")
    return mark_safe(html)  # noqa: S308 - every user character went through escape()


def query_words(query: str) -> list[str]:
    return _WORD.findall(query)[:16]


def search(*, user, query: str, kinds: tuple[str, ...] = KINDS, limit: int = 50) -> list[Hit]:
    """Hits for ``query`` in the meetings ``user`` can see, best first, at most ``limit``.

    An empty query (no word characters) returns ``[]``. ``kinds`` restricts the sources.
    """
    if not query_words(query):
        return []
    meetings = meeting_list_for_user(user=user)
    if connection.vendor == "postgresql":
        hits = _search_postgres(meetings=meetings, query=query, kinds=kinds, limit=limit)
    else:
        hits = _search_sqlite(meetings=meetings, query=query, kinds=kinds, limit=limit)
    hits.sort(key=lambda hit: -hit.rank)
    return with_shown_speakers(hits[:limit])


# --- PostgreSQL -------------------------------------------------------------------------------


def _search_postgres(*, meetings: QuerySet[Meeting], query: str, kinds, limit: int) -> list[Hit]:
    from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector

    search_query = SearchQuery(query, search_type="websearch", config=PG_CONFIG)
    visible = meetings.values("pk")
    sources = {
        "transcript": (TranscriptSegment.objects.filter(is_final=True), "text", "start_ms", "speaker_name"),
        "chat": (ChatMessage.objects.filter(is_deleted=False), "text", "offset_ms", "sender_name"),
        "summary": (Summary.objects.filter(status=Summary.Status.READY), "overview", None, None),
    }
    hits: list[Hit] = []
    for kind, (queryset, column, offset_field, speaker_field) in sources.items():
        if kind not in kinds:
            continue
        rows = (
            queryset.filter(meeting__in=visible)
            .annotate(
                _vector=SearchVector(column, config=PG_CONFIG),
                _rank=SearchRank(SearchVector(column, config=PG_CONFIG), search_query),
                _snippet=SearchHeadline(
                    column,
                    search_query,
                    config=PG_CONFIG,
                    start_sel=SNIPPET_START,
                    stop_sel=SNIPPET_END,
                    max_words=30,
                    min_words=12,
                ),
                _public_id=F("meeting__public_id"),
                _topic=F("meeting__topic"),
                _started=F("meeting__started_at"),
            )
            .filter(_vector=search_query)
            .order_by("-_rank", "pk")[:limit]
        )
        hits += [
            Hit(
                kind=kind,
                meeting_id=str(row._public_id),
                meeting_topic=row._topic,
                meeting_started_at=row._started,
                object_id=row.pk,
                offset_ms=getattr(row, offset_field) if offset_field else None,
                speaker=getattr(row, speaker_field) if speaker_field else "",
                snippet=_snippet_html(row._snippet),
                rank=float(row._rank),
                url=_url(row._public_id, kind, row.pk, getattr(row, offset_field) if offset_field else None),
            )
            for row in rows
        ]
    if "topic" in kinds:
        rows = (
            Meeting.objects.filter(pk__in=visible)
            .annotate(
                _vector=SearchVector("topic", config=PG_CONFIG),
                _rank=SearchRank(SearchVector("topic", config=PG_CONFIG), search_query),
                _snippet=SearchHeadline(
                    "topic", search_query, config=PG_CONFIG, start_sel=SNIPPET_START, stop_sel=SNIPPET_END
                ),
            )
            .filter(_vector=search_query)
            .order_by("-_rank", "pk")[:limit]
        )
        hits += [
            Hit(
                kind="topic",
                meeting_id=str(m.public_id),
                meeting_topic=m.topic,
                meeting_started_at=m.started_at,
                object_id=m.pk,
                offset_ms=None,
                speaker="",
                snippet=_snippet_html(m._snippet),
                rank=float(m._rank),
                url=_url(m.public_id, "topic", m.pk),
            )
            for m in rows
        ]
    return hits


# --- SQLite FTS5 ------------------------------------------------------------------------------


def fts_match_expression(query: str) -> str:
    """The query's words, each double-quoted (FTS5 string syntax), implicitly ANDed."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in query_words(query))


def _search_sqlite(*, meetings: QuerySet[Meeting], query: str, kinds, limit: int) -> list[Hit]:
    match = fts_match_expression(query)
    visible_sql, visible_params = meetings.values("pk").query.sql_with_params()
    specs = {  # kind: (offset column, speaker column, meeting id column, row condition)
        "transcript": ("c.start_ms", "c.speaker_name", "c.meeting_id", "c.is_final = 1"),
        "chat": ("c.offset_ms", "c.sender_name", "c.meeting_id", "c.is_deleted = 0"),
        "summary": ("NULL", "''", "c.meeting_id", f"c.status = '{Summary.Status.READY}'"),
        "topic": ("NULL", "''", "c.id", "1 = 1"),
    }
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for kind in kinds:
            fts, table, _columns = FTS_TABLES[kind]
            offset_sql, speaker_sql, meeting_sql, condition = specs[kind]
            sql = (
                f"SELECT c.id, {offset_sql}, {speaker_sql}, {meeting_sql}, "  # noqa: S608 - our names only
                f"bm25({fts}), snippet({fts}, 0, %s, %s, '…', 16) "
                f"FROM {fts} JOIN {table} c ON c.id = {fts}.rowid "
                f"WHERE {fts} MATCH %s AND {condition} AND {meeting_sql} IN ({visible_sql}) "
                f"ORDER BY bm25({fts}) LIMIT %s"
            )
            cursor.execute(sql, [SNIPPET_START, SNIPPET_END, match, *visible_params, limit])
            rows += [(kind, *row) for row in cursor.fetchall()]
    by_pk = Meeting.objects.in_bulk({row[4] for row in rows})
    return [
        Hit(
            kind=kind,
            meeting_id=str(by_pk[meeting_pk].public_id),
            meeting_topic=by_pk[meeting_pk].topic,
            meeting_started_at=by_pk[meeting_pk].started_at,
            object_id=object_id,
            offset_ms=offset_ms,
            speaker=speaker or "",
            snippet=_snippet_html(snippet or ""),
            rank=-float(bm25),  # bm25: lower is better
            url=_url(by_pk[meeting_pk].public_id, kind, object_id, offset_ms),
        )
        for kind, object_id, offset_ms, speaker, meeting_pk, bm25, snippet in rows
        if meeting_pk in by_pk
    ]


def _sqlite_statements(fts: str, table: str, columns: tuple[str, ...]) -> list[str]:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({cols}, content='{table}', "
        f"content_rowid='id', tokenize='porter unicode61')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608 - our table names
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608 - our table names
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "  # noqa: S608 - our table names
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
    ]


PG_INDEXES = {
    "meetings_segment_fts": (TranscriptSegment._meta.db_table, "text"),
    "meetings_chat_fts": (ChatMessage._meta.db_table, "text"),
    "meetings_summary_fts": (Summary._meta.db_table, "overview"),
    "meetings_meeting_fts": (Meeting._meta.db_table, "topic"),
}


def ensure_index(using=None) -> None:
    """Create the search index objects if missing (idempotent; see the module docstring)."""
    from django.db import connections

    conn = connections[using or "default"]
    tables = set(conn.introspection.table_names())
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            for fts, table, columns in FTS_TABLES.values():
                if table not in tables:
                    continue
                existed = fts in tables
                for statement in _sqlite_statements(fts, table, columns):
                    cursor.execute(statement)
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our table names
                rows = cursor.fetchone()[0]
                if not existed or rows:
                    # 'integrity-check' with rank 1 compares the index with the content table.
                    try:
                        cursor.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")  # noqa: S608
                    except DatabaseError:  # SQLITE_CORRUPT_VTAB: the index misses rows
                        cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608
        elif conn.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(PG_INDEXES)])
            existing = {row[0] for row in cursor.fetchall()}
            for name, (table, column) in PG_INDEXES.items():
                if table not in tables or name in existing:
                    continue
                # The expression Django's SearchVector(column, config=...) compiles to.
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin "
                    f"(to_tsvector('{PG_CONFIG}'::regconfig, COALESCE({column}, ''::text)))"
                )


# --- Speaker names (issue 20) -----------------------------------------------------------------


def with_shown_speakers(hits: list[Hit]) -> list[Hit]:
    """The hits with each transcript line's and chat message's speaker shown by the current
    name: a renamed participant's custom name instead of the name Zoom sent (two small
    queries at most; the index itself stores Zoom's names)."""
    renamed: dict[tuple[str, int], str] = {}
    for kind, model in (("transcript", TranscriptSegment), ("chat", ChatMessage)):
        ids = [hit.object_id for hit in hits if hit.kind == kind]
        if ids:
            rows = (
                model.objects.filter(pk__in=ids)
                .exclude(participant__custom_name="")
                .exclude(participant__isnull=True)
                .values_list("pk", "participant__custom_name")
            )
            renamed.update(((kind, pk), name) for pk, name in rows)
    if not renamed:
        return hits
    return [
        dataclasses.replace(hit, speaker=renamed[(hit.kind, hit.object_id)])
        if (hit.kind, hit.object_id) in renamed
        else hit
        for hit in hits
    ]
