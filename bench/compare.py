"""
`python -m bench.compare REF`: a change's effect, measured side by side.

Runs of `make bench` move by a fifth on this machine (docs/performance.md, "Noise"), as much as
many a change is worth. So this serves the code at REF (a commit or branch, checked out in a
temporary git worktree) and the working tree at once, each by its own gunicorn with
project/gunicorn.conf.py, next to bare Django, on the clinic of `make bench`; then wrk measures
the status poll and the signed-in do-nothing view of both, and bare Django, in alternating
rounds, so that every version meets the same moments of the machine. Each one's best round
counts, with its workers' CPU per request. REF must share the working tree's migrations (the
clinic is made by the working tree's). BENCH_DATABASE=sqlite for a quicker run.

    .venv/bin/python -m bench.compare HEAD~1
"""

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench import __main__ as make_bench

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
SECONDS = int(os.environ.get("BENCH_ROUND_SECONDS", "5"))


def checkout(ref: str, into: Path) -> Path:
    """REF in a worktree of its own, using this checkout's virtualenv."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(into), ref], cwd=make_bench.BASE_DIR, check=True
    )
    (into / ".venv").symlink_to(make_bench.BASE_DIR / ".venv")
    return into


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ref", help="the code to compare the working tree with (a commit, a branch)")
    ref = parser.parse_args().ref
    make_bench.RESULTS.mkdir(parents=True, exist_ok=True)
    wrk = make_bench.ensure_wrk()
    scratch = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    other = checkout(ref, scratch / "ref")
    database, redis = make_bench.Database(), make_bench.Redis()
    servers: list[make_bench.Server] = []
    try:
        clinic = make_bench.seeded_clinic(database, redis)
        waiting = make_bench.signed_in_waiting(clinic)
        poll = make_bench.write_targets(
            "status", [(key, f"/telemedicine/appointment/{pk}/check-status/") for key, pk in waiting]
        )
        signed_in = make_bench.write_targets("logged-in", [(key, "/bench/noop-logged-in/") for key, _ in waiting])
        bare_django = make_bench.write_targets("bare", [("-", "/")])
        make_bench.say(f"{database.kind}; {redis.kind}; {ref} against the working tree")

        bare = make_bench.Server(
            make_bench.free_port(8866), app="bench.bare.wsgi", name="gunicorn-bare", health_path="/"
        )
        servers.append(bare)
        # (label, server, targets, as htmx)
        runs = [("bare Django", bare, bare_django, False)]
        for label, tree, port in [(ref, other, 8867), ("working tree", make_bench.BASE_DIR, 8868)]:
            server = make_bench.Server(make_bench.free_port(port), name=f"gunicorn-{port}", base_dir=tree)
            servers.append(server)
            runs += [(f"status poll, {label}", server, poll, True), (f"signed in, {label}", server, signed_in, False)]
        for _, server, targets, htmx in runs:  # warm up: templates, connections, the sessions each worker knows
            make_bench.run_wrk(wrk, server.port, targets, 8, 2, htmx=htmx)
        best: dict[str, tuple[float, float]] = {}
        for round_ in range(1, ROUNDS + 1):
            for label, server, targets, htmx in runs:
                cpu = server.cpu_seconds()
                stats = make_bench.run_wrk(wrk, server.port, targets, 16, SECONDS, htmx=htmx)
                if stats["non_2xx"]:
                    raise SystemExit(f"{label}: {stats['non_2xx']} answers other than 2xx")
                ms = (server.cpu_seconds() - cpu) / max(stats["requests"], 1) * 1000
                rps, least = best.get(label, (0.0, float("inf")))
                best[label] = (max(rps, stats["rps"]), min(least, ms))
                make_bench.say(f"round {round_}: {label}: {stats['rps']:,.0f} req/s, {ms:.2f} ms of worker CPU")
    finally:
        for server in servers:
            server.stop()
        database.stop()
        redis.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=make_bench.BASE_DIR, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    bare_rps = best["bare Django"][0]
    print(f"\n{ROUNDS} rounds of {SECONDS} s each, best round counts (load average {os.getloadavg()[0]:.1f})")
    print("| | req/s | worker CPU ms/req | vs bare Django |")
    print("| --- | ---: | ---: | ---: |")
    for label, (rps, ms) in best.items():
        print(f"| {label} | {rps:,.0f} | {ms:.2f} | {rps / bare_rps:.3f} |")


if __name__ == "__main__":
    main()
