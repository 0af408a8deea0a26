#!/usr/bin/env bash
# Starts the local services Baton's tests use, when present and not running. Never fails the run by itself:
# a test that needs a missing service reports that clearly.
set -uo pipefail
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || echo "start-services: could not start PostgreSQL" >&2
  fi
fi
exit 0
