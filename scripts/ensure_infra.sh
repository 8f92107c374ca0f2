#!/usr/bin/env bash
# Make sure the broker (and, when configured, PostgreSQL) is reachable; start local servers that are
# installed but stopped; enable RabbitMQ's management plugin (Nameko's test fixtures and our vhost
# handling use its HTTP API). Prints exactly what to install when something is missing.
set -u
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && exec 3>&- ; }

if ! port_open 127.0.0.1 5672; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "RabbitMQ is installed but not running: starting it"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do port_open 127.0.0.1 5672 && break; sleep 1; done
  fi
fi
if ! port_open 127.0.0.1 5672; then
  echo "RabbitMQ is not reachable on 127.0.0.1:5672. Install it (Debian/Ubuntu: apt-get install rabbitmq-server)" >&2
  echo "or point AMQP_URI at a broker." >&2
  exit 1
fi
if ! port_open 127.0.0.1 15672; then
  if command -v rabbitmq-plugins >/dev/null 2>&1; then
    rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do port_open 127.0.0.1 15672 && break; sleep 1; done
  fi
fi
if ! port_open 127.0.0.1 15672; then
  echo "RabbitMQ's management API is not reachable on 127.0.0.1:15672: run 'rabbitmq-plugins enable rabbitmq_management'" >&2
  exit 1
fi
if [ "${NEED_POSTGRES:-0}" = "1" ] && ! port_open 127.0.0.1 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is installed but not running: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do port_open 127.0.0.1 5432 && break; sleep 1; done
  fi
  if ! port_open 127.0.0.1 5432; then
    echo "PostgreSQL is not reachable on 127.0.0.1:5432 (apt-get install postgresql)" >&2
    exit 1
  fi
fi
exit 0
