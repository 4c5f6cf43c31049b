#!/usr/bin/env bash
# Starts the local PostgreSQL cluster for tests (idempotent) and prints the admin URL the
# tests use. The `postgres` role gets a fixed local password for TCP connections on 127.0.0.1.
set -euo pipefail
log() { printf '\033[1m[pg]\033[0m %s\n' "$*" >&2; }
PG_PASSWORD="${STEWARD_TEST_PG_PASSWORD:-steward}"
PG_PORT=5432

version=$(ls /usr/lib/postgresql/ 2>/dev/null | sort -V | tail -n 1)
[[ -n "$version" ]] || { log "PostgreSQL is not installed (scripts/setup.sh --test installs it)"; exit 1; }
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  log "creating cluster $version/main"
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  log "starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
fi
PG_PORT=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 50); do
  su postgres -c "psql -p $PG_PORT -qAtc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
su postgres -c "psql -p $PG_PORT -qc \"ALTER ROLE postgres PASSWORD '$PG_PASSWORD'\"" >/dev/null
# Remove databases left by interrupted test runs.
su postgres -c "psql -p $PG_PORT -qAt -c \"SELECT 'DROP DATABASE IF EXISTS ' || datname || ' WITH (FORCE);' FROM pg_database WHERE datname LIKE 'steward_t_%'\" | psql -p $PG_PORT -q" >/dev/null 2>&1 || true
echo "postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"
