#!/usr/bin/env bash
# `make serve`: the app as production runs it (DEBUG off, gunicorn, collectstatic with
# whitenoise's compressed, hashed files), but on http://HOST:PORT of this machine.
#
# Plain http on loopback needs two relaxations, both explicit and both off by default:
# DJANGO_SECURE_SSL_REDIRECT=0 and DJANGO_SECURE_COOKIES=0 (and no HSTS). A real
# deployment sits behind TLS and sets none of them (docs/deploying.md).
# Without DJANGO_SECRET_KEY, a random key is generated once into .serve-secret-key
# (git-ignored, mode 600) so sessions survive a restart.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    key_file=.serve-secret-key
    if [ ! -s "$key_file" ]; then
        (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$key_file")
    fi
    DJANGO_SECRET_KEY=$(cat "$key_file")
    export DJANGO_SECRET_KEY
fi
export DJANGO_DEBUG=0
export DJANGO_SECURE_SSL_REDIRECT=${DJANGO_SECURE_SSL_REDIRECT:-0}
export DJANGO_SECURE_COOKIES=${DJANGO_SECURE_COOKIES:-0}
export DJANGO_HSTS_SECONDS=${DJANGO_HSTS_SECONDS:-0}
export GUNICORN_BIND="$HOST:$PORT"
export GUNICORN_ACCESS_LOG=${GUNICORN_ACCESS_LOG:--}

"$PY" manage.py collectstatic --noinput --verbosity 0
"$PY" manage.py migrate --noinput --verbosity 0
echo "Serving production settings on http://$HOST:$PORT/ (liveness: /healthz, readiness: /readyz; Ctrl+C to stop)"
echo "No demo data is created; for the demo logins run: $PY manage.py seed_demo"
exec .venv/bin/gunicorn --config project/gunicorn.conf.py
