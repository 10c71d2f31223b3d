#!/usr/bin/env bash
# Make sure the local PostgreSQL 15 cluster runs and has the test role and database; prints the test URL.
# Idempotent: safe to run any number of times. Runs as root on Debian (postgresql-15 installed).
set -euo pipefail

VERSION="${PG_VERSION:-15}"
CLUSTER="${PG_CLUSTER:-main}"
PORT="${PG_PORT:-5432}"
ROLE="ugcbot"
PASSWORD="ugcbot"
DATABASE="ugcbot_test"

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

psql_admin() {
    as_postgres psql --port "$PORT" --no-psqlrc --quiet --tuples-only --no-align -v ON_ERROR_STOP=1 "$@"
}

if ! command -v pg_lsclusters >/dev/null; then
    echo "postgresql-common is not installed: apt-get install postgresql-$VERSION" >&2
    exit 1
fi

if ! pg_lsclusters --no-header | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
fi

status="$(pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')"
if [ "$status" != "online" ]; then
    pg_ctlcluster "$VERSION" "$CLUSTER" start
fi

for _ in $(seq 1 60); do
    if as_postgres pg_isready --quiet --host 127.0.0.1 --port "$PORT"; then
        break
    fi
    sleep 0.5
done
if ! as_postgres pg_isready --quiet --host 127.0.0.1 --port "$PORT"; then
    echo "PostgreSQL $VERSION/$CLUSTER did not become ready on port $PORT" >&2
    exit 1
fi

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    psql_admin -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
else
    # Keep the role usable even if someone changed it by hand.
    psql_admin -c "ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi

if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi

echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
