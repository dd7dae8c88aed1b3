"""
gunicorn settings for `make serve`, `make bench` and production (`gunicorn -c project/gunicorn.conf.py`).

Threaded workers (gthread): an idle keep-alive connection (a patient's browser between
two status polls) waits in the worker's poller instead of holding a whole process, and
the threads of one process share its psycopg connection pool. Processes give the
parallelism (the GIL), threads absorb waiting on the database and the network.
"""

import multiprocessing
import os

from gunicorn import glogging

wsgi_app = "project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core plus one is the usual start; WEB_CONCURRENCY overrides (as on most hosts).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Keep DATABASE_POOL_MAX_SIZE >= threads, or threads queue for a connection.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Open polling connections per worker (browsers keep them alive between polls).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "15"))  # > the 10 s poll interval
timeout = 30
graceful_timeout = 20
# Recycle a worker now and then so a slow leak can never grow without bound (0: never; make bench,
# whose bare-Django rounds would otherwise restart workers in the middle of a measurement).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Behind a TLS proxy, trust its X-Forwarded-* headers (set the proxy's address in production).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout
# gunicorn's default line quotes the request line and the Referer, query strings included: a sign-in
# link's ?t=, a guest's ?k=. The path (%(U)s) only, and no Referer; and the path itself through
# project.log.redact (a password-reset link carries its token in the path).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'


class RedactingLogger(glogging.Logger):
    """gunicorn's logger (its documented `logger_class` setting), each access line's values through redact()."""

    def atoms(self, resp, req, environ, request_time):
        from project.log import redact  # the app's own rules; gunicorn reads this file before the app is importable

        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact(value) if isinstance(value, str) else value for name, value in atoms.items()}


logger_class = RedactingLogger
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "clinic"
# gunicorn >= 25's control socket lives at one path per user: two instances (make serve
# and make bench) would fight over it, and nothing here uses gunicornc.
control_socket_disable = True
