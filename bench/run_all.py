"""``make bench``: the submission and event paths of the running suite, each beside a bare-Nameko baseline
measured in the same run, on the same broker and database server. Prints a table and writes
bench/results/suite.json.

1. Submit path: applications submitted per second through the gateway (HTTP, JWT, validation, database
   write under the quota lock, outbox) with 1, 10 and 50 concurrent clients; p50/p95/p99 latency. Measured
   with the consumers of the events paused (the path alone) and with the whole suite running.
   Baseline: a bare Nameko HTTP entrypoint forwarding to a trivial RPC method in another process (the suite's
   gateway and intake are two processes: the baseline has the same processes and hops); beside it, the same
   with the RPC method in the front's own process (the baseline of earlier runs), and the front forwarding to
   an RPC that does a submission's SQL in raw psycopg2 (the floor without ORM or rules).
2. Event path: from intake's commit (outbox row) to the handling in review, notify and experts (their
   inbox rows): events/s and p50/p99 latency at a steady rate and at saturation, every event counted;
   each consumer alone beside one trivial handler, and the three together beside three trivial handlers
   in three processes. Baseline: raw Nameko event dispatch to trivial handlers.
3. Scale-out: a backlog of 2,000 events drained by one and by two review processes, started and consuming
   beforehand, paused while the backlog is relayed into their queue, then resumed together. Baseline: the same
   backlog of trivial events drained by a bare Nameko handler in one and in two processes, the same way.
4. Memory: resident memory of each service process, idle and after the load of point 1, beside the baseline's
   bare Nameko processes (its RPC service process is the like-for-like one).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kombu
import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localsuite  # noqa: E402
import scenario  # noqa: E402
from scenario_forms import demo_uscc  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LEVELS = tuple(int(x) for x in os.environ.get("BENCH_LEVELS", "1,10,50").split(","))   # BENCH_LEVELS=1: one level, for profiling
PER_LEVEL = {c: {1: 200, 10: 200}.get(c, 300) for c in LEVELS}   # 1 client: 200, so a round lasts seconds, not one
STEADY_RATE, STEADY_COUNT = 20, 100
SCALE_BACKLOG = 2000   # events drained by one, then two review replicas
N_SATURATION = 300
REPEAT = 3   # interleaved repetitions of each suite measurement and its baseline; medians reported
CONSUMERS = ("review", "notify", "experts")   # the consumers of application_submitted
if os.environ.get("BENCH_QUICK") == "1":   # profiling runs: a few submissions, the full event burst
    PER_LEVEL, STEADY_COUNT, SCALE_BACKLOG, REPEAT = {c: {1: 10, 10: 20}.get(c, 50) for c in LEVELS}, 20, 300, 1


def median_row(rows: list[dict]) -> dict:
    """Field by field median of repeated measurements (numbers; dicts of numbers key by key)."""
    out = {}
    for key, value in rows[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            vals = [r[key] for r in rows if r.get(key) is not None]
            out[key] = round(statistics.median(vals), 2) if vals else None
        elif isinstance(value, dict):
            keys = sorted({k for r in rows for k in r.get(key, {})})
            out[key] = {k: round(statistics.median([r.get(key, {}).get(k, 0.0) for r in rows]), 2) for k in keys}
        else:
            out[key] = value
    return out


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def ms(v):
    return None if v is None else round(v * 1000, 1)


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None


def cpu_seconds(procs: dict) -> dict:
    """CPU time (user + system) of each named process, of all PostgreSQL and RabbitMQ processes, and of
    this client: where the cores went during a measurement."""
    tick = os.sysconf("SC_CLK_TCK")
    by_pid = {p.pid: n for n, p in procs.items()}
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid, comm = int(stat.parent.name), text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        name = by_pid.get(pid) or ("postgresql" if comm.startswith("postgres") else
                                   "rabbitmq" if comm.startswith("beam") else
                                   "bench client" if pid == os.getpid() else None)
        if name:
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_ms_per(before: dict, after: dict, count: int, names=None) -> dict:
    """Milliseconds of CPU per operation by process between two ``cpu_seconds`` readings: of ``names``, or of
    every process that used any."""
    names = names or sorted(k for k in after if after[k] - before.get(k, 0.0) > 0)
    return {k: round((after.get(k, 0.0) - before.get(k, 0.0)) * 1000 / count, 2) for k in names}


def entrypoint_seconds(port: int, service: str, entrypoint: str) -> tuple[float, int]:
    """(sum of seconds, count) of one entrypoint's latency histogram, from a service's Prometheus endpoint:
    the time its workers spent, from worker set-up to result."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    labels = f'entrypoint="{entrypoint}",service="{service}"'
    out = {}
    for line in text.splitlines():
        for kind in ("sum", "count"):
            if line.startswith(f"grassroots_entrypoint_latency_seconds_{kind}{{{labels}}}"):
                out[kind] = float(line.rsplit(" ", 1)[1])
    return out.get("sum", 0.0), int(out.get("count", 0))


def run_load(fn, items, clients):
    """Run fn(item) over items with ``clients`` concurrent workers; returns (elapsed_s, latencies, errors)."""
    lat, errors = [], []
    lock = threading.Lock()

    def one(item):
        t0 = time.perf_counter()
        try:
            fn(item)
            with lock:
                lat.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.append(repr(exc)[:200])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, items))
    return time.perf_counter() - t0, lat, errors


_SESSIONS = threading.local()


class Http:
    """Requests as one user (``token``). Every client thread keeps one ``requests.Session`` for all users and both
    servers (sessions are not shared between threads), so the suite's gateway and the baseline's front both see
    one kept-alive connection per client, as behind a reverse proxy's upstream pool. (With a session per user and
    thread, as before, nearly every submission at 10 and 50 clients, and 50 of each 60 at 1, opened a new TCP
    connection to the gateway, while the baseline's requests reused theirs.)"""

    def __init__(self, base, token=None):
        self.base, self.token = base, token

    def s(self):
        if not hasattr(_SESSIONS, "s"):
            _SESSIONS.s = requests.Session()
        return _SESSIONS.s

    def post(self, path, body, expect=(200, 201)):
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        r = self.s().post(self.base + path, json=body, headers=h, timeout=60)
        if r.status_code not in expect:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
        return r.json()


def chizi_form(unit_name, year):
    return {
        "has_returnee_team": True, "activity_name": "留学人员创新创业项目对接会", "host_unit": unit_name[:50],
        "activity_period": {"start": f"{year}-12-20", "end": f"{year}-12-22"}, "returnee_count": 12,
        "place": "呼和浩特市留学人员创业园", "responsible_department": "园区服务部", "contact_person": "李华",
        "office_phone": "(0471) 6601234", "mobile": "13800471234", "email": "park@example.cn",
        "total_budget": "80000.00", "interbank_code": "102191000011", "account_name": unit_name[:100],
        "bank_name": "中国银行呼和浩特分行", "account_no": "6216601234567890",
        "activity_forms": ["talent_project_matching", "academic_exchange"],
        "activity_content": "组织留学回国人员开展项目路演和技术对接。"}


def main() -> int:
    results = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}, "started": time.time(),
               "phase_seconds": {}}
    mark = [time.perf_counter()]

    def phase(name):
        """Wall time since the previous phase ended (where a run's minutes go)."""
        now = time.perf_counter()
        results["phase_seconds"][name] = round(now - mark[0], 1)
        mark[0] = now
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    amqp = localsuite.create_vhost(vhost)
    admin_pg = psycopg2.connect(PG_ADMIN)
    admin_pg.autocommit = True
    dbs = {}
    for svc in localsuite.SERVICES:
        name = f"grbench_{svc}_{uuid.uuid4().hex[:6]}"
        admin_pg.cursor().execute(f'CREATE DATABASE "{name}"')
        dbs[svc] = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    data = ROOT / "var" / "bench"
    suite = localsuite.LocalSuite(data, amqp, database_urls=dbs, extra_env={**{k: os.environ[k] for k in ("EVENT_BATCH_SIZE", "MAX_WORKERS", "OUTBOX_LINGER_SECONDS", "PG_PREPARED_STATEMENTS") if os.environ.get(k)},
                                                                            "LOG_LEVEL": "WARNING",
                                                                            "OUTBOX_POLL_SECONDS": "0.5"})
    raw_db = f"grbench_raw_{uuid.uuid4().hex[:6]}"
    admin_pg.cursor().execute(f'CREATE DATABASE "{raw_db}"')
    dbs["raw"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + raw_db
    base_port = localsuite.free_port()

    def start_baseline(*args):
        """A process of bench/baseline_services.py (its forms are described there); ``ready`` waits for it."""
        return subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline_services.py"), amqp, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)

    def ready(proc):
        assert proc.stdout.readline().strip() == "ready"

    def queue_consumers(name_prefix):
        """Consumers on this run's queues whose names start with ``name_prefix``: the names from RabbitMQ's
        management API, the counts from the broker itself (a passive declare). The management API's counts are
        statistics refreshed every 5 s: waiting on them cost the scale-out phase seconds per replica started or
        stopped."""
        queues = json.loads(localsuite.rabbit_management("GET", f"queues/{vhost}?columns=name"))
        names = [q["name"] for q in queues if q["name"].startswith(name_prefix)]
        with kombu.Connection(amqp) as conn:
            channel = conn.channel()
            return sum(channel.queue_declare(name, passive=True).consumer_count for name in names)

    baseline, baseline_rpc = start_baseline(str(base_port)), start_baseline("--rpc", dbs["raw"])
    extra_reviews, sinks, stopping = [], [], []   # stopping: replicas told to stop, not yet waited for

    def stop_later(proc):
        """Tell a replica to stop; its consumer goes first, and it is waited for at the end of the phase."""
        stopping.append(proc)
        os.killpg(proc.pid, signal.SIGTERM)
    paused: set[str] = set()
    under_load = None   # the memory sampler of the submit path, stopped in any case

    def pause(names):
        for name in names:
            os.killpg(suite.procs[name].pid, signal.SIGSTOP)
            paused.add(name)

    def resume(names):
        for name in names:
            os.killpg(suite.procs[name].pid, signal.SIGCONT)
            paused.discard(name)

    class PeakMemory:
        """Samples ``memory()`` every 0.25 s in a thread from ``start()`` to ``stop()``; ``peak`` keeps each
        process's largest resident size: memory under the submit load, not only after it."""

        def __init__(self):
            self.peak: dict = {}
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

        def _run(self):
            while not self._stop.is_set():
                for name, mb in memory().items():
                    if mb is not None and mb > self.peak.get(name, 0.0):
                        self.peak[name] = mb
                self._stop.wait(0.25)

        def stop(self):
            self._stop.set()
            self._thread.join()

    def memory():
        """Resident MB of each service process, and of the two bare Nameko processes of the baseline (its HTTP
        front, and its RPC service: the like-for-like bare service process)."""
        out = {n: rss_mb(p.pid) for n, p in suite.procs.items() if n != "s3"}
        out.update({"baseline front": rss_mb(baseline.pid), "baseline rpc": rss_mb(baseline_rpc.pid)})
        return out

    def profile(names, prefix, seconds):
        """BENCH_PROFILE=1: py-spy samples of these processes (on-CPU, raw stacks) in /tmp/prof-<prefix><name>.txt."""
        if os.environ.get("BENCH_PROFILE") != "1":
            return []
        return [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                                  str(suite.procs[name].pid), "-d", str(seconds), "-f", "raw", "-o",
                                  f"/tmp/prof-{prefix}{name}.txt", "-r", "200"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in names]

    try:
        ready(baseline)
        ready(baseline_rpc)
        suite.start()
        out = suite.admin("create-user", "--username", "admin", "--password", scenario.PASSWORD, "--role", "admin")
        assert out.returncode == 0, out.stderr
        results["memory_idle_mb"] = memory()
        gw = suite.gateway_url
        admin = scenario.Client(gw).login("admin")
        admin.call("POST", "/api/v1/users", {"username": "bench-officer", "password": scenario.PASSWORD,
                                              "role": "programme_officer"}, expect=201)
        officer = scenario.Client(gw).login("bench-officer")
        year = time.gmtime().tm_year
        call = officer.call("POST", "/api/v1/calls", {"template": 2025, "year": year,
                                                      "deadline": f"{year}-12-31T23:59:59",
                                                      "doc_no": f"bench-{uuid.uuid4().hex[:6]}"}, expect=201)
        officer.call("POST", f"/api/v1/calls/{call['id']}/open")

        phase("start")
        # --- set-up (not timed): one returnee park per client, each with its drafts and their scans --------
        n_units = max(LEVELS)
        units = []
        for i in range(n_units):
            u = officer.call("POST", "/api/v1/units", {"name": f"留学人员创业园{i:02d}-{uuid.uuid4().hex[:4]}",
                                                       "kind": "returnee_park", "league_city_code": "150100",
                                                       "uscc": demo_uscc(i * 7919 + 13)}, expect=201)
            uname = f"park-{i}-{uuid.uuid4().hex[:4]}"
            admin.call("POST", "/api/v1/users", {"username": uname, "password": scenario.PASSWORD,
                                                  "role": "applicant_unit", "unit_id": u["id"]}, expect=201)
            units.append((u, Http(gw, scenario.Client(gw).login(uname).token)))
        pdf = scenario.tiny_pdf("bench")
        digest = hashlib.sha256(pdf).hexdigest()

        def make_draft(unit_idx):
            u, client = units[unit_idx]
            app = client.post("/api/v1/applications", {"call_id": call["id"], "programme_code": "chizi",
                                                       "form": chizi_form(u["name"], year)})
            up = client.post(f"/api/v1/applications/{app['id']}/documents", {
                "kind": "stamped_form_scan", "filename": "scan.pdf", "size": len(pdf), "sha256": digest})
            requests.put(up["upload_url"], data=pdf, timeout=30).raise_for_status()
            client.post(f"/api/v1/documents/{up['document']['id']}/confirm", {})
            return unit_idx, app["id"]

        # one real submission ends each burst: per round, each consumer alone, the three together, and the
        # scale-out's two drains
        need = (REPEAT + 1) * sum(PER_LEVEL.values()) + STEADY_COUNT + (len(CONSUMERS) + 1 + 2) * REPEAT
        t0 = time.perf_counter()
        with ThreadPoolExecutor(10) as pool:
            drafts = list(pool.map(make_draft, [i % n_units for i in range(need)]))
        results["setup"] = {"drafts": need, "seconds": round(time.perf_counter() - t0, 1)}
        print(f"set-up: {need} drafts with verified scans in {results['setup']['seconds']} s", flush=True)
        phase("set-up")
        queue = list(drafts)

        def take(n):
            nonlocal queue
            batch, queue = queue[:n], queue[n:]
            return batch

        def submit(item):
            unit_idx, app_id = item
            units[unit_idx][1].post(f"/api/v1/applications/{app_id}/submit", {}, expect=(200,))

        def count_handled(svc):
            with psycopg2.connect(dbs[svc]) as c, c.cursor() as cur:
                cur.execute("SELECT count(*) FROM inbox WHERE event_type='application_submitted'")
                return cur.fetchone()[0]

        def wait_handled(expected, services=CONSUMERS, timeout=180):
            deadline = time.monotonic() + timeout
            counts = {}
            while time.monotonic() < deadline:
                counts = {svc: count_handled(svc) for svc in services}
                if all(v >= expected for v in counts.values()):
                    return counts
                time.sleep(0.1)
            return counts

        def latency_row(lat, el, err):
            row = {"throughput": round(len(lat) / el, 1), "p50_ms": ms(pct(lat, 50)), "p95_ms": ms(pct(lat, 95)),
                   "p99_ms": ms(pct(lat, 99)), "errors": len(err)}
            if err:
                row["first_error"] = err[0]
            return row

        # --- 1. submit path vs baseline -------------------------------------------------------------------
        # Each level runs three times: the submit path alone (the consumers of its events paused, so the
        # figure is HTTP, JWT, validation, the database write and the outbox relay, as the issue defines it;
        # the events wait in RabbitMQ and are drained and counted before going on), the whole suite (the
        # consumers handle every event on the same two cores meanwhile), then the baselines: bare Nameko
        # HTTP -> trivial RPC in another process (and in the front's own process), and the same front -> an RPC
        # doing a submission's database work in raw SQL.
        front = Http(f"http://127.0.0.1:{base_port}")
        body = json.dumps(chizi_form("基准单位", year), ensure_ascii=False)
        from nameko.standalone.rpc import ClusterRpcProxy
        cfg = {"AMQP_URI": amqp}
        with ClusterRpcProxy(cfg) as rpc:
            raw_ids = rpc.bench_echo.prepare_raw(REPEAT * sum(PER_LEVEL.values()))
        results["submit"] = {}
        submitted_so_far = 0

        def worker_times():
            return {"gateway handler": entrypoint_seconds(suite.metrics_ports["gateway"], "gateway",
                                                          "submit_application"),
                    "intake worker": entrypoint_seconds(suite.metrics_ports["intake"], "intake",
                                                        "submit_application")}

        under_load = PeakMemory()
        for clients in LEVELS:
            n = PER_LEVEL[clients]
            alone_runs, base_runs, local_runs, raw_runs = [], [], [], []
            # REPEAT interleaved rounds of (suite alone, baseline): the medians, and their ratio, hold better on
            # a shared machine than one run of each
            for rep in range(REPEAT):
                spies = profile(("intake", "gateway"), f"x{clients}-", 4) if rep == 0 else []
                # the queue is round-robin over the units: concurrent clients are different units, as near a
                # deadline
                pause(CONSUMERS)
                try:
                    cpu0, worker0 = cpu_seconds(suite.procs), worker_times()
                    el, lat, err = run_load(submit, take(n), clients)
                    cpu1, worker1 = cpu_seconds(suite.procs), worker_times()
                finally:
                    resume(CONSUMERS)
                # where a submission's time went: the client's mean, the gateway's handler, intake's worker
                inside = {k: round((worker1[k][0] - worker0[k][0]) * 1000 / max(1, worker1[k][1] - worker0[k][1]), 2)
                          for k in worker1}
                alone_runs.append({**latency_row(lat, el, err), "cpu_ms_per_submission": cpu_ms_per(cpu0, cpu1, n),
                                   "mean_ms": {"client": round(statistics.mean(lat) * 1000, 2), **inside}})
                for spy in spies:
                    spy.wait(30)
                submitted_so_far += n
                wait_handled(submitted_so_far)
                # the two baselines take turns going first
                for path in ("/forward", "/forward_local") if rep % 2 == 0 else ("/forward_local", "/forward"):
                    procs = {"baseline front": baseline, "baseline rpc": baseline_rpc}
                    bcpu0 = cpu_seconds(procs)
                    bel, blat, berr = run_load(lambda _: front.post(path, {"body": body}, expect=(200,)),
                                               range(n), clients)
                    bcpu1 = cpu_seconds(procs)
                    (base_runs if path == "/forward" else local_runs).append(
                        {**latency_row(blat, bel, berr), "cpu_ms_per_request": cpu_ms_per(bcpu0, bcpu1, n)})
                # the raw-SQL floor, in every round too: one measurement of it moved by half between runs
                ids, raw_ids = raw_ids[:n], raw_ids[n:]
                rel, rlat, rerr = run_load(lambda a: front.post(f"/submit_raw/{a}", {"body": body}, expect=(200,)),
                                           ids, clients)
                raw_runs.append(latency_row(rlat, rel, rerr))
            el, lat, err = run_load(submit, take(n), clients)
            whole = latency_row(lat, el, err)
            submitted_so_far += n
            wait_handled(submitted_so_far)
            base, local, raw = median_row(base_runs), median_row(local_runs), median_row(raw_runs)
            row = {"n": n, "repeats": REPEAT, **median_row(alone_runs),
                   "whole_suite_throughput": whole["throughput"], "whole_suite_p50_ms": whole["p50_ms"],
                   "whole_suite_p99_ms": whole["p99_ms"], "whole_suite_errors": whole["errors"],
                   "baseline_throughput": base["throughput"], "baseline_p50_ms": base["p50_ms"],
                   "baseline_p99_ms": base["p99_ms"], "baseline_errors": base["errors"],
                   "baseline_cpu_ms_per_request": base["cpu_ms_per_request"],
                   "baseline_one_process_throughput": local["throughput"],
                   "baseline_one_process_p50_ms": local["p50_ms"],
                   "baseline_one_process_cpu_ms_per_request": local["cpu_ms_per_request"],
                   "raw_sql_throughput": raw["throughput"], "raw_sql_p50_ms": raw["p50_ms"],
                   "raw_sql_errors": sum(r["errors"] for r in raw_runs),
                   "runs": {"alone_throughput": [r["throughput"] for r in alone_runs],
                            "baseline_throughput": [r["throughput"] for r in base_runs],
                            "baseline_one_process_throughput": [r["throughput"] for r in local_runs],
                            "raw_sql_throughput": [r["throughput"] for r in raw_runs]}}
            row["ratio"] = round(row["throughput"] / row["baseline_throughput"], 2)
            row["whole_suite_ratio"] = round(row["whole_suite_throughput"] / row["baseline_throughput"], 2)
            row["raw_sql_ratio"] = round(row["raw_sql_throughput"] / row["baseline_throughput"], 2)
            row["ratio_one_process"] = round(row["throughput"] / row["baseline_one_process_throughput"], 2)
            results["submit"][clients] = row
            print(f"submit x{clients}: {row}", flush=True)
        under_load.stop()
        results["memory_peak_under_load_mb"] = under_load.peak
        phase("submit path")
        if os.environ.get("BENCH_ONLY_SUBMIT") == "1":
            return 0
        results["memory_loaded_mb"] = memory()

        # --- 2. event path: saturation and a steady rate --------------------------------------------------
        def event_latencies(consumer_db):
            with psycopg2.connect(dbs[consumer_db]) as c, c.cursor() as cur:
                cur.execute("SELECT event_id, handled_at FROM inbox WHERE event_type='application_submitted'")
                return {r[0]: r[1] for r in cur.fetchall()}

        with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
            cur.execute("SELECT body, headers FROM outbox WHERE event_type='application_submitted' LIMIT 1")
            template_body, template_headers = cur.fetchone()

        def burst(n):
            """n application_submitted events committed at once in intake's outbox (copies of a real one with
            new ids), so the relay and the consumers run flat out, not paced by the submit path."""
            rows = []
            for _ in range(n):
                env = json.loads(template_body)
                env["id"] = uuid.uuid4().hex
                env["payload"]["application"]["id"] = uuid.uuid4().hex
                rows.append((env["id"], "intake", "application_submitted", json.dumps(env, ensure_ascii=False),
                             template_headers))
            with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
                cur.executemany("INSERT INTO outbox (event_id, source, event_type, body, headers, created_at, "
                                "attempts) VALUES (%s, %s, %s, %s, %s, now(), 0)", rows)
                cur.execute("SELECT event_id, created_at FROM outbox WHERE event_id = ANY(%s)",
                            ([r[0] for r in rows],))
                committed = dict(cur.fetchall())
            # Rows written behind intake's back wait for the relay's next poll; one real submission right
            # after wakes the relay as intake's own commits do, so the burst starts as a real one would.
            submit(take(1)[0])
            return committed

        def measure(svc, committed):
            handled = event_latencies(svc)
            got = [e for e in committed if e in handled]
            lats = [(handled[e] - committed[e]).total_seconds() for e in got]
            first, last = min(handled[e] for e in got), max(handled[e] for e in got)
            return {"events": len(got), "lost": len(committed) - len(got),
                    "events_per_s": round(len(got) / (last - min(committed.values())).total_seconds(), 1),
                    "drain_per_s": round(len(got) / max((last - first).total_seconds(), 1e-3), 1),
                    "p50_ms": ms(pct(lats, 50)), "p99_ms": ms(pct(lats, 99))}

        # baselines: raw Nameko dispatch to one trivial handler (``tick``), or to three, each in its own
        # process (``tick3``); the other two sinks run from here on and ignore ``tick``
        from nameko.standalone.events import event_dispatcher
        dispatch = event_dispatcher(cfg)
        sinks.extend(start_baseline("--sink", name) for name in ("bench_sink_b", "bench_sink_c"))
        for p in sinks:
            ready(p)

        def reset_sinks(names):
            for name in names:
                with ClusterRpcProxy(cfg) as rpc:
                    getattr(rpc, name).reset()

        def sink_arrivals(name):
            """(sent, arrived) times of the events a sink process handled since its reset."""
            with ClusterRpcProxy(cfg) as rpc:
                return getattr(rpc, name).stats()

        def sink_burst(names, event_type, n):
            reset_sinks(names)
            t0 = time.time()
            for _ in range(n):
                dispatch("bench_source", event_type, {"t": time.time()})
            out = {}
            for name in names:
                arrivals, deadline = [], time.monotonic() + 60
                while time.monotonic() < deadline:
                    arrivals = sink_arrivals(name)
                    if len(arrivals) >= n:
                        break
                    time.sleep(0.1)
                lats = [b - a for a, b in arrivals]
                first, last = min(b for _, b in arrivals), max(b for _, b in arrivals)
                out[name] = {"events": len(arrivals), "lost": n - len(arrivals),
                             "events_per_s": round(len(arrivals) / (last - t0), 1),
                             "drain_per_s": round(len(arrivals) / max(last - first, 1e-3), 1),
                             "p50_ms": ms(pct(lats, 50)), "p99_ms": ms(pct(lats, 99))}
            return out

        def three_sinks():
            three = sink_burst(["bench_sink", "bench_sink_b", "bench_sink_c"], "tick3", N_SATURATION)
            return {"events": sum(r["events"] for r in three.values()), "lost": sum(r["lost"] for r in three.values()),
                    "events_per_s": min(r["events_per_s"] for r in three.values()),
                    "drain_per_s": min(r["drain_per_s"] for r in three.values()),
                    "p50_ms": max(r["p50_ms"] for r in three.values()),
                    "p99_ms": max(r["p99_ms"] for r in three.values())}

        ev = {"saturation": {}, "alone": {}, "steady": {}}
        runs = {"saturation": {svc: [] for svc in CONSUMERS}, "alone": {svc: [] for svc in CONSUMERS},
                "baseline_saturation": [], "baseline_three_sinks": []}
        # REPEAT interleaved rounds: the three consumers together, three trivial handlers; each consumer
        # alone (the other two paused), one trivial handler
        for rep in range(REPEAT):
            spies = profile(CONSUMERS + ("intake",), "ev-", 2) if rep == 0 else []
            committed = burst(N_SATURATION)
            submitted_so_far += N_SATURATION + 1
            wait_handled(submitted_so_far)
            for spy in spies:
                spy.wait(30)
            for svc in CONSUMERS:
                runs["saturation"][svc].append(measure(svc, committed))
            runs["baseline_three_sinks"].append(three_sinks())
            for svc in CONSUMERS:
                others = [o for o in CONSUMERS if o != svc]
                pause(others)
                try:
                    spies = profile((svc,), "alone-", 1) if rep == 0 else []
                    cpu0 = cpu_seconds(suite.procs)
                    committed = burst(N_SATURATION)
                    submitted_so_far += N_SATURATION + 1
                    wait_handled(submitted_so_far, services=(svc,))
                    cpu1 = cpu_seconds(suite.procs)
                    for spy in spies:
                        spy.wait(30)
                finally:
                    resume(others)
                wait_handled(submitted_so_far)
                runs["alone"][svc].append({**measure(svc, committed), "cpu_ms_per_event": cpu_ms_per(
                    cpu0, cpu1, N_SATURATION, (svc, "intake", "postgresql", "rabbitmq"))})
            bcpu0 = cpu_seconds({"baseline": baseline})
            tick = sink_burst(["bench_sink"], "tick", N_SATURATION)["bench_sink"]
            bcpu1 = cpu_seconds({"baseline": baseline})
            runs["baseline_saturation"].append({**tick, "cpu_ms_per_event": cpu_ms_per(
                bcpu0, bcpu1, N_SATURATION, ("baseline", "rabbitmq"))})
        for key in ("saturation", "alone"):
            ev[key] = {svc: median_row(runs[key][svc]) for svc in CONSUMERS}
        ev["baseline_saturation"] = median_row(runs["baseline_saturation"])
        ev["baseline_three_sinks"] = median_row(runs["baseline_three_sinks"])
        ev["repeats"] = REPEAT
        ev["runs"] = {"alone_events_per_s": {svc: [r["events_per_s"] for r in runs["alone"][svc]] for svc in CONSUMERS},
                      "together_events_per_s": {svc: [r["events_per_s"] for r in runs["saturation"][svc]]
                                                for svc in CONSUMERS},
                      "baseline_events_per_s": [r["events_per_s"] for r in runs["baseline_saturation"]],
                      "baseline_three_events_per_s": [r["events_per_s"] for r in runs["baseline_three_sinks"]]}
        # steady rate
        steady = take(STEADY_COUNT)
        t_start = time.perf_counter()
        for i, item in enumerate(steady):
            target = t_start + i / STEADY_RATE
            time.sleep(max(0.0, target - time.perf_counter()))
            submit(item)
        wait_handled(submitted_so_far + STEADY_COUNT)
        submitted_so_far += STEADY_COUNT
        with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
            cur.execute("SELECT event_id, created_at FROM outbox WHERE event_type='application_submitted' "
                        "ORDER BY seq DESC LIMIT %s", (STEADY_COUNT,))
            steady_ids = dict(cur.fetchall())
        for svc in CONSUMERS:
            handled = event_latencies(svc)
            lats = [(handled[e] - t).total_seconds() for e, t in steady_ids.items() if e in handled]
            ev["steady"][svc] = {"rate_per_s": STEADY_RATE, "events": len(lats), "lost": len(steady_ids) - len(lats),
                                 "p50_ms": ms(pct(lats, 50)), "p99_ms": ms(pct(lats, 99))}
        with ClusterRpcProxy(cfg) as rpc:
            rpc.bench_sink.reset()
        t_start = time.perf_counter()
        for i in range(STEADY_COUNT):
            time.sleep(max(0.0, t_start + i / STEADY_RATE - time.perf_counter()))
            dispatch("bench_source", "tick", {"t": time.time()})
        time.sleep(1)
        with ClusterRpcProxy(cfg) as rpc:
            arrivals = rpc.bench_sink.stats()
        blats = [b - a for a, b in arrivals]
        ev["baseline_steady"] = {"rate_per_s": STEADY_RATE, "events": len(arrivals), "p50_ms": ms(pct(blats, 50)),
                                 "p99_ms": ms(pct(blats, 99))}
        for p in sinks:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(30)
        sinks.clear()
        base1, base3 = ev["baseline_saturation"], ev["baseline_three_sinks"]
        for svc in CONSUMERS:
            ev["saturation"][svc]["ratio"] = round(ev["saturation"][svc]["events_per_s"] / base3["events_per_s"], 2)
            ev["saturation"][svc]["drain_ratio"] = round(ev["saturation"][svc]["drain_per_s"]
                                                         / base3["drain_per_s"], 2)
            ev["alone"][svc]["ratio"] = round(ev["alone"][svc]["events_per_s"] / base1["events_per_s"], 2)
            ev["alone"][svc]["drain_ratio"] = round(ev["alone"][svc]["drain_per_s"] / base1["drain_per_s"], 2)
        results["events"] = ev
        print(f"events: {json.dumps(ev, ensure_ascii=False)}", flush=True)
        phase("event path")

        # --- 3. scale-out: a backlog drained by one and by two review processes ---------------------------
        # REPEAT interleaved rounds of (one replica, two replicas), for the suite and for the baseline: a backlog
        # drains in about half a second, so one round's ratio moved by a third between runs. The second replica
        # is started for its rounds and stopped after them, and every replica is consuming before the backlog is
        # made; they are paused while it is committed and relayed into their queue, then resumed together: the
        # drain measures consuming, not process start-up.
        def set_review_replicas(n):
            while len(extra_reviews) < n - 1:
                log = open(suite.log_dir / f"review-{len(extra_reviews) + 2}.log", "ab")
                extra_reviews.append(subprocess.Popen([sys.executable, "-m", "grassroots.serve", "review"],
                                                      cwd=ROOT, env=suite.env(), stdout=log, stderr=subprocess.STDOUT,
                                                      start_new_session=True))
            while len(extra_reviews) > n - 1:
                stop_later(extra_reviews.pop())
            deadline = time.monotonic() + 60
            while queue_consumers("evt-intake-application_submitted--review") != n and time.monotonic() < deadline:
                time.sleep(0.2)

        def review_drain(replicas):
            nonlocal submitted_so_far
            set_review_replicas(replicas)
            group = [suite.procs["review"]] + extra_reviews
            before = count_handled("review")
            for p in group:
                os.killpg(p.pid, signal.SIGSTOP)
            try:
                committed = burst(SCALE_BACKLOG)
                submitted_so_far += SCALE_BACKLOG + 1
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:   # every event relayed into the queue before the drain starts
                    with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
                        cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                        if cur.fetchone()[0] == 0:
                            break
                    time.sleep(0.1)
            finally:
                for p in group:
                    os.killpg(p.pid, signal.SIGCONT)
            deadline = time.monotonic() + 180
            while count_handled("review") < before + SCALE_BACKLOG + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            handled = event_latencies("review")
            stamps = [handled[e] for e in committed if e in handled]
            drain = (max(stamps) - min(stamps)).total_seconds()
            return {"backlog": SCALE_BACKLOG, "drained": len(stamps), "drain_seconds": round(drain, 2),
                    "events_per_s": round(len(stamps) / drain, 1)}

        def sink_drain(replicas):
            """The same backlog of trivial events drained by bench_sink in one process, or in two."""
            if replicas == 2 and not sinks:
                sinks.append(start_baseline("--sink-replica"))
                ready(sinks[-1])
            elif replicas == 1 and sinks:
                stop_later(sinks.pop())
            deadline = time.monotonic() + 60
            while queue_consumers("evt-bench_source-tick--bench_sink.on_tick") != replicas \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            names = ["bench_sink"] + (["bench_sink_replica"] if replicas == 2 else [])
            reset_sinks(names)
            group = [baseline] + sinks
            for p in group:
                os.killpg(p.pid, signal.SIGSTOP)
            try:
                for _ in range(SCALE_BACKLOG):
                    dispatch("bench_source", "tick", {"t": time.time()})
            finally:
                for p in group:
                    os.killpg(p.pid, signal.SIGCONT)
            arrivals, deadline = [], time.monotonic() + 60
            while time.monotonic() < deadline:
                arrivals = [a for name in names for a in sink_arrivals(name)]
                if len(arrivals) >= SCALE_BACKLOG:
                    break
                time.sleep(0.1)
            stamps = [b for _, b in arrivals]
            drain = max(stamps) - min(stamps)
            return {"backlog": SCALE_BACKLOG, "drained": len(stamps), "drain_seconds": round(drain, 2),
                    "events_per_s": round(len(stamps) / drain, 1)}

        rounds = {"suite": {1: [], 2: []}, "baseline": {1: [], 2: []}}
        pause(["notify", "experts"])   # review's replicas drain alone; the others catch up after the last round
        for rep in range(REPEAT):
            for replicas in ((1, 2) if rep % 2 == 0 else (2, 1)):   # each order as often as the other
                rounds["suite"][replicas].append(review_drain(replicas))
                print(f"scale-out x{replicas}: {rounds['suite'][replicas][-1]}", flush=True)
                rounds["baseline"][replicas].append(sink_drain(replicas))
                print(f"scale-out baseline x{replicas}: {rounds['baseline'][replicas][-1]}", flush=True)
        resume(["notify", "experts"])
        wait_handled(submitted_so_far)
        set_review_replicas(1)
        while sinks:
            stop_later(sinks.pop())
        for p in stopping:
            p.wait(30)
        stopping.clear()
        scale, base_scale = {}, {}
        for out, kind in ((scale, "suite"), (base_scale, "baseline")):
            for replicas in (1, 2):
                out[replicas] = median_row(rounds[kind][replicas])
            out["ratio_2_to_1"] = round(out[2]["events_per_s"] / out[1]["events_per_s"], 2)
            out["runs"] = {"events_per_s": {n: [r["events_per_s"] for r in rounds[kind][n]] for n in (1, 2)},
                           "ratio_2_to_1": [round(two["events_per_s"] / one["events_per_s"], 2)
                                            for one, two in zip(rounds[kind][1], rounds[kind][2])]}
        scale["baseline"] = base_scale
        results["scale_out"] = scale
        results["memory_after_mb"] = memory()
        phase("scale-out and memory")
    finally:
        if under_load is not None:
            under_load.stop()
        if paused:
            resume(list(paused))
        for p in extra_reviews + sinks + stopping:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        suite.stop()
        for p in (baseline, baseline_rpc):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(30)
            except ProcessLookupError:
                pass
        localsuite.delete_vhost(vhost)
        cur = admin_pg.cursor()
        for url in dbs.values():
            db = url.rsplit("/", 1)[1]
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
    phase("stop")
    results["seconds"] = round(time.time() - results["started"], 1)
    out = ROOT / "bench" / "results" / "suite.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print_table(results)
    print(f"\nJSON: {out}")
    print(f"wall time {results['seconds']} s: " + ", ".join(f"{k} {v} s" for k, v in results["phase_seconds"].items()))
    return 0


def print_table(r):
    print(f"\n== Submit path through the gateway (vs bare Nameko HTTP -> trivial RPC in another process, same run; "
          f"medians of {REPEAT} interleaved rounds) ==")
    print("alone: the consumers of the events paused (drained and counted afterwards); whole: all running; "
          "raw SQL: the bare front -> an RPC in another process doing a submission's SQL with psycopg2, in the "
          "suite's two round trips")
    print(f"{'clients':>7} {'alone/s':>8} {'ratio':>6} {'p50ms':>7} {'p95ms':>7} {'p99ms':>7} {'whole/s':>8} "
          f"{'ratio':>6} {'base/s':>8} {'p50ms':>6} {'rawsql/s':>8} {'ratio':>6} {'errors':>6}")
    for c, row in r["submit"].items():
        print(f"{c:>7} {row['throughput']:>8} {row['ratio']:>6} {row['p50_ms']:>7} {row['p95_ms']:>7} "
              f"{row['p99_ms']:>7} {row['whole_suite_throughput']:>8} {row['whole_suite_ratio']:>6} "
              f"{row['baseline_throughput']:>8} {row['baseline_p50_ms']:>6} {row['raw_sql_throughput']:>8} "
              f"{row['raw_sql_ratio']:>6} {row['errors'] + row['whole_suite_errors']:>6}")
    print("beside it, the trivial RPC in the front's own process (the baseline of runs before 2026-12-01 06:30 UTC): "
          + "; ".join(f"x{c} {row['baseline_one_process_throughput']}/s, p50 {row['baseline_one_process_p50_ms']} ms, "
                      f"ratio {row['ratio_one_process']}" for c, row in r["submit"].items()))
    # each alone round beside the baseline round that followed it: the machine's drift between rounds cancels
    print("each round, alone / the baseline round after it: " + "; ".join(
        f"x{c} " + " ".join(str(round(a / b, 2)) for a, b in zip(row["runs"]["alone_throughput"],
                                                                  row["runs"]["baseline_throughput"]))
        for c, row in r["submit"].items()))
    print("each round, raw-SQL floor / the baseline round: " + "; ".join(
        f"x{c} " + " ".join(str(round(a / b, 2)) for a, b in zip(row["runs"]["raw_sql_throughput"],
                                                                  row["runs"]["baseline_throughput"]))
        for c, row in r["submit"].items()))
    for c, row in r["submit"].items():
        cpu = row["cpu_ms_per_submission"]
        print(f"CPU ms per submission, alone x{c}: total {round(sum(cpu.values()), 1)}; "
              + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
        cpu = row.get("baseline_cpu_ms_per_request") or {}
        print(f"   baseline, per request: total {round(sum(cpu.values()), 1)}; "
              + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
        cpu = row.get("baseline_one_process_cpu_ms_per_request") or {}
        print(f"   baseline in one process, per request: total {round(sum(cpu.values()), 1)}; "
              + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if k != "baseline rpc"))
        t = row.get("mean_ms") or {}
        if t:
            print(f"   mean time per submission: client {t['client']} ms, in the gateway's handler "
                  f"{t['gateway handler']} ms, in intake's worker {t['intake worker']} ms")
    ev = r["events"]
    print(f"\n== Event path: intake commit -> handled (vs raw Nameko dispatch -> trivial handlers, same run; "
          f"medians of {REPEAT} interleaved rounds) ==")
    print(f"saturation: {N_SATURATION} events committed at once; ev/s from the commit of the first to the "
          f"handling of the last; drain/s from the first handled to the last")
    b1, b3 = ev["baseline_saturation"], ev["baseline_three_sinks"]
    print(f"baseline, one handler:    {b1['events_per_s']} ev/s, drain {b1['drain_per_s']}/s, p50 {b1['p50_ms']} ms, "
          f"p99 {b1['p99_ms']} ms, lost {b1['lost']}")
    print(f"baseline, three handlers: {b3['events_per_s']} ev/s, drain {b3['drain_per_s']}/s (slowest), "
          f"p50 {b3['p50_ms']} ms, p99 {b3['p99_ms']} ms, lost {b3['lost']}")
    for title, key in (("each consumer alone (others paused) vs one handler", "alone"),
                       ("three consumers together vs three handlers", "saturation")):
        print(f"{title}:")
        for svc, row in ev[key].items():
            print(f"{svc:>10}: {row['events_per_s']} ev/s (ratio {row['ratio']}), drain {row['drain_per_s']}/s "
                  f"(ratio {row['drain_ratio']}), p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, lost {row['lost']}")
            if row.get("cpu_ms_per_event"):
                print(" " * 12 + "CPU ms per event: " + ", ".join(f"{k} {v}" for k, v in row["cpu_ms_per_event"].items()))
    if b1.get("cpu_ms_per_event"):
        print("baseline (one handler), CPU ms per event: "
              + ", ".join(f"{k} {v}" for k, v in b1["cpu_ms_per_event"].items()))
    bs = ev["baseline_steady"]
    print(f"steady {bs['rate_per_s']}/s submissions: baseline p50 {bs['p50_ms']} ms p99 {bs['p99_ms']} ms")
    for svc, row in ev["steady"].items():
        print(f"{svc:>10}: p50 {row['p50_ms']} ms p99 {row['p99_ms']} ms lost {row['lost']}")
    print(f"\n== Scale-out: backlog drained by review replicas (medians of {REPEAT} interleaved rounds) ==")
    for n in (1, 2):
        row = r["scale_out"][n]
        print(f"{n} replica(s): {row['events_per_s']} ev/s ({row['drained']}/{row['backlog']} drained in "
              f"{row['drain_seconds']} s, the replicas already consuming)")
    print(f"two replicas / one: {r['scale_out']['ratio_2_to_1']} (each round: "
          f"{' '.join(map(str, r['scale_out']['runs']['ratio_2_to_1']))})")
    b = r["scale_out"]["baseline"]
    print(f"baseline, a trivial handler (bare Nameko) draining the same backlog: 1 replica {b[1]['events_per_s']} ev/s "
          f"({b[1]['drain_seconds']} s), 2 replicas {b[2]['events_per_s']} ev/s ({b[2]['drain_seconds']} s); two / one: "
          f"{b['ratio_2_to_1']} (each round: {' '.join(map(str, b['runs']['ratio_2_to_1']))})")
    print("\n== Resident memory (MB): idle / peak under the submit load / after it / end; the peak beside the "
          "baseline's bare Nameko RPC process's (sampled every 0.25 s) ==")
    peak = r["memory_peak_under_load_mb"]
    bare = peak.get("baseline rpc")
    for n in r["memory_idle_mb"]:
        top = peak.get(n)
        ratio = f"   ratio {round(top / bare, 2)}" if bare and top and not n.startswith("baseline") else ""
        print(f"{n:>14}: {r['memory_idle_mb'][n]} / {top} / {r['memory_loaded_mb'].get(n)} / "
              f"{r['memory_after_mb'].get(n)}{ratio}")


if __name__ == "__main__":
    sys.exit(main())
