"""Errors of the summarizers (pure: no Django)."""

from __future__ import annotations


class SummaryError(Exception):
    """A summarizer failed for good: the caller falls back (LLM -> offline) or marks it failed."""


class TransientSummaryError(SummaryError):
    """A failure that may pass (timeout, connection, HTTP 5xx/429): the Celery task retries it."""
