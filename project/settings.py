"""
Settings for the clinic. One module for every environment: each value that
differs between a laptop and production is read from the environment, with a
default that is safe for local use. docs/configuration.md lists them all.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core ---------------------------------------------------------------------

# Local use is the default; production says DJANGO_DEBUG=0 and must then bring a real key.
DEBUG = env_bool("DJANGO_DEBUG", True)

_DEVELOPMENT_SECRET_KEY = "django-insecure-local-development-key-never-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY
elif not DEBUG and (SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is too weak for production: use at least 50 random characters.")

# Where people reach the app: emails and the demo's printed logins link here (no trailing slash).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "template_partials",
    "js_lib_bootstrap5",
    "csp",
    "axes",
    # Background work: django-tasks (the backport of Django 6's django.tasks) with its
    # database backend, run by `manage.py run_worker` (docs/notifications.md).
    "django_tasks",
    "django_tasks_db",
    "appointments",
    "telemedicine",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and partials gzipped (static files come precompressed from whitenoise, above):
    # a busy doctor's dashboard, refreshed every 30 s, shrinks to a tenth (docs/performance.md).
    # Django pads each answer with random bytes against BREACH ("Heal The Breach").
    "django.middleware.gzip.GZipMiddleware",
    # The security headers, outside everything that may answer early (the outage 503s below):
    # they need no session, and every answer carries them.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the settings' policy built once per process, not on every answer.
    "project.csp.CSPMiddleware",
    "project.middleware.PermissionsPolicyMiddleware",
    # Django's, but a session that cannot be saved back during an outage keeps the view's answer.
    "project.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user read in the session's own round trip to the cache.
    "appointments.auth_backends.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "project.middleware.HtmxLoginRedirectMiddleware",
    # Redis or the database unreachable: 503 with Retry-After, never the login page (project/outages.py).
    "project.outages.ServiceUnavailableMiddleware",
    # Cache-Control: private, no-store on everything a signed-in person is sent. Inside the outage
    # check, which has read the user already (or answered its own no-store 503): asking again for a
    # user that could not be read would turn the 503 into a server error.
    "project.middleware.PrivatePagesMiddleware",
    # A session's two clocks (idle, absolute): after the outage check, so an unreachable store is a
    # 503 (page or htmx notice) before anything reads the session here.
    "project.middleware.SlidingSessionMiddleware",
    # Abuse limits (project/rate_limits.py): 429 (project.errors.too_many_requests), page or partial.
    "project.rate_limits.AbuseLimitMiddleware",
    # Axes last, as its documentation asks: it must see the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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
                "telemedicine.context_processors.telemedicine",
                "appointments.context_processors.clinic",
            ],
            # {% remember %}: pieces rendered once per process for the values they show (project/fragments.py).
            "libraries": {"fragments": "project.fragments"},
        },
    },
]

# Form fields render through templates/forms/field.html (project/forms.py); TemplatesSetting
# finds Django's own form templates through "django.forms" in INSTALLED_APPS.
FORM_RENDERER = "project.forms.ClinicFormRenderer"

# --- Database -----------------------------------------------------------------

# SQLite is the embedded default; DATABASE_URL=postgres://... selects PostgreSQL (psycopg 3).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
    # psycopg 3's pool, one per gunicorn worker process, shared by its threads: a request
    # borrows an open connection instead of paying PostgreSQL's connection set-up.
    # Django refuses a pool together with persistent connections (CONN_MAX_AGE > 0): the
    # pool is the persistence. DATABASE_POOL=0 falls back to DATABASE_CONN_MAX_AGE (e.g.
    # behind PgBouncer in transaction mode, which pools for every instance at once).
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "Set DATABASE_CONN_MAX_AGE only with DATABASE_POOL=0: the pool keeps connections open."
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 4),
        # Seconds a request waits for a connection before failing (503, project/outages.py).
        # With GUNICORN_THREADS <= max_size a thread never waits for another one, only for
        # PostgreSQL: while it is down, each request then gives up after a second.
        "timeout": 1,
        # The pool reconnects in the background with a growing delay (1, 2, 4, 8 s...); giving
        # up after 5 s and starting afresh on the next request keeps that delay short, so
        # every worker serves again within a few seconds of PostgreSQL's return.
        "reconnect_timeout": 5,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # libpq waits this long for a new connection (2 s is its minimum), not the TCP default
    # of minutes when the server's address does not answer. DATABASE_URL may say otherwise.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing with "database is locked" under concurrent polls.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Each thread keeps its connection: opening one (the file, WAL, Django's SQL functions) cost
    # a status poll about a fifth of its CPU (docs/performance.md). No server to hold it open.
    if not os.environ.get("DATABASE_CONN_MAX_AGE"):
        DATABASES["default"]["CONN_MAX_AGE"] = None
    # Tests use a file, not shared-cache memory, so threads in the concurrency tests meet
    # SQLite's real locking (memory raises "table is locked" instead of waiting). One file
    # per process, so test runs side by side never share it; Django deletes it afterwards.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"clinic-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions ------------------------------------------------------------


def redis_cache(location: str) -> dict[str, Any]:
    """
    The cache with REDIS_URL. django-redis rather than Django's own RedisCache: it keeps one
    client per process (Django's builds a new redis.Redis for every command), and gives
    project.cache_batch its connections for pipelines: a request's counters and marks go
    to Redis in one round trip.
    """
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "OPTIONS": {
            # A Redis that is down or hung costs a request at most a second before its 503
            # page (project/outages.py), and /readyz's PING no more.
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # After a Redis restart every pooled connection is dead: a command that finds one
            # is sent once more on a new connection instead of failing its request. Timeouts
            # are not retried (a hung Redis would cost two seconds).
            "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))},
        },
    }


REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {"default": redis_cache(REDIS_URL)}
else:
    # Per process. Sessions (cached_db) and rate-limit counters share it: LocMemCache's
    # default of 300 entries would evict sessions as soon as a few hundred patients poll,
    # sending every poll back to the database (make bench showed it).
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 20_000}}
    }

# Abuse limits (project/rate_limits.py) count in the default cache: per process with
# LocMemCache, which is right for one local process; production runs several workers and must
# set REDIS_URL so they share one count (docs/security.md), which `check --deploy` says
# (appointments.W001). ABUSE_LIMITS_CACHE names another cache for them, if a deployment wants one.
ABUSE_LIMITS_CACHE = "default"

# Sessions live in the database, read through the cache: polls stay cheap and logout
# (which deletes the row and the cache entry) invalidates a session everywhere.
# Django's stores, except that a cache that cannot be reached is an outage (503), not
# "no session" (project/sessions/).
SESSION_ENGINE = "project.sessions.cached_db"
if REDIS_URL and env_bool("SESSIONS_IN_REDIS", True):
    # Several instances share Redis: sessions live there alone, so a status poll (which
    # slides the idle timeout, see below) writes nothing to the database. Logout still ends
    # a session everywhere. A Redis restart without persistence (appendonly yes) logs
    # everyone out: SESSIONS_IN_REDIS=0 keeps them in the database, read through Redis.
    SESSION_ENGINE = "project.sessions.cache"
# Idle timeout: a session ends after this many seconds without a request a person made.
# Pages that poll on their own say so (project/sessions/lifetimes.mark_poll): a status card's polls
# count only while its visit is near or open (telemedicine.access.poll_keeps_session_alive),
# the dashboard's refresh never; the room page's heartbeats count, so a call never times out.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
# Absolute lifetime: seconds from signing in after which a session ends whatever happens
# (a working day), so a screen left signed in on a shared computer signs out by itself.
SESSION_ABSOLUTE_LIFETIME = env_int("SESSION_ABSOLUTE_LIFETIME", 10 * 60 * 60)
# The timeout slides with every request, but the session is saved at most once a minute
# (project.middleware.SlidingSessionMiddleware), not on each status poll.
SESSION_REFRESH_INTERVAL = 60

# --- Auth -----------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with the logged-in user read from the cache (appointments/auth_backends.py).
    "appointments.auth_backends.CachedModelBackend",
    # One-tap sign-in links (telemedicine/sign_in.py): django-sesame checks their tokens.
    "sesame.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# A form sent from a page too old for its CSRF token: the clinic's own 403 page, saying so.
CSRF_FAILURE_VIEW = "project.errors.csrf_failure"
LOGIN_REDIRECT_URL = "appointments:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login guessing: lock a username+IP pair out after AXES_FAILURE_LIMIT failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# One count per account, however the username is spelled (NFKC, case-folded; project/login.py).
AXES_USERNAME_CALLABLE = "project.login.axes_username"

# --- The client's address behind proxies ------------------------------------------------
# Lock-outs (axes), the per-address rate limits (project/rate_limits.client_address) and the
# audit trail (telemedicine/audit.client_ip) all ask axes, which asks django-ipware, so the
# three always agree. Proxies APPEND to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for,
# cloud load balancers): the client writes the first entries, so only the last ones can be
# trusted. CLIENT_IP_PROXY_COUNT is how many entries the clinic's proxies append (nginx
# alone: 1, the client's address; a load balancer then nginx: 2); CLIENT_IP_TRUSTED_PROXIES
# instead names what the header must end with after the client's entry (the proxies'
# addresses, one prefix per entry, in order). docs/deploying.md shows each set-up.
CLIENT_IP_PROXY_COUNT = env_int("CLIENT_IP_PROXY_COUNT", 0)
CLIENT_IP_TRUSTED_PROXIES = env_list("CLIENT_IP_TRUSTED_PROXIES", [])
if CLIENT_IP_PROXY_COUNT < 0 or any("/" in proxy for proxy in CLIENT_IP_TRUSTED_PROXIES):
    raise ImproperlyConfigured(
        "CLIENT_IP_PROXY_COUNT must be 0 or more, and CLIENT_IP_TRUSTED_PROXIES lists addresses or "
        "prefixes such as 10.0.0. (no /networks): see docs/deploying.md."
    )
BEHIND_PROXIES = bool(CLIENT_IP_PROXY_COUNT or CLIENT_IP_TRUSTED_PROXIES)
AXES_IPWARE_META_PRECEDENCE_ORDER = env_list(
    "CLIENT_IP_HEADERS", ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if BEHIND_PROXIES else ["REMOTE_ADDR"]
)
# ipware counts the entries after the client's (its "proxies"): the client's entry is the Nth from the end.
AXES_IPWARE_PROXY_COUNT = CLIENT_IP_PROXY_COUNT - 1 if CLIENT_IP_PROXY_COUNT else None
AXES_IPWARE_PROXY_TRUSTED_IPS = CLIENT_IP_TRUSTED_PROXIES or None
# Not strict: a client that prepends entries is still found at its place from the right,
# rather than the whole header being dropped (which would lump it with the proxy's address).
IPWARE_STRICT = False
# ipware's "legacy" (django-ipware 7) algorithm splits the header on commas, as proxies
# write it. The newer one reads quotes and RFC 7239 syntax in X-Forwarded-For, so a client
# sending `for=203.0.113.66;x="` makes the entry the proxy appended part of its own quoted
# string, and is then taken at its word, strict or not (project/tests/test_client_address.py).
IPWARE_ALGORITHM = "legacy"

# --- Internationalisation, time -------------------------------------------------

LANGUAGE_CODE = "en-gb"
# The clinic's date and time formats everywhere Django writes one itself, the admin included:
# taken from appointments/clinic_time.py, the one home of how a date and a time are written.
FORMAT_MODULE_PATH = ["appointments.formats"]
# The clinic's wall clock: appointment dates and times are read in this zone.
TIME_ZONE = os.environ.get("CLINIC_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Files a browser asks for at the site's root (favicon.ico), served by whitenoise as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
WHITENOISE_USE_FINDERS = DEBUG
# Locally, look static files up on request instead of indexing them all whenever the
# middleware starts (each test client starts it). Production indexes once.
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security headers -------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and orchestrators probe /healthz and /readyz over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz)/?$"]
# Cookies only over HTTPS in production. DJANGO_SECURE_COOKIES=0 exists for `make serve`
# and `make bench` on http://127.0.0.1 only; never set it on a server people use.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# The preload token only asks; the domain enters browsers' lists once submitted to hstspreload.org.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Room URLs carry an appointment id; never tell another origin where the user came from.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- The clinic --------------------------------------------------------------------

# Who the clinic is, as patients see it: pages, emails and calendar files use these.
CLINIC_NAME = os.environ.get("CLINIC_NAME", "Riverside Clinic")
CLINIC_PHONE = os.environ.get("CLINIC_PHONE", "")
CLINIC_ADDRESS = os.environ.get("CLINIC_ADDRESS", "")
# What the scheduling form offers first: "video" or "clinic" (a visit at the clinic).
DEFAULT_VISIT_KIND = os.environ.get("DEFAULT_VISIT_KIND", "clinic")
if DEFAULT_VISIT_KIND not in {"video", "clinic"}:
    raise ImproperlyConfigured(f"DEFAULT_VISIT_KIND must be video or clinic, got {DEFAULT_VISIT_KIND!r}.")
# Minutes a visit is planned to take: the calendar file's end, and the video call's planned length.
APPOINTMENT_MINUTES = env_int("APPOINTMENT_MINUTES", 30)

# --- Email, notifications, background work -----------------------------------------

# EMAIL_URL in the dj-email-url format: smtp://user:password@mail.example:587/?tls=True,
# or console: (every email printed by the worker). Locally the default is the console.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
_email = dj_email_url.parse(EMAIL_URL or "console:")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
# Seconds an SMTP conversation may take before the worker gives up and retries later.
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 20
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"{CLINIC_NAME} <appointments@clinic.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
NOTIFICATIONS = {
    # Reminders (hours before the start); the video visit's "join now" goes out when its window opens.
    "REMINDER_HOURS_BEFORE": env_int("REMINDER_HOURS_BEFORE", 24),
    "CALL_OPEN_REMINDER": env_bool("CALL_OPEN_REMINDER", True),
    # A failed send is retried with a growing delay (1, 2, 4... minutes, at most an hour) for this long.
    "RETRY_FOR_HOURS": env_int("EMAIL_RETRY_FOR_HOURS", 24),
}

# One-tap sign-in links (django-sesame): valid until the visit's call window closes, and
# never longer than this. Single use, for patients only (telemedicine/sign_in.py).
SIGN_IN_LINK_MAX_DAYS = env_int("SIGN_IN_LINK_MAX_DAYS", 14)
SESAME_MAX_AGE = SIGN_IN_LINK_MAX_DAYS * 24 * 3600
SESAME_TOKEN_NAME = "t"
# Guests (an interpreter, a relative) a video visit may have at once (telemedicine/guests.py).
GUESTS_PER_VISIT = env_int("GUESTS_PER_VISIT", 2)
# Password reset links expire after this many seconds.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 2 * 3600)

# --- Telemedicine -----------------------------------------------------------------

JITSI_DOMAIN = os.environ.get("JITSI_DOMAIN", "meet.jit.si")

TELEMEDICINE_SETTINGS = {
    # Minutes before / after the scheduled start during which the call can be joined.
    "CALL_WINDOW_BEFORE": env_int("CALL_WINDOW_BEFORE", 10),
    "CALL_WINDOW_AFTER": env_int("CALL_WINDOW_AFTER", 30),
    # False hides every video-visit control and withholds every room.
    "ENABLE_JITSI_INTEGRATION": env_bool("ENABLE_JITSI_INTEGRATION", True),
    # None means "use JITSI_DOMAIN" (resolved at request time, so overrides of either work).
    "JITSI_DOMAIN": None,
    # Passed to Jitsi's config (p2p.stunServers).
    "WEBRTC_STUN_SERVERS": env_list("WEBRTC_STUN_SERVERS", ["stun:meet-jit-si-turnrelay.jitsi.net:443"]),
    # Privacy first: Jitsi offers no recording unless the clinic switches it on.
    "RECORDING_ENABLED": env_bool("RECORDING_ENABLED", False),
    # Where the clinic's Jibri stores recordings; checked by `manage.py check` when recording is on.
    "RECORDING_PATH": os.environ.get("RECORDING_PATH", str(BASE_DIR / "recordings")),
    # Minutes: the planned length of a visit (the room page warns when it is reached).
    "DEFAULT_SESSION_DURATION": env_int("DEFAULT_SESSION_DURATION", APPOINTMENT_MINUTES),
    # Minutes: no single call lasts longer than this from the moment the room page opened.
    "MAX_SESSION_DURATION": env_int("MAX_SESSION_DURATION", 60),
    # Minutes after the scheduled start at which any call still in progress is ended.
    "AUTO_END_SESSION_AFTER": env_int("AUTO_END_SESSION_AFTER", 45),
    # Seconds between the status card's steady polls (it also polls exactly when the window opens).
    "STATUS_POLL_INTERVAL": env_int("STATUS_POLL_INTERVAL", 10),
    # Minutes before the call window opens from which the status card's polls keep the
    # session alive (project/sessions/lifetimes.py); earlier polls let an unattended screen time out.
    "SESSION_KEEPALIVE_LEAD": env_int("SESSION_KEEPALIVE_LEAD", 60),
    # Seconds between the doctor's "Waiting now" panel's polls while someone waits, and while nobody does.
    "WAITING_PANEL_POLL_BUSY": env_int("WAITING_PANEL_POLL_BUSY", 5),
    "WAITING_PANEL_POLL_IDLE": env_int("WAITING_PANEL_POLL_IDLE", 15),
    # Which Jitsi the rooms run on: "public" (JITSI_DOMAIN, no tokens), "self_hosted" (your
    # Jitsi with Prosody token auth, HS256) or "jaas" (8x8 Jitsi as a Service, RS256).
    # docs/jitsi.md explains each. Secrets come from the environment only.
    "JITSI_MODE": os.environ.get("JITSI_MODE", "public"),
    # self_hosted: Prosody's app_id and app_secret (or a file holding the secret).
    "JITSI_APP_ID": os.environ.get("JITSI_APP_ID", ""),
    "JITSI_APP_SECRET": os.environ.get("JITSI_APP_SECRET", ""),
    "JITSI_APP_SECRET_FILE": os.environ.get("JITSI_APP_SECRET_FILE", ""),
    # Token modes: the patient waits in Jitsi's lobby until the doctor admits them.
    "JITSI_LOBBY_ENABLED": env_bool("JITSI_LOBBY_ENABLED", True),
    # jaas: the tenant (vpaas-magic-cookie-...), the API key's id and its private key file.
    "JAAS_APP_ID": os.environ.get("JAAS_APP_ID", ""),
    "JAAS_KID": os.environ.get("JAAS_KID", ""),
    "JAAS_PRIVATE_KEY_PATH": os.environ.get("JAAS_PRIVATE_KEY_PATH", ""),
    # jaas: features granted to the doctor only (telemedicine.tokens.JAAS_FEATURES lists them all).
    "JAAS_FEATURES": env_list("JAAS_FEATURES", []),
}

# --- Audit trail ---------------------------------------------------------------------
# Days an AccessEvent is kept; `manage.py prune_access_events` (run it daily) deletes older
# ones. Ten years by default: check what your country's medical-records rules require.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 3650)

# --- Content Security Policy (django-csp 4) -----------------------------------------
# The Jitsi origin is added per request by telemedicine.csp (it follows the settings above).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# --- Logging --------------------------------------------------------------------------

LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # Redacts room names, tokens, sign-in links and quoted database values (project/log.py).
        "plain": {
            "()": "project.log.RedactingFormatter",
            "format": "{asctime} {levelname} {name} {message}",
            "style": "{",
        },
    },
    "filters": {"production": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        # stderr: gunicorn's error log, or the journal.
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Django's own console handler takes django.* only with DEBUG on; this one the rest of the time.
        "server_errors": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "level": "ERROR",
            "filters": ["production"],
        },
    },
    "loggers": {
        "telemedicine": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "appointments": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Server errors (500) with their tracebacks, in production too. The path is logged, never
        # the query string; 4xx warnings stay below the handler's level (the access log has them).
        # Records still reach the "django" logger, as before.
        "django.request": {"handlers": ["server_errors"]},
        # Outages, health checks, abuse limits that cannot count (project/outages.py, rate_limits.py).
        "project": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
TELEMEDICINE_LOG_FILE = os.environ.get("TELEMEDICINE_LOG_FILE", "")
if TELEMEDICINE_LOG_FILE:
    LOGGING["handlers"]["telemedicine_file"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": TELEMEDICINE_LOG_FILE,
        "formatter": "plain",
    }
    LOGGING["loggers"]["telemedicine"]["handlers"].append("telemedicine_file")

# `make bench` only: adds the do-nothing view it measures as the throughput ceiling.
BENCH = env_bool("DJANGO_BENCH", False)

# `python manage.py test` runs the same pytest suite as `make test`.
TEST_RUNNER = "project.test_runner.PytestTestRunner"
