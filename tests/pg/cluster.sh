#!/usr/bin/env bash
# cluster.sh start|stop STATE: the CTest fixture of the tests labelled
# `pg` (tests/pg.cmake): starts the suite's PostgreSQL + PostGIS cluster
# and writes where it listens into STATE, or stops it and removes it
# (tests/lib/pg.sh). By hand:
#   bash tests/pg/cluster.sh start /tmp/pg.state && export PDB_PG_STATE=/tmp/pg.state
set -uo pipefail
source "$(dirname "$0")/../lib/pg.sh"
case "${1:-}:${2:-}" in
start:?*) mkdir -p "$(dirname "$2")" && pg_cluster_start "$2" ;;
stop:?*) pg_cluster_stop "$2" ;;
*) echo "usage: cluster.sh start|stop STATE" >&2; exit 2 ;;
esac
