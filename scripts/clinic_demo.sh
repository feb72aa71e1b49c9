#!/usr/bin/env bash
# The clinic store, tried on this computer: a throwaway PostgreSQL (no network: a Unix socket in a
# temporary folder, as tests/pg_server.py makes it), two coach logs of patient P017 (a home laptop
# and the clinic kiosk, scripts/demo_clinic_data.py), both sent with `coach sync`, and the report
# made from the server. Works as root (the server then runs as the `postgres` user) or not.
#
#   bash scripts/clinic_demo.sh            (needs PostgreSQL's server binaries and coach[clinic])
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}

# initdb on PATH, else the newest /usr/lib/postgresql/*/bin.
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  bin=$(dirname "$(readlink -f "$(command -v initdb)")")
else
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "clinic demo: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

work=$(mktemp -d /tmp/coach-clinic-demo-XXXXXX)
server="$work/server"                   # the cluster and its socket
mkdir -m 700 "$server"
as=()
if [ "$(id -u)" = 0 ]; then             # PostgreSQL will not run as root
  chown postgres: "$server"
  chmod 711 "$work"                     # it may pass through to its folder, not list ours
  as=(runuser -u postgres --)
fi
stop="${as[*]:+${as[*]} }$bin/pg_ctl -D $server/data stop && rm -rf $work"

echo "Starting a throwaway PostgreSQL in $server ..."
"${as[@]}" "$bin/initdb" -D "$server/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$work/initdb.log"
"${as[@]}" "$bin/pg_ctl" -D "$server/data" -l "$server/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$server' -c fsync=off" start >/dev/null \
  || { cat "$server/server.log" >&2; exit 1; }
"$bin/createdb" -h "$server" -U postgres clinic
url="postgresql://postgres@/clinic?host=$server"

echo "Making two logs of patient P017: $work/home.db (home laptop) and $work/kiosk.db (clinic kiosk)"
"$py" scripts/demo_clinic_data.py "$work/home.db" "$work/kiosk.db"

for log in home kiosk; do
  echo "\$ coach sync --to $url --db $work/$log.db"
  "$py" -m coach sync --to "$url" --db "$work/$log.db"
done
echo "\$ coach sessions --patient P017 --db $url"
"$py" -m coach sessions --patient P017 --db "$url"
echo "\$ coach report P017 --db $url --out $work/report-P017.html"
"$py" -m coach report P017 --db "$url" --out "$work/report-P017.html"

cat <<EOF

The report, made from the clinic store: $work/report-P017.html
The server keeps running, for you to try more (coach sessions --db '$url').
Stop it and remove everything with:
  $stop
EOF
