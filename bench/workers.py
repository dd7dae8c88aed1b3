"""
`python -m bench.workers`: which gunicorn worker class, worker count and threads serve the
status poll best on this machine (docs/performance.md). The clinic of `make bench`, then for
each configuration bare Django and the status poll at full speed (wrk, 16 connections), in
alternating rounds; the best round of each counts. BENCH_DATABASE=sqlite for a quicker run.

    .venv/bin/python -m bench.workers
"""

import os
import time

from bench.__main__ import (
    RESULTS,
    Database,
    Redis,
    Server,
    ensure_wrk,
    free_port,
    run_wrk,
    say,
    seeded_clinic,
    signed_in_waiting,
    write_targets,
)

# (worker class, workers, threads)
CONFIGURATIONS = [
    ("gthread", 3, 4),
    ("gthread", 3, 1),
    ("gthread", 2, 2),
    ("gthread", 2, 1),
    ("sync", 3, 1),
]
ROUNDS = 2
SECONDS = 5


def main():
    RESULTS.mkdir(parents=True, exist_ok=True)
    wrk = ensure_wrk()
    database, redis = Database(), Redis()
    results = []
    try:
        clinic = seeded_clinic(database, redis)
        waiting = signed_in_waiting(clinic)
        status = write_targets(
            "status", [(key, f"/telemedicine/appointment/{pk}/check-status/") for key, pk in waiting]
        )
        bare_targets = write_targets("bare", [("-", "/")])
        say(f"{database.kind}; {redis.kind}")
        for worker_class, workers, threads in CONFIGURATIONS:
            os.environ.update(
                {
                    "GUNICORN_WORKER_CLASS": worker_class,
                    "WEB_CONCURRENCY": str(workers),
                    "GUNICORN_THREADS": str(threads),
                }
            )
            bare = Server(free_port(8866), app="bench.bare.wsgi", name="gunicorn-bare", health_path="/")
            server = Server(free_port(8865))
            try:
                run_wrk(wrk, server.port, status, 8, 2, htmx=True)
                run_wrk(wrk, bare.port, bare_targets, 8, 1)
                best_bare = best_poll = 0.0
                for _ in range(ROUNDS):
                    best_bare = max(best_bare, run_wrk(wrk, bare.port, bare_targets, 16, SECONDS)["rps"])
                    poll = run_wrk(wrk, server.port, status, 16, SECONDS, htmx=True)
                    best_poll = max(best_poll, poll["rps"])
                    if poll["non_2xx"]:
                        say(f"  ({poll['non_2xx']} answers other than 2xx)")
            finally:
                server.stop()
                bare.stop()
            label = f"{worker_class} {workers} x {threads}" if worker_class == "gthread" else f"sync {workers}"
            results.append((label, best_bare, best_poll))
            say(
                f"  {label}: bare {best_bare:,.0f} req/s, poll {best_poll:,.0f} req/s, "
                f"ratio {best_poll / best_bare:.2f}"
            )
            time.sleep(1)
    finally:
        database.stop()
        redis.stop()
    print(f"\n| workers | bare Django req/s | status poll req/s | ratio |  (load average {os.getloadavg()[0]:.1f})")
    print("| --- | ---: | ---: | ---: |")
    for label, bare_rps, poll_rps in results:
        print(f"| {label} | {bare_rps:,.0f} | {poll_rps:,.0f} | {poll_rps / bare_rps:.2f} |")


if __name__ == "__main__":
    main()
