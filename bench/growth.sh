#!/usr/bin/env bash
# How idgate's cost grows with its data. Two databases on one backend: one empty, one holding
# 1,000,000 users and 1,000,000 live sessions (refresh families) generated in SQL, not through
# the API. The sign-in, refresh and verify rows of bench/load.sh run against each in
# alternating rounds (empty, filled, filled, empty, …: this VM's speed drifts within minutes),
# one server core against one load-generator core. Then: bytes of storage per user and per live
# session, and the sweep's cost per deleted row (`idgate tokens flush-expired` on expired
# sessions added to the filled database).
#
#   bench/growth.sh [sqlite|postgres] [rows] [seconds per measurement] [rounds]
#
# Sign-in hashes at bcrypt cost 4 here, not 12: at 12 the hash takes 99.9 % of a sign-in and
# would hide any cost of the data. Results and method: bench/README.md.
set -euo pipefail

backend=${1:-sqlite}
rows=${2:-1000000}
seconds=${3:-5}
rounds=${4:-4}
expired_rows=$(( rows / 5 ))
cd "$(dirname "$0")/.."
root=$(pwd)
export BENCH_DIR="$root/bench"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

cargo build --release --quiet --bin idgate
idgate="$root/target/release/idgate"
server_core=0
client_core=$(( $(nproc) > 1 ? 1 : 0 ))
work=$(mktemp -d)
server_pid=""
pg_databases=()

cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    for database in "${pg_databases[@]}"; do
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
    done
    if [ -s "$work/server.log" ]; then
        echo "server warnings and errors (last 5):" >&2
        tail -n 5 "$work/server.log" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT

export IDGATE__KEYS__DIR="$work/keys"
export IDGATE__SERVER__WORKERS=1
export IDGATE__LOG__LEVEL=warn
export IDGATE__LOG__FORMAT=json
export IDGATE__PASSWORD__BCRYPT_COST=4
password="correct horse battery"
"$idgate" keys generate >/dev/null

database_url() {
    case "$backend" in
        sqlite) echo "sqlite://$work/$1.db" ;;
        postgres) echo "postgres://postgres@127.0.0.1:5432/idgate_growth_$1_$$" ;;
        *) echo "usage: bench/growth.sh [sqlite|postgres] [rows] [seconds] [rounds]" >&2; exit 2 ;;
    esac
}

# Runs SQL (a script on standard input) on database $1; prints bare values.
sql() {
    case "$backend" in
        sqlite) sqlite3 -bail "$work/$1.db" ;;
        postgres) psql -q -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "idgate_growth_$1_$$" ;;
    esac
}

# Bytes the database takes on disk, and those of one table with its indexes.
database_bytes() {
    case "$backend" in
        sqlite)
            echo 'PRAGMA wal_checkpoint(TRUNCATE);' | sql "$1" >/dev/null
            stat -c %s "$work/$1.db" ;;
        postgres) echo "SELECT pg_database_size(current_database());" | sql "$1" ;;
    esac
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_server() {
    local name=$1
    port=$(free_port)
    base="http://127.0.0.1:$port"
    IDGATE__DATABASE__URL=$(database_url "$name") IDGATE__SERVER__PORT="$port" IDGATE__ISSUER="$base" \
        taskset -c "$server_core" "$idgate" serve 2>>"$work/server.log" &
    server_pid=$!
    for _ in $(seq 1 300); do
        curl -sf "$base/readyz" >/dev/null && return
        sleep 0.1
    done
    echo "idgate on the $name database did not become ready" >&2
    exit 1
}

stop_server() {
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

sign_in() {
    curl -sf "$base/api/token/" -H 'content-type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$password\"}"
}

for name in empty filled; do
    if [ "$backend" = postgres ]; then
        pg_databases+=("idgate_growth_${name}_$$")
        psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE idgate_growth_${name}_$$" >/dev/null
    fi
    IDGATE__DATABASE__URL=$(database_url "$name") "$idgate" migrate >/dev/null
    for user in bench_sign_in bench_tokens; do
        echo "$password" | IDGATE__DATABASE__URL=$(database_url "$name") "$idgate" users create "$user" >/dev/null
    done
done

# The filled database's rows copy a real user's and a real session's, made through the API.
start_server filled
sign_in bench_tokens >/dev/null
stop_server
bytes_empty=$(database_bytes filled)
if [ "$backend" = sqlite ]; then
    series="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)"
    from_series="n"
    random_id="lower(hex(randomblob(16)))"
else
    series=""
    from_series="generate_series(1, $rows) AS n(i)"
    random_id="md5(random()::text || clock_timestamp()::text)"
fi
echo "filling the $backend database with $rows users and $rows live sessions…" >&2
fill_started=$(date +%s.%N)
sql filled <<SQL
BEGIN;
$series
INSERT INTO users (id, username, username_key, email, password_hash, is_active, roles, created_at, last_login)
SELECT $random_id, 'fill' || i, 'fill' || i, 'fill' || i || '@example.com', t.password_hash,
       t.is_active, t.roles, t.created_at, t.created_at
FROM $from_series, (SELECT * FROM users WHERE username = 'bench_tokens') AS t;
COMMIT;
SQL
bytes_users=$(database_bytes filled)
sql filled <<SQL
BEGIN;
INSERT INTO refresh_families (id, user_id, current_jti, current_kid, current_iat, current_exp,
    previous_jti, rotated_at, created_at, ends_at, revoked_at, client_id, scope,
    browser_session_id, auth_time)
SELECT $random_id, u.id, $random_id, t.current_kid, t.current_iat, t.current_exp, NULL, NULL,
       t.created_at, t.ends_at, NULL, t.client_id, t.scope, NULL, t.auth_time
FROM users AS u, (SELECT * FROM refresh_families LIMIT 1) AS t
WHERE u.username LIKE 'fill%';
COMMIT;
SQL
bytes_sessions=$(database_bytes filled)
fill_seconds=$(python3 -c "import time, sys; print(f'{time.time() - float(sys.argv[1]):.0f}')" "$fill_started")
# What autovacuum would do after a bulk load; SQLite is left as idgate leaves it.
[ "$backend" = postgres ] && echo "VACUUM ANALYZE;" | sql filled
counts=$(echo "SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM refresh_families WHERE revoked_at IS NULL);" | sql filled)

load() {
    local script=$1 connections=$2
    WRK_THREADS=1 taskset -c "$client_core" wrk -t1 -c"$connections" -d"${seconds}s" --timeout 30s \
        -s "$BENCH_DIR/$script" "$base" | grep '^{'
}

results="$work/results"
: >"$results"
refresh_connections=32
export SIGN_IN_USER=bench_sign_in SIGN_IN_PASSWORD="$password"
# empty, filled, filled, empty, empty, filled, …: each database as often first as second.
order=()
for round in $(seq 1 "$rounds"); do
    if (( round % 2 )); then order+=(empty filled); else order+=(filled empty); fi
done
for name in "${order[@]}"; do
    start_server "$name"
    for _ in $(seq 1 $(( refresh_connections + 1 ))); do sign_in bench_tokens; echo; done \
        | python3 -c 'import json, sys; [print(json.loads(l)["refresh"]) for l in sys.stdin if l.strip()]' \
        >"$work/refresh_pool"
    ACCESS_TOKEN=$(sign_in bench_tokens | python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')
    export ACCESS_TOKEN
    # Unmeasured: the first requests fill the caches (prepared statements, pages).
    WRK_THREADS=1 taskset -c "$client_core" wrk -t1 -c8 -d1s -s "$BENCH_DIR/verify.lua" "$base" >/dev/null
    echo "verify|$name|$(load verify.lua 64)" >>"$results"
    echo "refresh|$name|$(REFRESH_POOL="$work/refresh_pool" load refresh.lua "$refresh_connections")" >>"$results"
    echo "sign-in|$name|$(load sign_in.lua 8)" >>"$results"
    stop_server
done

# The sweep: expired sessions added to the filled database, deleted by `tokens flush-expired`.
sql filled <<SQL
BEGIN;
INSERT INTO refresh_families (id, user_id, current_jti, current_kid, current_iat, current_exp,
    previous_jti, rotated_at, created_at, ends_at, revoked_at, client_id, scope,
    browser_session_id, auth_time)
SELECT $random_id, u.id, $random_id, t.current_kid, 1, 2, NULL, NULL, 1, 2, NULL, t.client_id,
       t.scope, NULL, t.auth_time
FROM users AS u, (SELECT * FROM refresh_families LIMIT 1) AS t
WHERE u.username LIKE 'fill%'
LIMIT $expired_rows;
COMMIT;
SQL
[ "$backend" = postgres ] && echo "VACUUM ANALYZE refresh_families;" | sql filled
sweep_started=$(date +%s.%N)
swept=$(IDGATE__DATABASE__URL=$(database_url filled) taskset -c "$server_core" "$idgate" tokens flush-expired)
sweep_seconds=$(python3 -c "import time, sys; print(time.time() - float(sys.argv[1]))" "$sweep_started")

python3 - "$results" "$backend" "$rows" "$counts" "$bytes_empty" "$bytes_users" "$bytes_sessions" \
    "$fill_seconds" "$swept" "$sweep_seconds" <<'PY'
import json, re, statistics, sys
(path, backend, rows, counts, bytes_empty, bytes_users, bytes_sessions, fill_seconds, swept,
 sweep_seconds) = sys.argv[1:]
rows = int(rows)
figures = {}
for line in open(path):
    op, name, report = line.rstrip("\n").split("|", 2)
    r = json.loads(report)
    figures.setdefault(op, {}).setdefault(name, []).append((r["requests"] / r["seconds"], r["p50_ms"], r["errors"]))
users, live = counts.split()
print(f"backend: {backend}; server on 1 core, wrk on another; filled database: {int(users):,} users, "
      f"{int(live):,} live sessions (generated in {fill_seconds} s)")
print()
print("| op | empty req/s | filled req/s | filled / empty | p50 ms empty / filled | errors |")
print("|---|---:|---:|---:|---:|---:|")
for op, by_name in figures.items():
    empty = statistics.median(rate for rate, _, _ in by_name["empty"])
    filled = statistics.median(rate for rate, _, _ in by_name["filled"])
    p50_empty = statistics.median(p50 for _, p50, _ in by_name["empty"])
    p50_filled = statistics.median(p50 for _, p50, _ in by_name["filled"])
    errors = sum(e for name in by_name.values() for _, _, e in name)
    print(f"| {op} | {empty:,.0f} | {filled:,.0f} | {filled / empty:.1%} | "
          f"{p50_empty:.2f} / {p50_filled:.2f} | {errors} |")
rounds = len(next(iter(figures.values()))["empty"])
print(f"(medians of {rounds} measurements of each; the rounds alternate the two databases)")
print()
per_user = (int(bytes_users) - int(bytes_empty)) / rows
per_session = (int(bytes_sessions) - int(bytes_users)) / rows
print(f"storage: {per_user:,.0f} bytes per user, {per_session:,.0f} bytes per live session "
      f"(rows and indexes; database {int(bytes_sessions) / 2**20:,.0f} MiB filled)")
deleted = int(re.search(r"deleted (\d+) expired or revoked session", swept).group(1))
print(f"sweep: `idgate tokens flush-expired` deleted {deleted:,} expired sessions among "
      f"{int(live):,} live ones in {float(sweep_seconds):.2f} s: "
      f"{float(sweep_seconds) / max(deleted, 1) * 1e6:.1f} µs per deleted row")
PY
