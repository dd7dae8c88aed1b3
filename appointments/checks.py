from django.conf import settings
from django.core import checks

SHARED_CACHES = ("django_redis.cache.RedisCache",)


@checks.register(checks.Tags.security, checks.Tags.caches, deploy=True)
def check_cache_is_shared(app_configs, **kwargs):
    """Production runs several worker processes: what they must agree on lives in the cache."""
    if settings.CACHES["default"]["BACKEND"] in SHARED_CACHES:
        return []
    return [
        checks.Warning(
            "The cache is per process: REDIS_URL is not set.",
            hint=(
                "Set REDIS_URL so that every worker and instance shares the rate-limit counters, "
                "the sessions and the cached logged-in users; otherwise each process counts on its "
                "own, and a deactivated user keeps a copy in the other processes for up to 5 "
                "minutes (docs/deploying.md)."
            ),
            id="appointments.W001",
        )
    ]
