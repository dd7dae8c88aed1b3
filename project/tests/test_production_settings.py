"""
Production start-up: DJANGO_DEBUG=0 without a strong DJANGO_SECRET_KEY must fail
loudly at import, before a single request is served. Each case imports the settings
module in a fresh interpreter, exactly as gunicorn would.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"  # 56 characters


def import_settings(expression="'DEBUG', s.DEBUG", **env):
    """Import the settings in a fresh interpreter with only `env` configured; print `expression`."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS", "SESSIONS"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import project.settings as s; print({expression})"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "secret_key,message",
    [
        (None, "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0"),
        ("", "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0"),
        ("short-but-random-Zq8", "DJANGO_SECRET_KEY is too weak for production"),
        ("django-insecure-" + "x" * 60, "DJANGO_SECRET_KEY is too weak for production"),
    ],
)
def test_production_refuses_to_start_without_a_strong_secret_key(secret_key, message):
    env = {"DJANGO_DEBUG": "0"}
    if secret_key is not None:
        env["DJANGO_SECRET_KEY"] = secret_key
    result = import_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_starts_with_a_strong_secret_key():
    result = import_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DEBUG False"


def test_local_use_needs_no_secret_key():
    result = import_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DEBUG True"


@pytest.mark.parametrize(
    "env,secure",
    [
        ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": STRONG_KEY}, "True True True"),
        (
            {
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": STRONG_KEY,
                "DJANGO_SECURE_COOKIES": "0",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
            },
            "False False False",
        ),
    ],
)
def test_production_is_secure_unless_make_serve_relaxes_it(env, secure):
    result = import_settings("s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE", **env)
    assert result.stdout.strip() == secure, result.stderr


@pytest.mark.parametrize(
    "env,pool",
    [
        (
            {"DATABASE_URL": "postgres://clinic@db/clinic"},
            "{'min_size': 2, 'max_size': 4, 'timeout': 1, 'reconnect_timeout': 5} 0",
        ),
        (
            {"DATABASE_URL": "postgres://clinic@db/clinic", "DATABASE_POOL": "0", "DATABASE_CONN_MAX_AGE": "60"},
            "None 60",
        ),
        # SQLite: each thread keeps its connection, unless told otherwise.
        ({"DATABASE_URL": "sqlite:///x.sqlite3"}, "None None"),
        ({"DATABASE_URL": "sqlite:///x.sqlite3", "DATABASE_CONN_MAX_AGE": "0"}, "None 0"),
    ],
)
def test_postgresql_uses_the_connection_pool_unless_told_otherwise(env, pool):
    result = import_settings(
        "s.DATABASES['default'].get('OPTIONS', {}).get('pool'), s.DATABASES['default']['CONN_MAX_AGE']", **env
    )
    assert result.stdout.strip() == pool, result.stderr


@pytest.mark.parametrize(
    "url,timeout",
    [
        ("postgres://clinic@db/clinic", "2"),
        ("postgres://clinic@db/clinic?connect_timeout=7", "7"),
        ("sqlite:///x", "None"),
    ],
)
def test_postgresql_gives_up_on_a_silent_server_after_a_few_seconds(url, timeout):
    result = import_settings("s.DATABASES['default']['OPTIONS'].get('connect_timeout')", DATABASE_URL=url)
    assert result.stdout.strip() == timeout, result.stderr


def test_redis_gives_up_after_a_second_and_retries_a_dead_connection_once():
    result = import_settings(
        "s.CACHES['default']['OPTIONS']['SOCKET_TIMEOUT'], s.CACHES['default']['OPTIONS']['SOCKET_CONNECT_TIMEOUT'],"
        "s.CACHES['default']['OPTIONS']['CONNECTION_POOL_KWARGS']['retry'].get_retries()",
        REDIS_URL="redis://cache:6379/0",
    )
    assert result.stdout.split() == ["1", "1", "1"], result.stderr


def test_pool_and_persistent_connections_together_fail_clearly():
    result = import_settings(DATABASE_URL="postgres://clinic@db/clinic", DATABASE_CONN_MAX_AGE="60")
    assert result.returncode != 0
    assert "DATABASE_CONN_MAX_AGE only with DATABASE_POOL=0" in result.stderr


@pytest.mark.parametrize(
    "env,engine",
    [
        ({}, "project.sessions.cached_db"),
        ({"REDIS_URL": "redis://cache:6379/0"}, "project.sessions.cache"),
        ({"REDIS_URL": "redis://cache:6379/0", "SESSIONS_IN_REDIS": "0"}, "project.sessions.cached_db"),
    ],
)
def test_sessions_live_in_redis_when_there_is_one(env, engine):
    result = import_settings("s.SESSION_ENGINE, s.CACHES['default']['BACKEND']", **env)
    backend = "django_redis.cache.RedisCache" if "REDIS_URL" in env else "django.core.cache.backends.locmem.LocMemCache"
    assert result.stdout.split() == [engine, backend], result.stderr
