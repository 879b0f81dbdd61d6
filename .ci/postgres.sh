#!/usr/bin/env bash
# A local PostgreSQL server for tests/test_postgres_gradebook.py (idempotent; needs root on Debian).
# Installs Debian's postgresql when missing, starts its cluster on 127.0.0.1:5432, creates the role
# mlplab (password mlplab, CREATEDB) and prints the URL to put in MLPLAB_TEST_PG_URL, e.g.
#   export MLPLAB_TEST_PG_URL="$(.ci/postgres.sh)"
# Everything but the URL goes to stderr.
set -euo pipefail
ROLE=mlplab
PASSWORD=mlplab
PORT="${MLPLAB_PG_PORT:-5432}"

log() { echo "[postgres.sh] $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "[postgres.sh] must run as root (installs and starts Debian's PostgreSQL)" >&2
  exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

# the newest installed major version and its (first) cluster
VERSION="$(ls /usr/lib/postgresql | sort -n | tail -1)"
CLUSTER="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v {print $2; exit}')"
if [ -z "$CLUSTER" ]; then
  log "creating cluster $VERSION/main"
  pg_createcluster "$VERSION" main --port="$PORT" >&2
  CLUSTER=main
fi
CLUSTER_PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')"
STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')"
if [ "$STATUS" != online ]; then
  log "starting cluster $VERSION/$CLUSTER on port $CLUSTER_PORT"
  # pg_ctlcluster works without systemd (containers); `service` is the fallback
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2 || service postgresql start >&2
fi

for _ in $(seq 1 30); do
  if runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p "$CLUSTER_PORT"; then break; fi
  sleep 1
done
runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p "$CLUSTER_PORT" || { log "server did not come up"; exit 1; }

psql_postgres() { (cd / && runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt -p "$CLUSTER_PORT" "$@"); }
if [ "$(psql_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
  log "creating role $ROLE"
  psql_postgres -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >&2
else
  psql_postgres -c "ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >&2
fi

echo "postgresql+psycopg2://$ROLE:$PASSWORD@127.0.0.1:$CLUSTER_PORT/"
