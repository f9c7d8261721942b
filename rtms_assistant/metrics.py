"""``/metrics``: Prometheus text format, read from the database at scrape time.

Why the database and not in-process counters: in scaled mode the work is spread over Daphne,
``rtms_worker`` and Celery worker processes (and in embedded mode it all runs in one), so a
``prometheus_client.Counter`` incremented in one process would be split between processes and
reset by every restart; every figure below is already in a table (the streams' frame counters,
the windows queue, the webhook inbox and deliveries, the summaries), so one collector that
queries them on each scrape gives the same answer in both run modes, from any process that
serves HTTP. Cost: a handful of aggregate queries per scrape (indexed; a scrape every 15-60 s).

Counters that are sums over rows (``rtms_audio_frames_*_total``, ``rtms_stream_reconnects_total``,
...) only go down when rows are deleted (a meeting deleted); Prometheus' ``rate()`` treats that
as a counter reset. Recent-window figures (lags, durations) are quantiles over the last
``RECENT`` (5 minutes) of finished work, exposed as Prometheus summaries.

Access: ``Authorization: Bearer <METRICS_TOKEN>`` (setting; unset = no token accepted) or a
logged-in staff user; anyone else gets 401 (no or wrong credentials) or 403 (not staff).
See docs/metrics.md for the metric list and example alert rules.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, F, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from meetings.models import Meeting, ParticipantEvent, Summary, WebhookDelivery
from meetings.transcription import transcript_lag_ms
from streams.models import Stream, WebhookEvent
from transcription.models import AudioWindow

RECENT = dt.timedelta(minutes=5)
QUANTILES = (0.5, 0.9, 0.99)


def _quantiles(values: list[float]) -> list[tuple[str, float]]:
    """Nearest-rank quantiles of ``values`` (seconds) as Prometheus summary labels."""
    ordered = sorted(values)
    if not ordered:
        return []
    return [(str(q), ordered[min(len(ordered) - 1, int(q * len(ordered)))]) for q in QUANTILES]


def _summary(name: str, documentation: str, values: list[float]) -> SummaryMetricFamily:
    family = SummaryMetricFamily(name, documentation, labels=[])
    family.add_metric([], count_value=len(values), sum_value=sum(values))
    for quantile, value in _quantiles(values):  # the client has no quantile helper for summaries
        family.samples.append(Sample(name, {"quantile": quantile}, value))
    return family


class DatabaseCollector(Collector):
    """Every figure of ``/metrics``, queried when Prometheus scrapes."""

    def collect(self) -> Iterator:
        now = timezone.now()
        now_ms = time.time() * 1000
        yield from self._ingest(now)
        yield from self._webhooks()
        yield from self._whisper(now, now_ms)
        yield from self._summaries(now)

    def _ingest(self, now: dt.datetime) -> Iterator:
        totals = Stream.objects.aggregate(
            stored=Sum("audio_frames"), dropped=Sum("audio_frames_dropped"), reconnects=Sum("reconnect_count")
        )
        stored, dropped = totals["stored"] or 0, totals["dropped"] or 0
        yield CounterMetricFamily(
            "rtms_audio_frames_received",
            "RTMS audio frames received (stored + dropped), all streams.",
            value=stored + dropped,
        )
        yield CounterMetricFamily(
            "rtms_audio_frames_stored", "RTMS audio frames written to the recordings.", value=stored
        )
        yield CounterMetricFamily(
            "rtms_audio_frames_dropped",
            "RTMS audio frames dropped (the writer fell behind: see docs/ingest).",
            value=dropped,
        )
        yield CounterMetricFamily(
            "rtms_stream_reconnects",
            "Successful RTMS reconnections (by the client itself and worker takeovers).",
            value=totals["reconnects"] or 0,
        )
        yield CounterMetricFamily(
            "rtms_stream_interruptions",
            "Stream interruptions recorded on meetings' timelines (a socket lost mid-meeting).",
            value=ParticipantEvent.objects.filter(kind=ParticipantEvent.Kind.INTERRUPTION).count(),
        )
        states = GaugeMetricFamily("rtms_streams", "RTMS streams by state.", labels=["state"])
        counts = dict(Stream.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
        for state in Stream.State.values:
            states.add_metric([state], counts.get(state, 0))
        yield states
        oldest_frame = Stream.objects.filter(
            state=Stream.State.ACTIVE, last_frame_at__isnull=False
        ).aggregate(oldest=Min("last_frame_at"))["oldest"]
        yield GaugeMetricFamily(
            "rtms_ingest_last_frame_age_seconds",
            "Ingest lag: seconds since the last frame of the active stream that has been quiet longest "
            "(0 without active streams).",
            value=(now - oldest_frame).total_seconds() if oldest_frame else 0.0,
        )
        yield GaugeMetricFamily(
            "rtms_meetings_live",
            "Meetings live now.",
            value=Meeting.objects.filter(status=Meeting.Status.LIVE).count(),
        )

    def _webhooks(self) -> Iterator:
        inbound = CounterMetricFamily(
            "rtms_zoom_webhooks",
            "Verified Zoom webhooks stored, by event and outcome (outcome 'pending': not applied yet).",
            labels=["event", "outcome"],
        )
        for event, outcome, n in (
            WebhookEvent.objects.values_list("event", "outcome")
            .annotate(n=Count("pk"))
            .values_list("event", "outcome", "n")
        ):
            inbound.add_metric([event, outcome or "pending"], n)
        yield inbound
        outbound = GaugeMetricFamily(
            "rtms_webhook_deliveries",
            "Outbound webhook deliveries to subscribers, by status (pending, delivered, failed, refused).",
            labels=["status"],
        )
        counts = dict(
            WebhookDelivery.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        for status in WebhookDelivery.Status.values:
            outbound.add_metric([status], counts.get(status, 0))
        yield outbound

    def _whisper(self, now: dt.datetime, now_ms: float) -> Iterator:
        pending = AudioWindow.objects.filter(status=AudioWindow.Status.PENDING)
        depth = GaugeMetricFamily(
            "rtms_whisper_queue_windows", "Whisper windows waiting or running, by kind.", labels=["kind"]
        )
        by_kind = dict(pending.values_list("is_final").annotate(n=Count("pk")).values_list("is_final", "n"))
        depth.add_metric(["final"], by_kind.get(True, 0))
        depth.add_metric(["partial"], by_kind.get(False, 0))
        yield depth
        oldest = pending.filter(is_final=True).aggregate(oldest=Min("queued_at"))["oldest"]
        yield GaugeMetricFamily(
            "rtms_whisper_queue_oldest_age_seconds",
            "Age of the oldest final window still waiting or running (0: none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        live_ids = Meeting.objects.filter(status=Meeting.Status.LIVE).values_list("pk", flat=True)
        lags = [transcript_lag_ms(meeting_id=pk) for pk in live_ids]
        yield GaugeMetricFamily(
            "rtms_transcript_lag_seconds",
            "The live meeting whose transcript is furthest behind: now minus the end of its oldest "
            "untranscribed audio (0: all caught up).",
            value=max(lags, default=0) / 1000,
        )
        windows = GaugeMetricFamily(
            "rtms_whisper_windows_recent",
            "Whisper windows finished in the last 5 minutes, by kind and status.",
            labels=["kind", "status"],
        )
        recent = AudioWindow.objects.filter(done_at__gte=now - RECENT)
        for is_final, status, n in (
            recent.values_list("is_final", "status")
            .annotate(n=Count("pk"))
            .values_list("is_final", "status", "n")
        ):
            windows.add_metric(["final" if is_final else "partial", status], n)
        yield windows
        finals = list(
            recent.filter(is_final=True, status=AudioWindow.Status.DONE).values_list(
                "queued_at", "started_at", "done_at", "speech_end_wall_ms"
            )
        )
        yield _summary(
            "rtms_whisper_queue_wait_seconds",
            "Final windows done in the last 5 minutes: queued -> started.",
            [(s - q).total_seconds() for q, s, _d, _w in finals if s is not None],
        )
        yield _summary(
            "rtms_whisper_run_seconds",
            "Final windows done in the last 5 minutes: started -> done.",
            [(d - s).total_seconds() for _q, s, d, _w in finals if s is not None],
        )
        yield _summary(
            "rtms_final_line_lag_seconds",
            "Final windows done in the last 5 minutes: end of speech -> final segment stored.",
            [max(0.0, d.timestamp() - w / 1000) for _q, _s, d, w in finals if w],
        )

    def _summaries(self, now: dt.datetime) -> Iterator:
        states = GaugeMetricFamily("rtms_summaries", "Summaries by status.", labels=["status"])
        counts = dict(
            Summary.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        for status in Summary.Status.values:
            states.add_metric([status], counts.get(status, 0))
        yield states
        durations = Summary.objects.filter(completed_at__gte=now - RECENT * 12, duration_ms__isnull=False)
        yield _summary(
            "rtms_summary_duration_seconds",
            "Summaries completed in the last hour: how long making them took.",
            [ms / 1000 for ms in durations.values_list("duration_ms", flat=True)],
        )
        waited = durations.filter(started_at__isnull=False).annotate(wait=F("started_at") - F("created_at"))
        yield _summary(
            "rtms_summary_queue_wait_seconds",
            "Summaries completed in the last hour: requested -> started.",
            [w.total_seconds() for w in waited.values_list("wait", flat=True) if w is not None],
        )


registry = CollectorRegistry(auto_describe=False)
registry.register(DatabaseCollector())


def _allowed(request: HttpRequest) -> bool | None:
    """True: a valid bearer token or a staff user; False: logged in, not staff; None: no or a
    wrong token, not logged in."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    if request.user.is_authenticated:
        return bool(request.user.is_staff)
    return None


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition (``prometheus_client.CONTENT_TYPE_LATEST``) of :class:`DatabaseCollector`."""
    allowed = _allowed(request)
    if allowed is None:
        response = HttpResponse("metrics need a bearer token (METRICS_TOKEN) or a staff login\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not allowed:
        return HttpResponse("metrics are for staff\n", status=403)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
