from django.conf import settings
from django.core import checks

SHARED_CACHES = ("django_redis.cache.RedisCache",)


def caches_relied_on() -> dict[str, list[str]]:
    """The caches whose contents every worker process must share, by alias: what each holds."""
    relied_on: dict[str, list[str]] = {}
    for alias, holds in (
        ("default", "the cached logged-in users"),
        ("default", "who is in the waiting room"),
        (settings.ABUSE_LIMITS_CACHE, "the rate-limit counters"),  # project/rate_limits.py
        # Both session engines of the settings (project/sessions) keep the sessions in this cache.
        (settings.SESSION_CACHE_ALIAS, "the sessions"),
    ):
        relied_on.setdefault(alias, []).append(holds)
    return relied_on


@checks.register(checks.Tags.security, checks.Tags.caches, deploy=True)
def check_cache_is_shared(app_configs, **kwargs):
    """Production runs several worker processes: what they must agree on lives in the caches."""
    warnings = []
    for alias, holds in caches_relied_on().items():
        backend = settings.CACHES.get(alias, {}).get("BACKEND")
        if backend in SHARED_CACHES:
            continue
        what = " and ".join([", ".join(holds[:-1]), holds[-1]] if len(holds) > 1 else holds)
        if backend is None:
            problem = "is not in CACHES"
        elif alias == "default":
            problem = "is per process: REDIS_URL is not set"
        else:
            problem = "is per process"
        warnings.append(
            checks.Warning(
                f"The cache {alias!r}, which holds {what}, {problem}.",
                hint=(
                    f"Point {alias!r} at a Redis every worker and instance shares (REDIS_URL does it for "
                    "'default'); otherwise each process keeps its own: the limits are multiplied by the "
                    "number of processes, a session ended in one lives on in the others, and a deactivated "
                    "user keeps a copy in the other processes for up to 5 minutes (docs/deploying.md)."
                ),
                id="appointments.W001",
            )
        )
    return warnings


@checks.register(checks.Tags.security, deploy=True)
def check_email_is_configured(app_configs, **kwargs):
    """In production, invitations and reminders must reach patients, not the worker's console."""
    warnings = []
    if not settings.DEBUG and not getattr(settings, "EMAIL_URL", ""):
        warnings.append(
            checks.Warning(
                "EMAIL_URL is not set: the clinic's emails (invitations, reminders, sign-in links, "
                "password resets) are printed on the worker's console instead of being sent.",
                hint="Set EMAIL_URL, e.g. smtp://user:password@mail.example:587/?tls=True (docs/configuration.md).",
                id="appointments.W003",
            )
        )
    if not settings.DEBUG and not settings.SITE_URL.startswith("https://"):
        warnings.append(
            checks.Warning(
                f"SITE_URL is {settings.SITE_URL!r}: the links in the clinic's emails must be https:// "
                "and point at this site.",
                hint="Set SITE_URL to the address patients use, e.g. https://clinic.example.",
                id="appointments.W004",
            )
        )
    return warnings


# Headers a client can write into: only the entries the clinic's proxies appended count.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_FORWARDED", "HTTP_FORWARDED_FOR")


@checks.register(checks.Tags.security, deploy=True)
def check_forwarded_addresses_are_counted(app_configs, **kwargs):
    """Reading X-Forwarded-For without knowing the proxies lets a client choose its own address."""
    headers = set(settings.AXES_IPWARE_META_PRECEDENCE_ORDER)
    if not headers & set(FORWARDING_HEADERS) or settings.AXES_IPWARE_PROXY_COUNT is not None:
        return []
    if settings.AXES_IPWARE_PROXY_TRUSTED_IPS:
        return []
    return [
        checks.Warning(
            "The client's address is read from a forwarding header, but the proxies are not counted.",
            hint=(
                "Set CLIENT_IP_PROXY_COUNT (or CLIENT_IP_TRUSTED_PROXIES): a client can put any address "
                "in front of what the proxy appends, and escape lock-outs and rate limits with it "
                "(docs/deploying.md)."
            ),
            id="appointments.W002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_clinic_phone_is_set(app_configs, **kwargs):
    """Pages, error pages and emails send patients to the clinic: they must say how to reach it."""
    if settings.DEBUG or settings.CLINIC_PHONE:
        return []
    return [
        checks.Warning(
            "CLINIC_PHONE is not set: pages and emails tell patients to contact the clinic without "
            "giving its number (when a video call fails, a link has expired, a visit is cancelled).",
            hint="Set CLINIC_PHONE (and CLINIC_NAME, CLINIC_ADDRESS): see docs/configuration.md.",
            id="appointments.W005",
        )
    ]
