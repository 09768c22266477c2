#!/usr/bin/env bash
# Make sure RabbitMQ and PostgreSQL answer on 127.0.0.1, starting them when this machine can.
#   scripts/infra.sh check    say what is down and how to start it (exit 1 if anything is)
#   scripts/infra.sh ensure   start what is down (needs root, as in CI), then check
# `ensure` also installs promtool (Debian's `prometheus` package) for the alert rules' tests
# and says when kubectl, which the Kubernetes checks need, is missing.
set -u
mode=${1:-check}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

wait_for() {
  local what=$1 probe=$2
  for _ in $(seq 1 60); do
    $probe && return 0
    sleep 1
  done
  echo "$what did not come up within 60 s" >&2
  return 1
}

if [ "$mode" = ensure ]; then
  # promtool checks and unit-tests deploy/prometheus/alerts.yml in `make test`. Installing the
  # package does not start a Prometheus server here (no init system runs it).
  if ! command -v promtool >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null
  then
    echo "installing promtool (Debian package prometheus)"
    install_promtool() {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus \
        >/dev/null 2>&1
    }
    # A fresh machine may have no package lists yet: read them once and try again.
    install_promtool || { apt-get update -q >/dev/null 2>&1 && install_promtool; } \
      || echo "could not install promtool; its tests fail under CI, skip elsewhere" >&2
  fi
  # kubectl renders the Kubernetes overlays in `make test`. Debian's (kubernetes-client 1.20)
  # is too old for them, so it is a prerequisite of the machine, not installed here.
  command -v kubectl >/dev/null || echo "kubectl (1.27 or later) is not installed: the" \
    "Kubernetes checks fail under CI and skip elsewhere (deploy/README.md)" >&2
  if ! pg_up; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    wait_for PostgreSQL pg_up || exit 1
  fi
  if ! amqp_up; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
    wait_for RabbitMQ amqp_up || exit 1
  fi
  # The gateway's shared rate-limit counts are tested against a real Redis where one is
  # installed (gateway/tests/test_rate_limits_shared.py); it keeps nothing on disk.
  if command -v redis-server >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null
  then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      >/dev/null
    wait_for Redis "eval (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null" || exit 1
  fi
  # The integration tests give themselves a vhost through the management API.
  if command -v rabbitmq-plugins >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null
  then
    rabbitmq-plugins enable rabbitmq_management >/dev/null
    wait_for "RabbitMQ management" "eval (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null"
  fi
fi

missing=0
if ! pg_up; then
  missing=1
  echo "PostgreSQL does not answer on 127.0.0.1:5432. Start it with:" >&2
  echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
fi
if ! amqp_up; then
  missing=1
  echo "RabbitMQ does not answer on 127.0.0.1:5672. Start it with:  rabbitmq-server -detached" >&2
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null; then
  missing=1
  echo "RabbitMQ's management API does not answer on 127.0.0.1:15672. Enable it with:" >&2
  echo "  rabbitmq-plugins enable rabbitmq_management" >&2
fi
[ $missing = 0 ] && echo "infra: PostgreSQL, RabbitMQ and its management API answer on 127.0.0.1"
exit $missing
