"""The one exponential backoff of the product's retries: database writes of the ingest runner,
the ingest wake-up channel, outbound webhook deliveries (and Celery's ``retry_backoff``, which
follows the same rule). The RTMS client's reconnect schedule (``streams/rtms/reconnect.py``)
adds Zoom's 60 s window to it; that package imports nothing of ours, so it keeps its own."""

from __future__ import annotations


def backoff_delay(attempt: int, *, initial: float, cap: float, factor: float = 2.0) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first failure):
    ``initial × factor^(attempt − 1)``, at most ``cap``. ``attempt`` < 1 counts as 1."""
    exponent = max(0, int(attempt) - 1)
    if initial * factor ** min(exponent, 64) >= cap:  # no float overflow for huge attempts
        return float(cap)
    return float(initial * factor**exponent)
