#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for CI, `make test-postgres` and `make bench`.
#
#   ops/local_postgres.sh start DIR   -> starts a cluster under DIR, prints its DATABASE_URL
#   ops/local_postgres.sh stop DIR    -> stops it and deletes DIR
#   ops/local_postgres.sh halt DIR    -> stops the server, keeps its data (the outage tests)
#   ops/local_postgres.sh resume DIR  -> starts a halted server again, same port and data
#
# Debian's postgresql package is installed if missing (as root). The server refuses to
# run as root, so as root the cluster belongs to the `postgres` user the package creates.
# It listens on 127.0.0.1 only, on PGPORT (default 5433) or the next free port, with
# trust authentication: it holds test data only and dies with DIR.
# PG_FAST=1 turns off fsync and synchronous commit (fine for tests, not for measuring).
set -euo pipefail

command=${1:?usage: $0 start|stop|halt|resume DIR}
dir=${2:?usage: $0 start|stop|halt|resume DIR}

find_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ] && command -v pg_ctl >/dev/null; then
        found=$(dirname "$(command -v pg_ctl)")
    fi
    echo "$found"
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

bin=$(find_bin)

case "$command" in
start)
    if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "Installing Debian's postgresql..." >&2
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
            bin=$(find_bin)
        else
            echo "PostgreSQL is not installed. Install it with: sudo apt-get install postgresql" >&2
            exit 1
        fi
    fi
    port=${PGPORT:-5433}
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U clinic -A trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log"
    options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
    # e.g. PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements" (make bench counts queries with it)
    options="$options ${PG_OPTIONS:-}"
    if [ "${PG_FAST:-0}" = 1 ]; then
        options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    echo "$options" >"$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -o "$options" -l "$dir/server.log" -w -s start >&2
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U clinic -d postgres -q -c "CREATE DATABASE clinic" >&2
    url="postgres://clinic@127.0.0.1:$port/clinic"
    echo "$url" >"$dir/database_url"
    echo "$url"
    ;;
halt)
    # "fast": connections are closed at once, as when a server is stopped or fails over.
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -s stop >&2
    ;;
resume)
    as_owner "$bin/pg_ctl" -D "$dir/data" -o "$(cat "$dir/options")" -l "$dir/server.log" -w -s start >&2
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -s stop >&2 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|halt|resume DIR" >&2
    exit 2
    ;;
esac
