"""Bare-Nameko baselines measured in the same run as the suite (see run_all.py).

    python bench/baseline_services.py <amqp_uri> <http_port>
    python bench/baseline_services.py <amqp_uri> --rpc <postgres_url>
    python bench/baseline_services.py <amqp_uri> --sink <service_name>
    python bench/baseline_services.py <amqp_uri> --sink-replica

The first form runs
- bench_front: HTTP entrypoints. ``/forward`` forwards the body to a trivial RPC method of bench_echo, which
  runs in a process of its own (the second form), as the suite's gateway and intake do: the submit-path
  baseline, with the same processes and hops as the suite. ``/forward_local`` forwards to the same trivial
  method of bench_echo_local, which runs in this process: the baseline of earlier runs, one process fewer
  (printed beside the other). ``/submit_raw`` forwards to an RPC method of bench_echo that does a submission's
  irreducible database work with raw psycopg2 (green under eventlet, as the suite's) in the suite's two round
  trips (lock the draft and its unit, read its documents and count the unit's submissions; update, write the
  outbox row and commit): the floor of the submit path in this stack, without ORM or domain rules;
- bench_echo_local: the trivial method, in the front's process;
- bench_sink: a trivial event handler recording arrival latency (the event-path baseline).
The second form runs bench_echo: the trivial method and the raw-SQL submission.
The third form runs one more trivial sink under another name, in its own process, for ``tick3`` only: with
bench_sink, three of them stand beside the suite's three consumers of ``application_submitted``.
The fourth form runs a second replica of bench_sink's ``tick`` handler (same service and method name, so the
same queue: competing consumers), for the scale-out baseline; its arrivals are read from
``bench_sink_replica.stats``, since an RPC method of its own under bench_sink's name would compete with the
first replica's.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from nameko.events import event_handler  # noqa: E402
from nameko.rpc import RpcProxy, rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.web.handlers import http  # noqa: E402

ARRIVALS = []
RAW_DB = {"url": None, "pool": []}

SCHEMA = """
CREATE TABLE IF NOT EXISTS unit (id text PRIMARY KEY, kind text NOT NULL);
CREATE TABLE IF NOT EXISTS application (id text PRIMARY KEY, unit_id text NOT NULL REFERENCES unit(id),
    status text NOT NULL, form jsonb NOT NULL, submitted_at timestamptz);
CREATE INDEX IF NOT EXISTS application_unit ON application (unit_id, status);
CREATE TABLE IF NOT EXISTS document (id text PRIMARY KEY, application_id text NOT NULL, kind text NOT NULL,
    status text NOT NULL);
CREATE INDEX IF NOT EXISTS document_app ON document (application_id);
CREATE TABLE IF NOT EXISTS outbox (seq bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE, event_type text,
    body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
"""


def _conn():
    """A pooled connection in autocommit mode: the raw submission sends its own BEGIN and COMMIT, each with a
    statement, as the suite's connections do."""
    import psycopg2
    if RAW_DB["pool"]:
        return RAW_DB["pool"].pop()
    c = psycopg2.connect(RAW_DB["url"])
    c.autocommit = True
    return c


class BenchEcho:
    name = "bench_echo"

    @rpc
    def echo(self, body):
        return body

    @rpc
    def prepare_raw(self, n):
        """n drafts, each with its scan, over 50 units; returns their ids."""
        c = _conn()
        try:
            cur = c.cursor()
            cur.execute("BEGIN")
            cur.execute(SCHEMA)
            units = [uuid.uuid4().hex for _ in range(50)]
            cur.executemany("INSERT INTO unit VALUES (%s, 'returnee_park')", [(u,) for u in units])
            ids = [uuid.uuid4().hex for _ in range(n)]
            cur.executemany("INSERT INTO application VALUES (%s, %s, 'draft', '{}', NULL)",
                            [(a, units[i % 50]) for i, a in enumerate(ids)])
            cur.executemany("INSERT INTO document VALUES (%s, %s, 'stamped_form_scan', 'stored')",
                            [(uuid.uuid4().hex, a) for a in ids])
            cur.execute("COMMIT")
            return ids
        finally:
            RAW_DB["pool"].append(c)

    @rpc
    def submit_raw(self, application_id, body):
        """A submission's database work in two round trips, as the suite's (``grassroots.pgtx``): BEGIN, the
        locking read of the draft and its unit with its stored documents and the unit's submissions counted;
        then the update, the outbox row and COMMIT in one query string."""
        c = _conn()
        try:
            cur = c.cursor()
            cur.execute("BEGIN; SELECT a.status, a.form, u.id, u.kind, "
                        "(SELECT array_agg(d.kind) FROM document d WHERE d.application_id = a.id AND d.status = 'stored'), "
                        "(SELECT count(*) FROM application s WHERE s.unit_id = u.id AND s.status = 'submitted') "
                        "FROM application a JOIN unit u ON u.id = a.unit_id WHERE a.id = %s FOR UPDATE OF a, u",
                        (application_id,))
            status, _form, unit_id, _kind, kinds, used = cur.fetchone()
            if status != "draft" or "stamped_form_scan" not in (kinds or ()) or used >= 1000:
                raise ValueError("not submittable")   # rolled back below
            cur.execute("UPDATE application SET status = 'submitted', form = %s, submitted_at = now() WHERE id = %s; "
                        "INSERT INTO outbox (event_id, event_type, body) VALUES (%s, 'application_submitted', %s); "
                        "COMMIT", (body, application_id, uuid.uuid4().hex, body))
            return {"id": application_id, "status": "submitted"}
        except BaseException:
            try:
                c.cursor().execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection is gone: the server ended the transaction
                c.close()
            raise
        finally:
            if not c.closed:
                RAW_DB["pool"].append(c)


class BenchEchoLocal:
    name = "bench_echo_local"

    @rpc
    def echo(self, body):
        return body


class BenchFront:
    name = "bench_front"
    echo = RpcProxy("bench_echo")
    echo_local = RpcProxy("bench_echo_local")

    @http("POST", "/forward")
    def forward(self, request):
        return json.dumps({"echo": self.echo.echo(request.get_data(as_text=True))})

    @http("POST", "/forward_local")
    def forward_local(self, request):
        return json.dumps({"echo": self.echo_local.echo(request.get_data(as_text=True))})

    @http("POST", "/submit_raw/<string:application_id>")
    def submit_raw(self, request, application_id):
        return json.dumps(self.echo.submit_raw(application_id, request.get_data(as_text=True)))


def record(self, payload):
    """The trivial handler: when the event was sent, when it arrived. Each entrypoint wraps it in a function of
    its own: Nameko keeps a decorator's entrypoints on the function object, so one function decorated twice
    would handle both events in both places."""
    ARRIVALS.append((payload["t"], time.time()))


def make_sink(name, three_only=False):
    """A trivial handler service. Every sink handles ``tick3`` (the three-handler baseline); the first also
    handles ``tick`` (the one-handler baseline), so both run without restarting anything."""
    attrs = {"name": name, "on_tick3": event_handler("bench_source", "tick3")(record),
             "stats": rpc(lambda self: ARRIVALS), "reset": rpc(lambda self: ARRIVALS.clear())}
    if not three_only:
        attrs["on_tick"] = event_handler("bench_source", "tick")(lambda self, payload: record(self, payload))
    return type(f"Sink_{name}", (), attrs)


def make_sink_replica():
    """A second process consuming bench_sink's ``tick`` queue, and its arrivals under another service name."""
    replica = type("SinkReplica", (), {"name": "bench_sink", "on_tick": event_handler("bench_source", "tick")(
        lambda self, payload: record(self, payload))})
    stats = type("SinkReplicaStats", (), {"name": "bench_sink_replica", "stats": rpc(lambda self: ARRIVALS),
                                          "reset": rpc(lambda self: ARRIVALS.clear())})
    return [replica, stats]


def main():
    amqp = sys.argv[1]
    if sys.argv[2] == "--sink":
        services, config = [make_sink(sys.argv[3], three_only=True)], {"AMQP_URI": amqp, "max_workers": 10}
    elif sys.argv[2] == "--sink-replica":
        services, config = make_sink_replica(), {"AMQP_URI": amqp, "max_workers": 10}
    elif sys.argv[2] == "--rpc":
        RAW_DB["url"] = sys.argv[3]
        services, config = [BenchEcho], {"AMQP_URI": amqp, "max_workers": 10}
    else:
        services = [BenchFront, BenchEchoLocal, make_sink("bench_sink")]
        config = {"AMQP_URI": amqp, "WEB_SERVER_ADDRESS": f"127.0.0.1:{sys.argv[2]}", "max_workers": 10}
    runner = ServiceRunner(config)
    for cls in services:
        runner.add_service(cls)
    stop = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn_n(lambda: stop.ready() or stop.send(1)))
    runner.start()
    print("ready", flush=True)
    stop.wait()
    runner.stop()


if __name__ == "__main__":
    main()
