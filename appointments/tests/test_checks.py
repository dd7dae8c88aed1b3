"""
appointments.W001: every cache the app keeps what its worker processes must agree on in (the
default cache, the abuse limits' ABUSE_LIMITS_CACHE, the sessions' SESSION_CACHE_ALIAS) is shared.
"""

import pytest

from appointments.checks import check_cache_is_shared

SHARED = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}
PER_PROCESS = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


@pytest.fixture
def shared_caches(settings):
    """Production's layout, with the counters and the sessions in caches of their own."""
    settings.CACHES = {"default": SHARED, "counters": SHARED, "sessions": SHARED}
    settings.ABUSE_LIMITS_CACHE = "counters"
    settings.SESSION_CACHE_ALIAS = "sessions"
    return settings


def test_no_warning_when_every_cache_the_app_relies_on_is_shared(shared_caches):
    assert check_cache_is_shared(None) == []


@pytest.mark.parametrize(
    "alias,holds",
    [
        ("default", "the cached logged-in users"),
        ("counters", "the rate-limit counters"),
        ("sessions", "the sessions"),
    ],
)
def test_a_per_process_cache_the_app_relies_on_is_named(shared_caches, alias, holds):
    shared_caches.CACHES = {**shared_caches.CACHES, alias: PER_PROCESS}
    [warning] = check_cache_is_shared(None)
    assert warning.id == "appointments.W001"
    assert f"{alias!r}" in warning.msg
    assert holds in warning.msg


@pytest.mark.parametrize("setting", ["ABUSE_LIMITS_CACHE", "SESSION_CACHE_ALIAS"])
def test_a_cache_named_but_not_configured_is_named(shared_caches, setting):
    setattr(shared_caches, setting, "elsewhere")
    [warning] = check_cache_is_shared(None)
    assert warning.id == "appointments.W001"
    assert "'elsewhere'" in warning.msg
    assert "not in CACHES" in warning.msg


def test_one_per_process_cache_holding_everything_is_one_warning(settings):
    """The local default: everything in the one LocMemCache, one warning naming all of it."""
    settings.CACHES = {"default": PER_PROCESS}
    settings.ABUSE_LIMITS_CACHE = settings.SESSION_CACHE_ALIAS = "default"
    [warning] = check_cache_is_shared(None)
    assert warning.id == "appointments.W001"
    assert "REDIS_URL is not set" in warning.msg
    for holds in ("the cached logged-in users", "the rate-limit counters", "the sessions"):
        assert holds in warning.msg
