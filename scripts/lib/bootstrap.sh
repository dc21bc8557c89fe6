# Shared by scripts/demo.sh and scripts/test.sh: make a fresh Debian/Ubuntu machine with Node 20 ready.
# Installs only what is missing: pnpm (from the npm registry), ffmpeg, a C compiler (the media worker's
# ffmpeg fork server, services/media/native), Redis and PostgreSQL (from apt),
# and starts Redis/PostgreSQL when nothing answers on their ports. Idempotent; prints what it does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: $*; install them with your package manager" >&2
    exit 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if ! command -v pnpm >/dev/null 2>&1; then
  say "installing pnpm 10"
  npm install -g pnpm@10 >/dev/null 2>&1 || $SUDO npm install -g pnpm@10 >/dev/null
fi

command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || apt_install ffmpeg
command -v "${CC:-cc}" >/dev/null 2>&1 || apt_install gcc libc6-dev

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if [ "$REDIS_URL" = "redis://127.0.0.1:6379" ] && ! port_open 6379; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  say "starting redis-server (noeviction, AOF)"
  mkdir -p "$ROOT/.omniaffect/redis"
  redis_log="$ROOT/.omniaffect/redis/redis.log"
  redis_rc=0
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir "$ROOT/.omniaffect/redis" \
    --appendonly yes --maxmemory-policy noeviction --logfile "$redis_log" || redis_rc=$?
  for _ in $(seq 50); do port_open 6379 && break; sleep 0.1; done
  if ! port_open 6379; then
    # The daemonised server reports a failed bind only in its log (its parent has exited 0 by then).
    if grep -qi 'address already in use' "$redis_log" 2>/dev/null \
      || { command -v ss >/dev/null 2>&1 && ss -Hltn 'sport = :6379' 2>/dev/null | grep -q .; }; then
      echo "redis-server could not start: another process already holds port 6379 but does not answer on 127.0.0.1:6379." >&2
      echo "Stop it, or point REDIS_URL at a Redis you run yourself. ($redis_log)" >&2
    else
      echo "redis-server did not start (exit $redis_rc); see $redis_log" >&2
      tail -n 5 "$redis_log" >&2 2>/dev/null || true
    fi
    exit 1
  fi
fi
export REDIS_URL

# The URLs for the local postgres role with the password this script gives it (see below).
use_local_pg_password() {
  export PGPASSWORD=omniaffect
  export DATABASE_URL="postgres://postgres:omniaffect@127.0.0.1:5432/omniaffect"
  export TEST_DATABASE_ADMIN_URL="postgres://postgres:omniaffect@127.0.0.1:5432/postgres"
}
pg_probe() { PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -U postgres -w -qAt -c 'select 1' postgres >/dev/null 2>&1; }

if [ -z "${DATABASE_URL:-}" ] && ! port_open 5432; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then apt_install postgresql; fi
  say "starting PostgreSQL"
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$ver" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  else
    $SUDO service postgresql start || true
  fi
  for _ in $(seq 100); do port_open 5432 && break; sleep 0.2; done
  # A fresh Debian cluster asks for a password over TCP: give the postgres role a known local one.
  if command -v runuser >/dev/null 2>&1; then
    $SUDO runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'omniaffect'" >/dev/null 2>&1 || true
  fi
  use_local_pg_password
elif [ -z "${DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1; then
  # Already running, e.g. started by an earlier run of this script, which set the password above:
  # without it every client fails with "client password must be a string".
  if ! pg_probe && PGPASSWORD=omniaffect pg_probe; then
    say "PostgreSQL on 127.0.0.1:5432 wants a password: using the local one set by an earlier run"
    use_local_pg_password
  fi
fi

# onnxruntime-node would download the CUDA provider from NuGet at install; CPU installs skip it
# (GPU images set ONNXRUNTIME_NODE_INSTALL=cuda12).
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"

install_and_build() {
  say "pnpm install"
  # install also compiles (root postinstall: tsc -b); the silent reporter would hide a compile
  # error, so on failure the compiler runs again in the open
  pnpm install --frozen-lockfile --reporter=silent || { pnpm exec tsc -b || true; exit 1; }
  say "build (tsc -b, media fork server)"
  pnpm exec tsc -b
  bash services/media/native/build.sh
}
