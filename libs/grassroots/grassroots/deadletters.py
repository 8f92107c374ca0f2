"""List and replay dead-lettered event messages.

A handler that keeps failing sends its message, after ``EVENT_MAX_ATTEMPTS``, to ``<queue>.dlq``. Once the
cause is fixed, replay moves the messages back to their queue (attempt counter reset).

Usage:
    python -m grassroots.deadletters list                 # every DLQ with its message count
    python -m grassroots.deadletters show <queue>.dlq     # the messages (event id, type, first error time)
    python -m grassroots.deadletters replay <queue>.dlq   # move them back to <queue>
(AMQP_URI from the environment; the management API lists the queues: RABBIT_MANAGEMENT_URL,
default http://guest:guest@127.0.0.1:15672)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request

from kombu import Connection, Producer

from .events import ATTEMPTS_HEADER


def count(amqp_uri: str, dlq: str) -> int:
    with Connection(amqp_uri, connect_timeout=5) as conn:
        _name, messages, _consumers = conn.channel().queue_declare(dlq, passive=True)
        return messages


def list_messages(amqp_uri: str, dlq: str, limit: int = 100) -> list[dict]:
    """Peek at the messages (they are requeued, not removed)."""
    out = []
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        taken = []
        for _ in range(limit):
            msg = channel.basic_get(dlq, no_ack=False)
            if msg is None:
                break
            taken.append(msg)
            try:
                body = json.loads(msg.body)
            except (TypeError, ValueError):
                body = {}
            death = (msg.headers or {}).get("x-death") or [{}]
            out.append({"event_id": body.get("id"), "event_type": body.get("type"), "source": body.get("source"),
                        "occurred_at": body.get("occurred_at"), "dead_lettered_from": death[0].get("queue"),
                        "attempts": (msg.headers or {}).get(ATTEMPTS_HEADER)})
        for msg in taken:
            channel.basic_reject(msg.delivery_tag, requeue=True)
    return out


def replay(amqp_uri: str, dlq: str, limit: int | None = None) -> int:
    """Move messages from ``dlq`` back to the queue they died in; returns how many moved."""
    target = dlq[:-4] if dlq.endswith(".dlq") else dlq
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        while limit is None or moved < limit:
            msg = channel.basic_get(dlq, no_ack=False)
            if msg is None:
                break
            headers = {k: v for k, v in (msg.headers or {}).items() if k not in ("x-death", ATTEMPTS_HEADER)
                       and not k.startswith("x-first-death") and not k.startswith("x-last-death")}
            producer.publish(msg.body, exchange="", routing_key=target, headers=headers, delivery_mode=2,
                             content_type=msg.content_type, content_encoding=msg.content_encoding)
            channel.basic_ack(msg.delivery_tag)
            moved += 1
    return moved


def dead_letter_queues(management_url: str, vhost: str) -> list[dict]:
    parts = urllib.parse.urlsplit(management_url)
    req = urllib.request.Request(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api/queues/{urllib.parse.quote(vhost, safe='')}")
    import base64
    req.add_header("Authorization", "Basic " + base64.b64encode(
        f"{parts.username or 'guest'}:{parts.password or 'guest'}".encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        queues = json.loads(resp.read())
    return [{"queue": q["name"], "messages": q.get("messages", 0)} for q in queues if q["name"].endswith(".dlq")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grassroots.deadletters")
    parser.add_argument("action", choices=["list", "show", "replay"])
    parser.add_argument("queue", nargs="?")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    if args.action == "list":
        vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).path[1:]) or "/"
        for q in dead_letter_queues(os.environ.get("RABBIT_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672"),
                                    vhost):
            print(f"{q['messages']:>8}  {q['queue']}")
        return 0
    if not args.queue:
        parser.error("queue required")
    if args.action == "show":
        for m in list_messages(amqp_uri, args.queue, args.limit or 100):
            print(json.dumps(m, ensure_ascii=False))
    else:
        print(f"replayed {replay(amqp_uri, args.queue, args.limit)} message(s) from {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
