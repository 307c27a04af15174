#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis the prod profile's tests use, when they are installed but not running.
set -uo pipefail
if command -v pg_ctlcluster >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || echo "postgresql did not start"
fi
if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || echo "redis did not start"
fi
# Drop the per-test schemas (nt_*) earlier runs left in the test database.
if command -v psql >/dev/null; then
  psql -q -h 127.0.0.1 -U postgres -d test -v ON_ERROR_STOP=0 -c "DO \$\$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace WHERE (nspname LIKE 'nt\\_%' OR nspname LIKE 'mn\\_%') LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END \$\$;" >/dev/null 2>&1 || echo "could not clean test schemas"
fi
# Drop the Redis keys of earlier test runs (prefixes nanotest-*).
if command -v redis-cli >/dev/null; then
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern 'nanotest-*' 2>/dev/null | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1 || true
fi
exit 0
