"""
`python -m bench.profile`: where a request's time goes, in process, before `make bench`.

The same clinic as `make bench` (bench/seed.py) in a SQLite file (or PostgreSQL with
BENCH_DATABASE=postgres), a throwaway redis-server, production settings (DEBUG off). Each
endpoint is called through Django's WSGI handler itself (no test client, whose template
instrumentation would distort the figures), a few hundred times, and reported as CPU per
request (time.process_time), Redis commands per request (the server's own count) and
queries per request. `--profile poll` (or any endpoint's name) prints cProfile's heaviest
functions for it; `--pyinstrument poll` a call tree, if pyinstrument is installed.

    .venv/bin/python -m bench.profile                 # the table
    .venv/bin/python -m bench.profile --profile poll  # and a profile of the status poll
"""

import argparse
import collections
import cProfile
import gc
import io
import itertools
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

from bench.__main__ import RESULTS, Database, Redis, seeded_clinic

BASE_DIR = Path(__file__).resolve().parent.parent
PATIENTS = 200


def environ_for(path: str, session_key: str | None, htmx: bool) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if session_key:
        environ["HTTP_COOKIE"] = f"sessionid={session_key}"
    if htmx:
        environ["HTTP_HX_REQUEST"] = "true"
    return environ


def call(application, environ: dict) -> tuple[str, bytes]:
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    response = application(dict(environ, **{"wsgi.input": io.BytesIO()}), start_response)
    try:
        body = b"".join(response)
    finally:
        # What a WSGI server does after each response: Django's request_finished (the database
        # connection handed back to its pool, or closed past CONN_MAX_AGE) is part of a request.
        response.close()
    return answer["status"], body


def redis_commands(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).info("stats")["total_commands_processed"])


def redis_monitor(url: str, request) -> list[str]:
    """The commands Redis received while `request()` ran (MONITOR, on a connection of its own)."""
    import threading

    import redis

    seen: list[str] = []
    ready = threading.Event()

    def listen():
        with redis.Redis.from_url(url).monitor() as monitor:
            ready.set()
            for event in monitor.listen():
                if event["command"] == "PING":
                    break
                seen.append(event["command"][:160])

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait()
    time.sleep(0.2)
    request()
    redis.Redis.from_url(url).ping()
    listener.join(5)
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="requests per endpoint (default 500)")
    parser.add_argument("--profile", metavar="ENDPOINT", help="print cProfile's heaviest functions for ENDPOINT")
    parser.add_argument("--pyinstrument", metavar="ENDPOINT", help="print pyinstrument's call tree for ENDPOINT")
    parser.add_argument("--commands", metavar="ENDPOINT", help="print the Redis commands of one request to ENDPOINT")
    parser.add_argument("--queries", metavar="ENDPOINT", help="print the SQL of ENDPOINT, each statement timed")
    parser.add_argument("--only", metavar="ENDPOINT", action="append", help="measure only these endpoints")
    arguments = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    if os.environ.get("BENCH_DATABASE") != "postgres":
        os.environ["BENCH_DATABASE"] = "sqlite"
    database, redis_server = Database(), Redis()
    try:
        clinic = seeded_clinic(database, redis_server)
        from django.core.wsgi import get_wsgi_application
        from django.db import connection

        from bench.seed import session_for

        # Requests go round the waiting patients, as in make bench: none meets a rate limit.
        patients = [(session_for(patient), pk) for patient, pk in clinic["waiting"][:PATIENTS]]
        doctor_key = session_for(clinic["busy_doctor"])
        endpoints = {
            "noop": [environ_for("/bench/noop/", None, False)],
            "noop-logged-in": [environ_for("/bench/noop-logged-in/", key, False) for key, _ in patients],
            "poll": [environ_for(f"/telemedicine/appointment/{pk}/check-status/", key, True) for key, pk in patients],
            "dashboard": [environ_for("/appointments/", doctor_key, False)],
            "detail": [environ_for(f"/telemedicine/appointment/{pk}/detail/", key, False) for key, pk in patients],
        }
        application = get_wsgi_application()
        # The seeding left this process a heap of 50,000 appointments' worth of objects, which a
        # gunicorn worker does not have: frozen, the garbage collector no longer walks them on
        # every full collection (they doubled a signed-in request's CPU here, 1.75 -> 0.93 ms).
        gc.collect()
        gc.freeze()
        turns = {name: itertools.cycle(environs) for name, environs in endpoints.items()}

        def request(name: str) -> tuple[str, bytes]:
            return call(application, next(turns[name]))

        print(f"{database.kind}; {redis_server.kind}; {arguments.requests} requests per endpoint")
        print("| endpoint | status | CPU µs/request | Redis commands/request | queries/request | body bytes |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for name in endpoints:
            if arguments.only and name not in arguments.only:
                continue
            count = arguments.requests if name != "dashboard" else max(20, arguments.requests // 10)
            # Warm: imports, templates, connections, and each person's cached user (from their second request).
            for _ in range(2 * len(endpoints[name]) + 10):
                request(name)
            queries: list[str] = []

            def count_query(execute, sql, params, many, context, queries=queries):
                queries.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count_query):
                _, body = request(name)
            commands = redis_commands(redis_server.url)
            request(name)
            commands = redis_commands(redis_server.url) - commands - 1  # less INFO itself
            statuses = collections.Counter()
            started = time.process_time()
            for _ in range(count):
                statuses[request(name)[0]] += 1
            cpu_us = (time.process_time() - started) / count * 1e6
            answers = ", ".join(f"{n} x {answer}" for answer, n in statuses.items())
            print(f"| {name} | {answers} | {cpu_us:,.0f} | {commands} | {len(queries)} | {len(body):,} |")
        if arguments.commands:
            print(f"Redis commands of one request to {arguments.commands}:")
            for command in redis_monitor(redis_server.url, lambda: request(arguments.commands)):
                print("  ", command)
        if arguments.queries:
            print(f"SQL of one request to {arguments.queries}:")
            timings: dict[int, list[float]] = collections.defaultdict(list)
            statements: list[str] = []

            def record(execute, sql, params, many, context):
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    timings[len(statements)].append(time.perf_counter() - started)
                    statements.append(sql)

            for _ in range(20):
                statements.clear()
                with connection.execute_wrapper(record):
                    request(arguments.queries)
            for index, sql in enumerate(statements):
                shown = sql if os.environ.get("BENCH_FULL_SQL") else sql[:300]
                print(f"   {statistics.median(timings[index]) * 1e3:6.2f} ms  {shown}")
        if arguments.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on Redis or the database
            profiler.enable()
            for _ in range(arguments.requests):
                request(arguments.profile)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
            print(out.getvalue())
        if arguments.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            with profiler:
                for _ in range(arguments.requests):
                    request(arguments.pyinstrument)
            print(profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("BENCH_SHOW_ALL"))))
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        database.stop()
        redis_server.stop()


if __name__ == "__main__":
    main()
