"""Settings for the Secure GPT Gateway, read from environment variables only.

Two modes, chosen by what the environment provides:
- embedded: no DATABASE_URL / REDIS_URL -> an SQLite file, in-process cache, tasks run eagerly;
- shared: DATABASE_URL (PostgreSQL) and REDIS_URL -> several gateway processes share one state.
Outside DEBUG, missing secrets are a start-up error (fail closed).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from gateway_project.env import envbool, envfloat, envint, envlist, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)

# Development-only fallbacks: usable with DEBUG on, refused otherwise.
_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
_DEV_PEPPER = "dev-insecure-api-key-pepper"
_DEV_FERNET = "ZGV2LWluc2VjdXJlLWZlcm5ldC1rZXktMDEyMzQ1Njc="


def _required_secret(name: str, dev_default: str) -> str:
    value = envsecret(name)
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE) when DEBUG is off")


SECRET_KEY = _required_secret("SECRET_KEY", _DEV_SECRET)
# HMAC pepper for API keys; deliberately separate from SECRET_KEY so rotating one keeps keys valid.
GATEWAY_KEY_PEPPER = _required_secret("GATEWAY_KEY_PEPPER", _DEV_PEPPER)
# Fernet keys for secrets at rest, newest first; older keys still decrypt (rotation).
GATEWAY_ENCRYPTION_KEYS = envlist("GATEWAY_ENCRYPTION_KEYS") or ([_DEV_FERNET] if DEBUG else [])
if not GATEWAY_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("GATEWAY_ENCRYPTION_KEYS must be set when DEBUG is off")
# HMAC key for audit prompt hashes and seals (a later issue); defaults to a derivation of the pepper.
GATEWAY_AUDIT_KEY = envsecret("GATEWAY_AUDIT_KEY") or f"audit:{GATEWAY_KEY_PEPPER}"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "django_htmx",
    "tenants",
    "proxy",
    "policies",
    "billing",
    "audit",
    "web",
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
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "gateway_project.urls"
ASGI_APPLICATION = "gateway_project.asgi.application"
WSGI_APPLICATION = "gateway_project.wsgi.application"

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
    },
]

# Database: PostgreSQL from DATABASE_URL, else an SQLite file for the embedded mode.
DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envbool(
        "DB_POOL", True
    ):
        # Django's psycopg 3 pool instead of persistent connections under ASGI.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": envint("DB_POOL_MIN", 1),
            "max_size": envint("DB_POOL_MAX", 10),
            "timeout": envfloat("DB_POOL_TIMEOUT", 10.0),
        }
else:
    _sqlite_path = Path(envstr("SQLITE_PATH", str(BASE_DIR / "var" / "gateway.sqlite3")))
    _sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            # A file, not :memory:, so gateway server processes started by tests share it.
            "TEST": {"NAME": str(_sqlite_path.with_suffix(".test.sqlite3"))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and broker: Redis from REDIS_URL, else in-process.
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-budget-reservations": {
        "task": "billing.tasks.sweep_reservations_task",
        "schedule": 60.0,
    },
    "refresh-rollups": {"task": "billing.tasks.refresh_rollups_task", "schedule": 60.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Hashed, compressed static files after `collectstatic` (make serve); finders otherwise.
STATIC_MANIFEST = envbool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# Security headers; HTTPS-only cookies and redirects unless explicitly relaxed (local demo).
SECURE_HTTPS = envbool("SECURE_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api_auth.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["tenants.throttling.ManagementApiThrottle"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Secure GPT Gateway management API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets served by the app itself: deployments may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Management API requests per user per minute (django-ratelimit, through the cache).
GATEWAY_API_RATE = envstr("GATEWAY_API_RATE", "600/m")
RATELIMIT_USE_CACHE = "default"
# The embedded mode is one process, where an in-process cache is shared by definition;
# with several processes gateway.E001 demands Redis.
SILENCED_SYSTEM_CHECKS = [] if REDIS_URL else ["django_ratelimit.E003", "django_ratelimit.W001"]

# auditlog: never store secret material in change diffs (see tenants/proxy model registrations).
AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Gateway data plane -------------------------------------------------------------------
# Client IP: X-Forwarded-For hops are believed only from these proxy networks.
GATEWAY_TRUSTED_PROXIES = envlist("GATEWAY_TRUSTED_PROXIES")
# Upstream hosts in private ranges are refused unless listed here (local vLLM/Ollama, test fakes).
GATEWAY_ALLOWED_PRIVATE_NETWORKS = envlist("GATEWAY_ALLOWED_PRIVATE_NETWORKS")
# How quickly every process notices key/route changes made elsewhere (seconds).
GATEWAY_CONFIG_POLL_S = envfloat("GATEWAY_CONFIG_POLL_S", 0.5)
# Backstop: a cached key context is re-read from the database at least this often.
GATEWAY_KEY_CACHE_TTL_S = envfloat("GATEWAY_KEY_CACHE_TTL_S", 30.0)
# Failed authentications allowed per client IP per minute before 429.
GATEWAY_AUTH_FAILURES_PER_MIN = envint("GATEWAY_AUTH_FAILURES_PER_MIN", 30)
GATEWAY_MAX_BODY_BYTES = envint("GATEWAY_MAX_BODY_BYTES", 4 * 1024 * 1024)
# Number of gateway processes, used to split limits locally when Redis is unreachable.
GATEWAY_PROCESS_COUNT = envint("WEB_CONCURRENCY", 1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}

# --- Upstream HTTP ------------------------------------------------------------------------
GATEWAY_UPSTREAM_MAX_CONNECTIONS = envint("GATEWAY_UPSTREAM_MAX_CONNECTIONS", 200)
GATEWAY_UPSTREAM_MAX_RESPONSE_BYTES = envint(
    "GATEWAY_UPSTREAM_MAX_RESPONSE_BYTES", 32 * 1024 * 1024
)
# Retries per request: attempts across all deployments, and the longest total back-off wait.
GATEWAY_MAX_ATTEMPTS = envint("GATEWAY_MAX_ATTEMPTS", 4)
GATEWAY_MAX_RETRY_WAIT_S = envfloat("GATEWAY_MAX_RETRY_WAIT_S", 8.0)
# Circuit breaker: consecutive failures that open it, and how long it stays open.
GATEWAY_BREAKER_FAILURES = envint("GATEWAY_BREAKER_FAILURES", 5)
GATEWAY_BREAKER_COOLDOWN_S = envfloat("GATEWAY_BREAKER_COOLDOWN_S", 30.0)

# --- Cost guard ---------------------------------------------------------------------------
# What rate limiting does when Redis is unreachable: "local" (default: each process enforces
# limit / WEB_CONCURRENCY, so the fleet never admits the full limit per process), "closed"
# (reject with 503) or "open" (no limits during the outage; unsafe).
GATEWAY_RATELIMIT_ON_REDIS_ERROR = envstr("GATEWAY_RATELIMIT_ON_REDIS_ERROR", "local")
GATEWAY_RATELIMIT_WINDOW_S = envint("GATEWAY_RATELIMIT_WINDOW_S", 60)
# The /v1 hot path's own async psycopg pool (PostgreSQL), next to Django's.
GATEWAY_HOTPATH_POOL_MIN = envint("GATEWAY_HOTPATH_POOL_MIN", 2)
GATEWAY_HOTPATH_POOL_MAX = envint("GATEWAY_HOTPATH_POOL_MAX", 16)

# --- Email (budget alerts, reports) ---------------------------------------------------------
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "gateway@localhost")

# --- Policies ----------------------------------------------------------------------------------
# Preset applied to organizations without a policy of their own ("none" disables it).
GATEWAY_DEFAULT_POLICY = envstr("GATEWAY_DEFAULT_POLICY", "recommended")
# Prompts longer than this are evaluated in a worker thread so the event loop keeps serving.
GATEWAY_POLICY_INLINE_CHARS = envint("GATEWAY_POLICY_INLINE_CHARS", 32_000)

# --- Web UI (sign-in throttling, optional OIDC SSO, monthly finance reports) -----------------
# Failed sign-ins per username + client IP before the pair is locked out, and for how long.
WEB_LOGIN_MAX_FAILURES = envint("WEB_LOGIN_MAX_FAILURES", 5)
WEB_LOGIN_LOCKOUT_S = envint("WEB_LOGIN_LOCKOUT_S", 900)
# Sign-in attempts per client IP (django-ratelimit syntax).
WEB_LOGIN_RATE = envstr("WEB_LOGIN_RATE", "30/m")
# SSO is on only when a client id is configured; users must already exist (matched by email)
# unless OIDC_CREATE_USER is set, and still need a membership to see anything.
OIDC_RP_CLIENT_ID = envstr("OIDC_RP_CLIENT_ID")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "mozilla_django_oidc.auth.OIDCAuthenticationBackend",
    ]
    OIDC_RP_CLIENT_SECRET = envsecret("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = envstr("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = envstr("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = envstr("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = envstr("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = envstr("OIDC_OP_JWKS_ENDPOINT")
    OIDC_RP_SCOPES = envstr("OIDC_RP_SCOPES", "openid email profile")
    OIDC_CREATE_USER = envbool("OIDC_CREATE_USER", False)
    LOGIN_REDIRECT_URL_FAILURE = "/login/"

# --- Observability (metrics, structured logs, tracing; see docs/observability.md) ---------------
from gateway_project import logs as _logs  # noqa: E402  (needs nothing from Django)

# "json" (default): one JSON object per line on stdout; "console": human-readable lines.
LOG_FORMAT = envstr("LOG_FORMAT", "json")
# One line per /v1 request on the `gateway.access` logger (off: only warnings and errors).
GATEWAY_ACCESS_LOG = envbool("GATEWAY_ACCESS_LOG", True)
# Replaces the plain LOGGING above: every logger through structlog, secrets scrubbed.
LOGGING = _logs.logging_config(LOG_FORMAT, envstr("LOG_LEVEL", "INFO"))
_logs.configure_structlog(LOG_FORMAT, access_log=GATEWAY_ACCESS_LOG)
# When set, GET /metrics requires `Authorization: Bearer <token>` (or GATEWAY_METRICS_TOKEN_FILE).
GATEWAY_METRICS_TOKEN = envsecret("GATEWAY_METRICS_TOKEN")

# --- Audit sealing and retention (docs/audit.md) -------------------------------------------------
# Each sealing run appends the newest seal (block number, hash, signature) here as a JSON line;
# point it at storage the database role cannot rewrite (another host, WORM bucket mount).
GATEWAY_AUDIT_SEAL_FILE = envstr("GATEWAY_AUDIT_SEAL_FILE")
# Audit rows (requests and admin changes) older than this are purged daily; 0 keeps everything.
GATEWAY_AUDIT_RETENTION_DAYS = envint("GATEWAY_AUDIT_RETENTION_DAYS", 0)
CELERY_BEAT_SCHEDULE.update(
    {
        "seal-audit": {"task": "audit.tasks.seal_audit_task", "schedule": 60.0},
        "purge-audit": {"task": "audit.tasks.purge_audit_task", "schedule": 24 * 3600.0},
    }
)

# Monthly cost reports for finance: the 1st of each month, after the last day's rollups.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE.update(
    {
        "monthly-cost-reports": {
            "task": "billing.tasks.monthly_reports_task",
            "schedule": crontab(minute=30, hour=2, day_of_month=1),
        },
    }
)
