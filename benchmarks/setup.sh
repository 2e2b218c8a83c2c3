#!/usr/bin/env bash
# Benchmark prerequisites (idempotent): PostgreSQL and Redis on 127.0.0.1, wrk, LiteLLM Proxy
# in its own venv (benchmarks/.venv-litellm), and py-spy in the project venv with `--profile`.
# Uses only the package registries (apt, PyPI); everything else stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

LITELLM_VENV=benchmarks/.venv-litellm
LITELLM_PINS=("litellm[proxy]==1.106.2" "prisma==0.15.0")  # see ../shared/NOTES.md
PY=${PY:-python3.11}

answers() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$1" 2>/dev/null; }

if ! answers 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! answers 6379; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 30); do answers 5432 && answers 6379 && break; sleep 1; done

if ! command -v wrk >/dev/null; then
  echo "installing wrk"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

stamp="$LITELLM_VENV/.installed-1.106.2"
if [ ! -f "$stamp" ]; then
  echo "installing LiteLLM Proxy into $LITELLM_VENV (once)"
  test -x "$LITELLM_VENV/bin/python" || "$PY" -m venv "$LITELLM_VENV"
  "$LITELLM_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$LITELLM_VENV/bin/python" -m pip install --quiet "${LITELLM_PINS[@]}"
  touch "$stamp"
fi

if [ "${1:-}" = "--profile" ] && ! test -x .venv/bin/py-spy; then
  echo "installing py-spy into .venv"
  .venv/bin/python -m pip install --quiet py-spy
fi
