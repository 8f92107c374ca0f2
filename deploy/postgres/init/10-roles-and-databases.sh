#!/usr/bin/env bash
# One database and one login role per service, created once when the PostgreSQL data directory is empty
# (the postgres image runs /docker-entrypoint-initdb.d/* only then; in Kubernetes the same script is the
# ConfigMap postgres-init in deploy/k8s/infra/postgres.yaml, kept identical by tests/deploy).
#
# intake, review, experts, notify, gateway: role <svc> owns database <svc>; the service runs and migrates
# as it. funding: funding_owner owns the database and runs the migrations; the service runs as
# funding_app, which only gets CONNECT here and its table privileges from the migration job
# (deploy/funding/apply_grants.py): it must never own the tables nor be a member of funding_owner.
#
# Passwords come from the environment: <SVC>_DB_PASSWORD, FUNDING_OWNER_DB_PASSWORD, FUNDING_APP_DB_PASSWORD.
set -euo pipefail

require() {
  if [ -z "${!1:-}" ]; then echo "postgres init: $1 is not set" >&2; exit 1; fi
}

psql_admin() {
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" "$@"
}

create_role() {  # name, password variable
  require "$2"
  psql_admin -v role="$1" -v password="${!2}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE', :'role', :'password') \gexec
SQL
}

create_database() {  # name, owner
  psql_admin -v db="$1" -v owner="$2" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'db', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'owner') \gexec
SQL
}

# Check every password before creating anything: the postgres image does not rerun init scripts on a data
# directory it has already initialised, so a half-done run would leave databases missing for good.
for var in INTAKE_DB_PASSWORD REVIEW_DB_PASSWORD EXPERTS_DB_PASSWORD NOTIFY_DB_PASSWORD GATEWAY_DB_PASSWORD \
           FUNDING_OWNER_DB_PASSWORD FUNDING_APP_DB_PASSWORD; do
  require "$var"
done

for svc in intake review experts notify gateway; do
  create_role "$svc" "${svc^^}_DB_PASSWORD"
  create_database "$svc" "$svc"
done

create_role funding_owner FUNDING_OWNER_DB_PASSWORD
create_role funding_app FUNDING_APP_DB_PASSWORD
create_database funding funding_owner
psql_admin -c 'GRANT CONNECT ON DATABASE funding TO funding_app'
# PostgreSQL 15: the public schema belongs to the database owner and PUBLIC cannot CREATE in it.
psql_admin --dbname funding -c 'REVOKE CREATE ON SCHEMA public FROM PUBLIC'
echo "postgres init: databases intake review experts funding notify gateway ready"
