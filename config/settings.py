"""Settings, all read from the environment.

With no environment at all the project runs on an embedded default: SQLite and the in-memory
channel layer, DEBUG on, a development secret. Set ``DATABASE_URL`` / ``REDIS_URL`` for PostgreSQL
and Redis, the production setup (docs/operations/configuration.md).
"""

import hashlib
import sys
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets typed code subscript Django's generic classes at run time (admin.ModelAdmin[Poll],
# QuerySet[Ballot], forms.ModelForm[Group]) as the type checker requires.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for developers; the process environment always wins.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# --- Fail fast in production -------------------------------------------------------------------
# The ballot box's public keys (voting/sealing.py): without them a production server could not
# seal envelopes or publish the key the board is checked against. The private halves belong to
# the counter alone (`manage.py count_ballots` refuses to start without them). The voter key, the
# officials' MFA key and the audit chain's key must outlive any rotation of SECRET_KEY
# (docs/operations/secrets.md), so production never derives them from it: a rotation would let
# every number vote again, lock every official out, or fail every older audit entry.
_required = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "BALLOT_SEALING_PUBLIC_KEY",
    "BOARD_VERIFY_KEY",
    "VOTER_KEY_SECRET",
    "MFA_ENCRYPTION_KEY",
    "AUDIT_CHAIN_KEY",
)
_missing = [name for name in _required if not env.str(name, default="")]
if not DEBUG and _missing:
    # One line, naming what is missing, instead of a traceback deep inside Django.
    sys.exit(f"configuration error: DEBUG is off, so {' and '.join(_missing)} must be set")

SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-do-not-deploy")
# Rotating SECRET_KEY: the old value here (comma-separated) keeps Django's signatures made with it
# valid (sessions' auth hash, signed cookies) until they age out (docs/operations/secrets.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",  # before staticfiles: `runserver` then serves ASGI (HTTP + WebSocket)
    # The admin, on a site that asks officials for a second factor (accounts/officials_site.py).
    "accounts.officials_apps.OfficialsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "core",  # shared plumbing; an app only for its table of idempotent answers (core/models.py)
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.mfa",
    "allauth.usersessions",
    "config",
    "districts",
    "accounts",
    "audit",
    "voting",
    "proposals",
    "discussion",
    "notifications",
    "moderation",
    "onsite",  # on-site voting by QR code (above voting: .importlinter)
    "assisted",  # call-centre operators cast for callers (above voting: .importlinter)
]

MIDDLEWARE = [
    # First: request id, per-route metrics, access log; /livez, /readyz, /metrics answered before
    # the Host is validated (core/observability.py). In-memory work only.
    "core.observability.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Apps' token requests to /api/v1/ skip the cookie machinery below (config/middleware.py).
    "config.middleware.LeanApiRouter",
    # daphne serves no static files of its own: the admin, API docs and dashboards need them.
    "config.middleware.AsyncWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # CommonMiddleware, and /api/…/polls without its slash reaches /api/…/polls/ (no redirect).
    "config.middleware.ApiCommonMiddleware",
    # /_allauth/ errors: the API's code/detail beside allauth's keys, Retry-After on every 429
    # (accounts/headless_errors.py). Below the locale (the request's language), above CSRF.
    "accounts.headless_errors.HeadlessErrorMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Redis down: /_allauth/ answers a 503 with Retry-After instead of a 500 (config/middleware.py).
    "config.middleware.AuthServiceUnavailableMiddleware",
    # Officials' sessions: idle and absolute timeouts (accounts/middleware.py).
    "accounts.middleware.OfficialSessionMiddleware",
    # Last: hands the view's end of the chain to LeanApiRouter.
    "config.middleware.LeanApiBottom",
]
# Paths whose X-Session-Token requests take the lean lane (config/middleware.py LeanApiRouter).
LEAN_API_PREFIXES = ["/api/v1/"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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

# --- Database ----------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so two
    # concurrent ballots queue on the busy timeout instead of failing with "database is locked"
    # when a deferred transaction tries to upgrade its lock.
    _db["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgis"):
    # Under ASGI every request may run on another thread, so CONN_MAX_AGE leaks connections;
    # Django's psycopg pool is the supported way to reuse them.
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
    # With the pool, Django's health checks are the pool's `check`: an empty query before a
    # pooled connection is handed out, so after a database restart or a killed backend the pool
    # replaces dead connections instead of giving each to one request (a 503). One local round
    # trip per request (docs/performance.md).
    _db["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_POOL_CHECK", default=True)
    # Test runs get a database of their own name, created and dropped by pytest-django.
    _db["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_{_db['NAME']}")}
DATABASE_IS_POSTGRES = _db["ENGINE"].startswith("django.db.backends.postg")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_LAYER_PREFIX = env.str("CHANNEL_LAYER_PREFIX", default="mvoting")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's async client times reads out at 5 s, the length of channels-redis's
                # blocking receive: an idle relay then saw an "outage" every 5 s and backed off
                # for seconds (measured by the benchmark). Read timeouts above the receive's.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": CHANNEL_LAYER_PREFIX,
            },
        }
    }
    CACHES = {
        "default": {
            # Django's, reusing one client per pool instead of one per operation (core/cache.py).
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mvoting"),
            # allauth's rate-limit keys carry phone hashes and IPs: keyed (core/cache_keys.py).
            "KEY_FUNCTION": "core.cache_keys.make_key",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "core.cache_keys.make_key",
        }
    }

# --- Authentication ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Officials: username or email + password (admin login).
    "accounts.backends.UsernameOrEmailBackend",
    # Citizens: phone + one-time code, through allauth.
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES: dict[str, dict] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Outcome attachments: signed, expiring URLs only (core/media.py, docs/operations/media.md).
    "private": {"BACKEND": "core.media.PrivateFileSystemStorage"},  # in PRIVATE_MEDIA_ROOT
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development files are found where they lie; in production `collectstatic` runs at build.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Never under MEDIA_ROOT (served as it lies): only signed links reach these files.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private-media")
# Uploaded images are stripped of metadata and renamed; phones get WebP renditions of these
# widths (never upscaled). Private files' signed URLs expire after PRIVATE_MEDIA_URL_SECONDS.
MEDIA_RENDITION_WIDTHS = env.list("MEDIA_RENDITION_WIDTHS", cast=int, default=[480, 960, 1440])
PRIVATE_MEDIA_URL_SECONDS = env.int("PRIVATE_MEDIA_URL_SECONDS", default=300)
# "filesystem" (MEDIA_ROOT, PRIVATE_MEDIA_ROOT) or "s3" (any S3-compatible server: MinIO, S3).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
if MEDIA_STORAGE == "s3":
    _buckets = ("AWS_STORAGE_BUCKET_NAME", "AWS_PRIVATE_BUCKET_NAME")
    if _unset := [name for name in _buckets if not env.str(name, default="")]:
        sys.exit(f"configuration error: MEDIA_STORAGE is s3, so {' and '.join(_unset)} must be set")
    _s3 = {
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
        "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),
        "signature_version": "s3v4",
        "file_overwrite": False,
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3,
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            "querystring_auth": False,
            # Names are random and never reused: a CDN or phone may keep them for a year.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3,
            "bucket_name": env.str("AWS_PRIVATE_BUCKET_NAME"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": PRIVATE_MEDIA_URL_SECONDS,
        },
    }
elif MEDIA_STORAGE != "filesystem":
    sys.exit(f"configuration error: MEDIA_STORAGE is {MEDIA_STORAGE!r}; use filesystem or s3")

# --- Security ----------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies of our own in front of the app, each appending to X-Forwarded-For (the shipped
# nginx: 1). The client's address is the entry this many places from the right; 0 ignores the
# header (REMOTE_ADDR). One rule for allauth, DRF and the SMS budget (core/client_ip.py).
# Too high, and clients choose their own address; too low, and everyone shares the proxy's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Session keys (app tokens, browser and admin cookies) are stored only as SHA-256 digests
# (accounts/sessions.py): a database reader gets nothing to log in with.
SESSION_ENGINE = "accounts.sessions"
# Citizens' session lists show when each app session was last used; written at most this often
# per session (accounts/tokens.py), so the token lookup stays one query on other requests. Each
# write is two UPDATEs on the request that makes it (the bench measured every ballot paying them
# halving the hot rate): once a day is what a list of one's devices needs.
USERSESSIONS_TRACK_ACTIVITY = True
SESSION_LAST_SEEN_INTERVAL = env.int("SESSION_LAST_SEEN_INTERVAL", default=86_400)
# Sessions and the users they name are read through the cache (accounts/auth_cache.py): no query
# per authenticated request on a hit. Logout, ended sessions, deactivation, deletion and password
# changes made through Django take effect at once; rows changed behind its back (bulk SQL, a
# restore, QuerySet.update) within this many seconds. 0 turns the cache off.
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=300)
# A refused CSRF check under /api/ or /_allauth/ answers in the API's JSON error format.
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Liveness probes from the proxy or orchestrator speak plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- django-allauth (headless, phone-first) ----------------------------------------------------
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
HEADLESS_ADAPTER = "accounts.adapter.HeadlessAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email"
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*"]
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
# Six digits, like every Korean service's SMS code: phones offer to autofill them. Guessing is
# bounded by the attempts per code and the rate limits below.
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
# The same SMS text carries sign-up and login codes, so both live as long (5 minutes).
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 300
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 300
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # SMS costs money: every code request is limited per phone ("key") and per IP, by the hour
    # as well as by the minute (10/m alone let one address send 600 texts an hour). IPs are
    # real clients' (TRUSTED_PROXY_COUNT), and one carrier-NAT address serves many phones: the
    # hourly IP limits match the SMS budget's (SMS_BUDGET_PER_IP), which caps all of them.
    "signup": env.str("RATE_LIMIT_SIGNUP", default="10/m/ip,30/h/ip"),
    "request_login_code": env.str(
        "RATE_LIMIT_LOGIN_CODE", default="10/m/ip,30/h/ip,3/10m/key,5/h/key,10/d/key"
    ),
    "verify_phone": env.str("RATE_LIMIT_VERIFY_PHONE", default="1/30s/key,5/h/key,5/m/ip,30/h/ip"),
    "login_failed": env.str("RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
}
HEADLESS_ONLY = True
HEADLESS_TOKEN_STRATEGY = "accounts.tokens.OneQuerySessionTokenStrategy"  # noqa: S105
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_SERVE_SPECIFICATION = True
# allauth's page loads Redoc from a CDN; this one uses drf-spectacular-sidecar's copy (offline).
HEADLESS_SPECIFICATION_TEMPLATE_NAME = "accounts/openapi_redoc.html"
HEADLESS_FRONTEND_URLS = {
    "account_signup": env.str("FRONTEND_SIGNUP_URL", default="/"),
}

# --- Officials' sign-in (accounts/officials_auth.py, docs/security.md) ---------------------------
# The admin and the dashboards ask officials for a second factor (TOTP or a recovery code) after
# the password; one without an authenticator enrols at the first login. On everywhere by default,
# DEBUG included: turning it off is an operator's explicit choice.
OFFICIAL_MFA_REQUIRED = env.bool("OFFICIAL_MFA_REQUIRED", default=True)
# An official's session ends after this long without a request, and this long after the login.
OFFICIAL_SESSION_IDLE_MINUTES = env.int("OFFICIAL_SESSION_IDLE_MINUTES", default=30)
OFFICIAL_SESSION_MAX_HOURS = env.int("OFFICIAL_SESSION_MAX_HOURS", default=12)
# WebAuthn needs allauth's browser views, which HEADLESS_ONLY turns off: TOTP and recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "accounts.officials_mfa.MFAAdapter"
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="mVoting Seoul")
MFA_RECOVERY_CODES_SHOW_ONCE = True
# TOTP secrets and recovery-code seeds are encrypted in the database with a key derived from this;
# a database reader alone cannot compute an official's codes. Required when DEBUG is off (above);
# under DEBUG it falls back to SECRET_KEY, so `make run`'s enrolled demo official keeps working.
MFA_ENCRYPTION_KEY = env.str("MFA_ENCRYPTION_KEY", default=SECRET_KEY)

# --- Email (officials only: password reset, error mail; docs/operations/deploy.md) ---------------
# One URL: smtp+tls://user:password@host:587 (STARTTLS), smtp+ssl://...:465 (implicit TLS),
# smtp://host:25; special characters in the password percent-encoded. Under DEBUG mail is printed
# to the console; production defaults to Django's own default, SMTP on localhost:25, never to the
# console, whose lines would carry reset links into the logs.
try:
    _email = env.email_url(
        "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
    )
except ImproperlyConfigured as _exc:
    sys.exit(f"configuration error: EMAIL_URL: {_exc}")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
# A mail server that stops answering must not hold a web worker past the proxy's timeout.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mVoting Seoul <noreply@localhost>")
# The sender of Django's own mail to ADMINS and MANAGERS (errors, broken links).
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- SMS ---------------------------------------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="accounts.sms.ConsoleSMSBackend")
SMS_SENDER = env.str("SMS_SENDER", default="서울시 엠보팅")
# The SMS budget (accounts/sms_budget.py, docs/security.md): every text is counted before it is
# sent, per number, per client address and for the whole service. Rates are "N/h" or "N/d",
# comma-separated. Per number: enough for a sign-up and a few logins a day, too few to flood a
# victim. Per address: carrier-grade NAT puts many phones behind one IPv4 address (IPv6 is counted
# per /64). Global: when an hour's texts are spent, sending stops until the next hour and the
# operators are alerted (CRITICAL log line "sms_budget_exhausted").
SMS_BUDGET_PER_NUMBER = env.str("SMS_BUDGET_PER_NUMBER", default="5/h,10/d")
SMS_BUDGET_PER_IP = env.str("SMS_BUDGET_PER_IP", default="30/h,100/d")
SMS_BUDGET_GLOBAL_HOURLY = env.int("SMS_BUDGET_GLOBAL_HOURLY", default=3000)
# A real provider (docs/operations/sms.md):
# SMS_BACKEND=accounts.sms_providers.solapi.SolapiSMSBackend with the API key pair and the
# registered sender number (발신번호; SMS_SENDER is the name the texts open with).
# Texts then go out through the task queue, retried with backoff on rate limits
# and outages, and each is recorded (accounts/sms_records.py) with its cost and no number in clear.
SMS_API_URL = env.str("SMS_API_URL", default="https://api.solapi.com")
SMS_API_KEY = env.str("SMS_API_KEY", default="")
SMS_API_SECRET = env.str("SMS_API_SECRET", default="")
SMS_SENDER_NUMBER = env.str("SMS_SENDER_NUMBER", default="")
SMS_API_TIMEOUT = env.float("SMS_API_TIMEOUT", default=10.0)
SMS_RETRY_MAX = env.int("SMS_RETRY_MAX", default=5)
SMS_RETRY_BASE_SECONDS = env.float("SMS_RETRY_BASE_SECONDS", default=5.0)
SMS_RETRY_CAP_SECONDS = env.float("SMS_RETRY_CAP_SECONDS", default=60.0)
# A code is worth nothing after it expires: a text still unsent this long after it was asked for
# is given up (allauth's code lifetime, 5 minutes).
SMS_DELIVERY_DEADLINE_SECONDS = env.int("SMS_DELIVERY_DEADLINE_SECONDS", default=300)
_sms_missing = [
    name
    for name in ("SMS_API_KEY", "SMS_API_SECRET", "SMS_SENDER_NUMBER")
    if "sms_providers" in SMS_BACKEND and not globals()[name]
]
if not DEBUG and _sms_missing:
    sys.exit(f"configuration error: SMS_BACKEND needs {' and '.join(_sms_missing)}")

# --- Citizens ----------------------------------------------------------------------------------
# Residence can change again only after this many days, so nobody hops districts to vote in each.
RESIDENCE_CHANGE_COOLDOWN_DAYS = env.int("RESIDENCE_CHANGE_COOLDOWN_DAYS", default=30)
# Birth year and gender are facts that do not change; after the first declaration a correction
# waits this long (or comes through identity verification, or two officials), so nobody changes
# age or gender to enter targeted polls.
PROFILE_CORRECTION_COOLDOWN_DAYS = env.int("PROFILE_CORRECTION_COOLDOWN_DAYS", default=365)
IDENTITY_VERIFIER = env.str("IDENTITY_VERIFIER", default="")

# --- REST framework and OpenAPI ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON, encoded by orjson (core/renderers.py): same bytes, a fraction of the time.
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    # DRF's JSON parser; deeply nested JSON is a 400, not a 500 (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # For DRF's own get_ident(); the project's throttles use core/client_ip.py (same rule).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "mVoting API",
    "DESCRIPTION": (
        "Citizens' API of the policy-voting service. Authentication endpoints (sign-up by phone, "
        "code login, sessions) are django-allauth headless: see /_allauth/openapi.html. "
        "The live dashboards' WebSocket (/ws/polls/{id}/, with tickets from "
        "POST /api/v1/ws-tickets/) is described in AsyncAPI 3: /api/asyncapi.yaml (or .json)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ReceiptStatusEnum": [("sealed", "sealed"), ("counted", "counted")],
        "ProposalStatusEnum": ["open", "under_review", "accepted", "rejected", "expired"],
        "PollStatusEnum": ["open", "upcoming", "closed"],
        "EligibilityReasonEnum": [
            "not_open",
            "verification",
            "profile_incomplete",
            "district",
            "group",
            "age",
        ],
        # not_eligible's and not_in_audience's reason: the audience rules (never not_open).
        "AudienceReasonEnum": ["verification", "profile_incomplete", "district", "group", "age"],
        "VerificationEnum": ["unverified", "phone", "resident"],
        "PollKindEnum": "voting.models.Poll.Kind",
        # Results' breakdown has a gender enum of its own (with "unknown"); GenderEnum below.
        "ResultsGenderEnum": ["female", "male", "other", "undisclosed", "unknown"],
        # Names that stay put should another field named "reason", "kind" or "level" get an enum.
        "ReportReasonEnum": "discussion.models.CommentReport.Reason",
        "NotificationKindEnum": "notifications.models.Kind",
        "LevelEnum": "districts.models.District.Level",
        "GenderEnum": "accounts.models.Gender",
    },
    # Path ids are integers to clients, as in bodies: the bounds of config/converters.py's
    # IdConverter ([0-9]{1,18}; anything else is a 404).
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999},
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Retry-After on 429/503, Idempotent-Replayed on idempotent POSTs' successes.
        "core.schema.document_response_headers",
    ],
}

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "config.logging.RedactPersonalData"},
        "request_id": {"()": "core.request_id.RequestIdFilter"},
    },
    "formatters": {
        "json": {"()": "config.logging.JSONFormatter"},
        # The development SMS backend prints phone and code on purpose: that is how a developer
        # reads the code. Its logger is the one place personal data is allowed through.
        "sms": {"format": "%(asctime)s SMS %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact", "request_id"],
        },
        "sms_console": {"class": "logging.StreamHandler", "formatter": "sms"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django logs every 4xx/5xx here; one structured line each, no headers, no bodies.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # One line per request when ACCESS_LOG is on, whatever LOG_LEVEL says.
        "mvoting.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "accounts.sms.console": {"handlers": ["sms_console"], "level": "INFO", "propagate": False},
        # The push providers' HTTP client logs each URL at INFO (an APNs URL holds the device
        # token) and headers at DEBUG (the provider's credential): only warnings pass.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "hpack": {"level": "WARNING"},
    },
}

# --- Observability (docs/operations/monitoring.md) -------------------------------------------
# A JSON access line per request from the app server itself (nginx logs requests by default).
ACCESS_LOG = env.bool("ACCESS_LOG", default=False)
# /metrics answers 404 until one of these is set; every one that is set must hold.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_VIEW = "config.metrics.metrics_view"
# Error tracking, off unless set (config/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

# --- Serving -----------------------------------------------------------------------------------
# API views run on this many threads per process (0: on Django's single sync thread). See
# core/offload.py for why; keep DATABASE_POOL_MAX at least this large.
API_WORKER_THREADS = env.int("API_WORKER_THREADS", default=8)

# --- Voting ------------------------------------------------------------------------------------
POLL_IMAGE_MAX_BYTES = env.int("POLL_IMAGE_MAX_BYTES", default=5_000_000)
# Decoded size: a small file can hold a huge picture (a decompression bomb).
POLL_IMAGE_MAX_PIXELS = env.int("POLL_IMAGE_MAX_PIXELS", default=40_000_000)
# The secret ballot (docs/secret-ballot.md). Every change of a published or stored total is the sum
# of at least BALLOT_BATCH_MIN ballots: while a poll is open the counter counts when 2k are
# sealed, leaving the newest k; at close (after the grace for ballots still committing) the rest.
BALLOT_BATCH_MIN = env.int("BALLOT_BATCH_MIN", default=10)
if BALLOT_BATCH_MIN < 5:
    sys.exit("configuration error: BALLOT_BATCH_MIN must be at least 5")
# At most this many envelopes are opened in one counting transaction.
BALLOT_BATCH_MAX = env.int("BALLOT_BATCH_MAX", default=5000)
if BALLOT_BATCH_MAX < 2 * BALLOT_BATCH_MIN:
    sys.exit("configuration error: BALLOT_BATCH_MAX must be at least twice BALLOT_BATCH_MIN")
BALLOT_CLOSE_GRACE_SECONDS = env.float("BALLOT_CLOSE_GRACE_SECONDS", default=30.0)
# How often an idle counter looks for envelopes to count.
COUNT_INTERVAL = env.float("COUNT_INTERVAL", default=0.2)
BALLOT_SEALING_PUBLIC_KEY = env.str("BALLOT_SEALING_PUBLIC_KEY", default="")
BALLOT_SEALING_PRIVATE_KEY = env.str("BALLOT_SEALING_PRIVATE_KEY", default="")
BOARD_VERIFY_KEY = env.str("BOARD_VERIFY_KEY", default="")
BOARD_SIGNING_KEY = env.str("BOARD_SIGNING_KEY", default="")
# Unset keys are derived from SECRET_KEY only where DEBUG was on at start (`make run`, the test
# suite: pytest-django turns DEBUG off later, so this is decided here, once).
BALLOT_DEV_KEYS = env.bool("BALLOT_DEV_KEYS", default=DEBUG)
# Longest a cached results document may outlive a change made behind Django's back (a restore,
# SQL by hand); the count, officials' edits and the clock refresh it at once
# (voting/results_cache.py).
RESULTS_CACHE_SECONDS = env.int("RESULTS_CACHE_SECONDS", default=300)
# The same bound for polls' cards in the app's list (voting/poll_cards.py).
POLL_CARD_CACHE_SECONDS = env.int("POLL_CARD_CACHE_SECONDS", default=300)
# Breakdown cells with fewer ballots than this are published as suppressed, everywhere.
RESULTS_MIN_CELL = env.int("RESULTS_MIN_CELL", default=5)
# Census-weighted results (voting/weighting.py): refused below this many weightable ballots, with
# weights capped at WEIGHTING_CAP × their mean, and where a margin (gu, age band, sex) stays more
# than WEIGHTING_TOLERANCE (relative) off its population under the cap.
WEIGHTING_MIN_BALLOTS = env.int("WEIGHTING_MIN_BALLOTS", default=100)
WEIGHTING_CAP = env.float("WEIGHTING_CAP", default=5.0)
if WEIGHTING_CAP <= 1:
    sys.exit("configuration error: WEIGHTING_CAP must be more than 1 (a multiple of the mean)")
WEIGHTING_TOLERANCE = env.float("WEIGHTING_TOLERANCE", default=0.001)
# On-site voting (onsite/): how often the venue's QR code changes; the citizens' host its links
# name (empty: the screen's own host).
ONSITE_TOKEN_SECONDS = env.int("ONSITE_TOKEN_SECONDS", default=10)
ONSITE_LINK_BASE = env.str("ONSITE_LINK_BASE", default="")
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
# Keys the phone hash kept on participations (a deleted account cannot vote twice with the same
# number). Changing it lets numbers vote again in polls they already voted in: keep it stable.
# Required when DEBUG is off (above), so rotating SECRET_KEY never changes it; under DEBUG it
# falls back to SECRET_KEY, which keeps a development database's participations valid.
VOTER_KEY_SECRET = env.str("VOTER_KEY_SECRET", default=SECRET_KEY)
# Keys the audit log's hash chain (audit/chain.py): whoever can write the database but lacks
# this key cannot recompute the chain after editing a row. Required when DEBUG is off (above);
# under DEBUG it is derived from SECRET_KEY. Never change it once the log has entries: every older
# entry would fail `manage.py verify_audit`.
AUDIT_CHAIN_KEY = (
    env.str("AUDIT_CHAIN_KEY", default="")
    or hashlib.sha256(f"mvoting-audit-chain:{SECRET_KEY}".encode()).hexdigest()
)
# Live dashboards get at most one message per poll per this many seconds.
LIVE_MIN_INTERVAL = env.float("LIVE_MIN_INTERVAL", default=0.1)
WS_TICKET_TTL = env.int("WS_TICKET_TTL", default=30)
# Pages that may open the live WebSockets besides the site itself (core/websocket.py): compared
# exactly, scheme + host + port ("https://*.example.kr" for subdomains). A socket without an
# Origin (a native app) needs a ticket issued to an app's session token instead.
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=CSRF_TRUSTED_ORIGINS)
BALLOT_THROTTLE_USER = env.str("BALLOT_THROTTLE_USER", default="30/min")
BALLOT_THROTTLE_IP = env.str("BALLOT_THROTTLE_IP", default="600/min")

# --- Citizen participation: proposals and comments -----------------------------------------------
# A proposal goes to the officials' moderation queue when this many citizens support it within
# PROPOSAL_SUPPORT_DAYS; otherwise it expires.
PROPOSAL_SUPPORT_THRESHOLD = env.int("PROPOSAL_SUPPORT_THRESHOLD", default=50)
PROPOSAL_SUPPORT_DAYS = env.int("PROPOSAL_SUPPORT_DAYS", default=30)
PROPOSAL_MAX_OPEN_PER_CITIZEN = env.int("PROPOSAL_MAX_OPEN_PER_CITIZEN", default=3)
# Proposing, adding images, supporting and withdrawing, per citizen.
PROPOSAL_THROTTLE = env.str("PROPOSAL_THROTTLE", default="20/min,200/day")
COMMENT_MAX_LENGTH = env.int("COMMENT_MAX_LENGTH", default=1000)
# Replies shown under each comment in a thread; the rest are fetched on demand.
COMMENT_REPLIES_PREVIEW = env.int("COMMENT_REPLIES_PREVIEW", default=3)
# Posting comments, and the lighter actions (likes, reports, deletions), per citizen.
COMMENT_THROTTLE = env.str("COMMENT_THROTTLE", default="5/min,50/day")
COMMENT_REACTION_THROTTLE = env.str("COMMENT_REACTION_THROTTLE", default="60/min,1000/day")
# Redeeming private polls' invitation codes, per citizen: every attempt counts (against guessing).
INVITATION_REDEEM_THROTTLE = env.str("INVITATION_REDEEM_THROTTLE", default="5/min,20/day")
# A poll stays open for discussion this long after it closes.
COMMENT_WINDOW_AFTER_CLOSE_DAYS = env.int("COMMENT_WINDOW_AFTER_CLOSE_DAYS", default=30)

# --- Notifications: outbox, Celery workers, push ------------------------------------------------
# With Redis, events go to Celery workers through Redis (docker-compose: `worker` and `beat`).
# Without it (the embedded default) tasks run in process: the server runs Celery beat on a thread
# and the scan it schedules delivers the outbox (config/tasks_in_process.py).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER",
    default=not CELERY_BROKER_URL.startswith(("redis", "rediss", "amqp")),
)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Keys of separate deployments (and CI runs) sharing one Redis stay apart.
    "global_keyprefix": env.str("CELERY_KEY_PREFIX", default="mvoting-celery:"),
    # An unacknowledged task (its worker died) is given to another worker after this long; the
    # outbox scan (below) usually resumes the work sooner.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
}
# A task is acknowledged when done, not when received: a killed worker's task runs again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"  # the schedule is in code; nothing to persist
# `make run` sets it: the server runs the schedule below on a thread (config/tasks_in_process.py).
TASKS_IN_PROCESS = env.bool("TASKS_IN_PROCESS", default=False)
NOTIFY_SCAN_SECONDS = env.float("NOTIFY_SCAN_SECONDS", default=30.0)
# Every periodic job of the project, by task name, each in its owner's tasks.py (a test checks
# that each name is a registered task). All are idempotent: a late or doubled tick is harmless.
CELERY_BEAT_SCHEDULE = {
    "voting-announce-opened": {
        "task": "voting.tasks.announce_opened_polls",
        "schedule": NOTIFY_SCAN_SECONDS,
    },
    "voting-remind-closing": {
        "task": "voting.tasks.remind_closing_polls",
        "schedule": NOTIFY_SCAN_SECONDS,
    },
    "proposals-expire": {
        "task": "proposals.tasks.expire_due_proposals",
        "schedule": NOTIFY_SCAN_SECONDS,
    },
    # Resumes every unfinished outbox event (and, in process, delivers the new ones).
    "notifications-scan": {"task": "notifications.tasks.scan", "schedule": NOTIFY_SCAN_SECONDS},
    # Housekeeping, hourly, each run a bounded number of short DELETEs (docs/operations/
    # housekeeping.md): expired idempotency records, expired sessions, old inbox rows.
    "voting-purge-idempotency-keys": {
        "task": "voting.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "accounts-clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": 3600.0,
    },
    "notifications-purge-old-inbox": {
        "task": "notifications.tasks.purge_old_inbox",
        "schedule": 3600.0,
    },
}
# Citizens' inbox rows older than this go (their events stay: notifications/housekeeping.py).
NOTIFY_INBOX_RETENTION_DAYS = env.int("NOTIFY_INBOX_RETENTION_DAYS", default=180)
# Remind those who have not voted this long before a poll closes.
NOTIFY_CLOSING_REMINDER_HOURS = env.float("NOTIFY_CLOSING_REMINDER_HOURS", default=24.0)
# No pushes in these hours, Seoul time ("21-8"; empty: none): they go out when it ends.
NOTIFY_QUIET_HOURS = env.str("NOTIFY_QUIET_HOURS", default="21-8")
# Inbox rows written per query, and pushes handed to the backend per call.
NOTIFY_FANOUT_BATCH = env.int("NOTIFY_FANOUT_BATCH", default=5000)
NOTIFY_PUSH_BATCH = env.int("NOTIFY_PUSH_BATCH", default=500)
PUSH_BACKEND = env.str("PUSH_BACKEND", default="notifications.push.LogPushBackend")
# The real providers (docs/operations/push.md): PUSH_BACKEND=
# notifications.push_providers.routing.PlatformPushBackend (Android → FCM, iOS → APNs). Each is
# required only once a device of its platform is pushed to.
FCM_SERVICE_ACCOUNT_FILE = env.str("FCM_SERVICE_ACCOUNT_FILE", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")  # empty: the key file's project_id
FCM_ENDPOINT = env.str("FCM_ENDPOINT", default="https://fcm.googleapis.com")
APNS_KEY_FILE = env.str("APNS_KEY_FILE", default="")  # the team's .p8 signing key
APNS_KEY_ID = env.str("APNS_KEY_ID", default="")
APNS_TEAM_ID = env.str("APNS_TEAM_ID", default="")
APNS_TOPIC = env.str("APNS_TOPIC", default="")  # the iOS app's bundle id
APNS_USE_SANDBOX = env.bool("APNS_USE_SANDBOX", default=False)
APNS_ENDPOINT = env.str("APNS_ENDPOINT", default="")  # empty: Apple's, by APNS_USE_SANDBOX
PUSH_CA_FILE = env.str("PUSH_CA_FILE", default="")  # empty: the system's trust store
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=86400)  # undelivered after: dropped
PUSH_TIMEOUT_SECONDS = env.float("PUSH_TIMEOUT_SECONDS", default=10.0)
PUSH_CONCURRENCY = env.int("PUSH_CONCURRENCY", default=100)  # sends in flight per batch
