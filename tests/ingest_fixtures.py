"""Fixtures of the ingestion, end-to-end and fault suites (tests/streams, tests/e2e, tests/faults): the product in embedded or scaled mode."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.streams.ingest_harness import Product


@pytest.fixture
def embedded(tmp_path, transactional_db):
    """Daphne with ingestion inside it, on the SQLite test database."""
    if connection.vendor != "sqlite":
        pytest.skip("embedded-mode end-to-end runs on SQLite (the scaled tests cover PostgreSQL)")
    product = Product(tmp_path, scaled=False)
    product.start_web()
    yield product
    product.stop()


@pytest.fixture
def scaled(tmp_path, transactional_db):
    """Daphne for the webhook on the PostgreSQL test database and Redis; start workers yourself."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("scaled mode needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
    product = Product(tmp_path, scaled=True)
    product.start_web()
    yield product
    product.stop()
