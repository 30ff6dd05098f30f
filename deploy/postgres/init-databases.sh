#!/bin/bash
# Creates one database per service, owned by POSTGRES_USER (each service has its own schema
# and migrations; none reads another's tables).
#
# The postgres image runs this once, on the first start with an empty data volume (it is
# mounted into /docker-entrypoint-initdb.d). It is idempotent, so after adding a service to an
# existing deployment, add its database below and run it again:
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/init-databases.sh
#
# No `set -u`: should the executable bit be lost, the entrypoint sources this file instead of
# running it, and these options then apply to the entrypoint itself (it uses -Eeo pipefail).
set -Eeo pipefail

# `case` is an SQL keyword, hence `cases` for case-svc.
SERVICE_DATABASES="registry insurance fund matcher cases gateway"

for db in $SERVICE_DATABASES; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v db="$db" -v owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
SQL
done
