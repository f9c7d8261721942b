"""Test settings: the embedded mode with a file-backed test database.

``DATABASE_URL`` / ``REDIS_URL`` from the environment still apply, so the tests about the
database, the channel layer and the broker also run against real PostgreSQL and Redis
(``make test`` runs them a second time that way).
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault(
    "DJANGO_DATA_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test")
)

from .settings import *  # noqa: F403
from .settings import DATA_DIR, DATABASE_URL

DATA_DIR.mkdir(parents=True, exist_ok=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not DATABASE_URL:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # File-backed: database_sync_to_async closes connections, which would wipe an
            # in-memory SQLite database (channels' own test settings do the same).
            "TEST": {"NAME": str(DATA_DIR / f"test_db_{os.getpid()}.sqlite3")},
        }
    }
else:
    # Async ORM threads would otherwise hold connections open for CONN_MAX_AGE, and the test
    # database teardown warns "being accessed by other users".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Unit tests run tasks eagerly; tests of the real worker override this.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASKS_IN_PROCESS = False
ZOOM_WEBHOOK_SECRET_TOKEN = "test-webhook-secret"
ZOOM_CLIENT_ID = "test-client-id"
ZOOM_CLIENT_SECRET = "test-client-secret"
WHITENOISE_AUTOREFRESH = True
