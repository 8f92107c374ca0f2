"""``make bench``: the submission and event paths of the running suite, each beside a bare-Nameko baseline
measured in the same run, on the same broker and database server. Prints a table and writes
bench/results/suite.json.

1. Submit path: applications submitted per second through the gateway (HTTP, JWT, validation, database
   write under the quota lock, outbox) with 1, 10 and 50 concurrent clients; p50/p95/p99 latency.
   Baseline: a bare Nameko HTTP entrypoint forwarding to a trivial RPC method.
2. Event path: from intake's commit (outbox row) to the handling in review, notify and experts (their
   inbox rows): events/s and p50/p99 latency at a steady rate and at saturation, every event counted.
   Baseline: raw Nameko event dispatch to a trivial handler.
3. Scale-out: a backlog of submissions drained by one and by two review processes.
4. Memory: resident memory of each service process, idle and after the load of point 1.
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

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localsuite  # noqa: E402
import scenario  # noqa: E402
from scenario_forms import demo_uscc  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LEVELS = (1, 10, 50)
PER_LEVEL = {1: 60, 10: 200, 50: 300}
STEADY_RATE, STEADY_COUNT = 20, 100
BACKLOG = 300
N_SATURATION = 300
if os.environ.get("BENCH_QUICK") == "1":   # profiling runs: a few submissions, the full event burst
    PER_LEVEL, STEADY_COUNT, BACKLOG = {1: 10, 10: 20, 50: 50}, 20, 50


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


class Http:
    """One requests.Session per thread (sessions are not shared between threads)."""

    def __init__(self, base, token=None):
        self.base, self.token, self.local = base, token, threading.local()

    def s(self):
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
        return self.local.s

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
    results = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}, "started": time.time()}
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
    suite = localsuite.LocalSuite(data, amqp, database_urls=dbs, extra_env={**{k: os.environ[k] for k in ("EVENT_BATCH_SIZE", "MAX_WORKERS") if os.environ.get(k)},
                                                                            "LOG_LEVEL": "WARNING",
                                                                            "OUTBOX_POLL_SECONDS": "0.5"})
    base_port = localsuite.free_port()
    baseline = subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline_services.py"), amqp, str(base_port)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    extra_reviews = []
    try:
        assert baseline.stdout.readline().strip() == "ready"
        suite.start()
        out = suite.admin("create-user", "--username", "admin", "--password", scenario.PASSWORD, "--role", "admin")
        assert out.returncode == 0, out.stderr
        results["memory_idle_mb"] = {n: rss_mb(p.pid) for n, p in suite.procs.items() if n != "s3"}
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

        need = sum(PER_LEVEL.values()) + STEADY_COUNT + 2 * BACKLOG
        t0 = time.perf_counter()
        with ThreadPoolExecutor(10) as pool:
            drafts = list(pool.map(make_draft, [i % n_units for i in range(need)]))
        results["setup"] = {"drafts": need, "seconds": round(time.perf_counter() - t0, 1)}
        print(f"set-up: {need} drafts with verified scans in {results['setup']['seconds']} s", flush=True)
        queue = list(drafts)

        def take(n):
            nonlocal queue
            batch, queue = queue[:n], queue[n:]
            return batch

        def submit(item):
            unit_idx, app_id = item
            units[unit_idx][1].post(f"/api/v1/applications/{app_id}/submit", {}, expect=(200,))

        # --- 1. submit path vs baseline -------------------------------------------------------------------
        front = Http(f"http://127.0.0.1:{base_port}")
        body = json.dumps(chizi_form("基准单位", year), ensure_ascii=False)
        results["submit"] = {}
        for clients in LEVELS:
            n = PER_LEVEL[clients]
            spies = []
            if os.environ.get("BENCH_PROFILE") == "1" and clients == 10:
                for name in ("intake", "gateway"):
                    spies.append(subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(suite.procs[name].pid),
                         "-d", "4", "-f", "raw", "-o", f"/tmp/prof-{name}.txt", "-r", "200"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            # spread the batch over units so that clients do not queue on one unit's quota lock
            batch = sorted(take(n), key=lambda d: d[0])
            batch = [batch[i] for i in range(len(batch))]
            el, lat, err = run_load(submit, batch, clients)
            bel, blat, berr = run_load(lambda _: front.post("/forward", {"body": body}, expect=(200,)),
                                       range(n), clients)
            row = {"n": n, "throughput": round(len(lat) / el, 1), "p50_ms": ms(pct(lat, 50)),
                   "p95_ms": ms(pct(lat, 95)), "p99_ms": ms(pct(lat, 99)), "errors": len(err),
                   "baseline_throughput": round(len(blat) / bel, 1), "baseline_p50_ms": ms(pct(blat, 50)),
                   "baseline_p99_ms": ms(pct(blat, 99)), "baseline_errors": len(berr)}
            row["ratio"] = round(row["throughput"] / row["baseline_throughput"], 2)
            if err:
                row["first_error"] = err[0]
            results["submit"][clients] = row
            print(f"submit x{clients}: {row}", flush=True)
            for spy in spies:
                spy.wait(30)
        if os.environ.get("BENCH_ONLY_SUBMIT") == "1":
            return 0
        results["memory_loaded_mb"] = {n: rss_mb(p.pid) for n, p in suite.procs.items() if n != "s3"}

        # --- 2. event path: saturation (the x50 burst above) and a steady rate ----------------------------
        def event_latencies(consumer_db, since_ids):
            q_out = "SELECT event_id, created_at FROM outbox WHERE event_type='application_submitted'"
            with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
                cur.execute(q_out)
                created = {r[0]: r[1] for r in cur.fetchall() if since_ids is None or r[0] in since_ids}
            with psycopg2.connect(dbs[consumer_db]) as c, c.cursor() as cur:
                cur.execute("SELECT event_id, handled_at FROM inbox WHERE event_type='application_submitted'")
                handled = {r[0]: r[1] for r in cur.fetchall()}
            return created, handled

        def wait_handled(expected, timeout=120):
            deadline = time.monotonic() + timeout
            counts = {}
            while time.monotonic() < deadline:
                counts = {}
                for svc in ("review", "notify", "experts"):
                    with psycopg2.connect(dbs[svc]) as c, c.cursor() as cur:
                        cur.execute("SELECT count(*) FROM inbox WHERE event_type='application_submitted'")
                        counts[svc] = cur.fetchone()[0]
                if all(v >= expected for v in counts.values()):
                    return counts
                time.sleep(0.2)
            return counts

        submitted_so_far = sum(PER_LEVEL.values())
        counts = wait_handled(submitted_so_far)
        ev = {"saturation": {}, "steady": {}}
        # Saturation: N application_submitted events committed at once in intake's outbox (copies of a real
        # one with new ids), so the relay and the consumers run flat out, not paced by the submit path.
        n_sat = N_SATURATION
        with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
            cur.execute("SELECT body, headers FROM outbox WHERE event_type='application_submitted' LIMIT 1")
            body, headers = cur.fetchone()
            template = json.loads(body)
            rows, burst_ids = [], []
            for _ in range(n_sat):
                env = json.loads(json.dumps(template))
                env["id"] = uuid.uuid4().hex
                env["payload"]["application"]["id"] = uuid.uuid4().hex
                burst_ids.append(env["id"])
                rows.append((env["id"], "intake", "application_submitted", json.dumps(env, ensure_ascii=False),
                             headers))
            cur.executemany("INSERT INTO outbox (event_id, source, event_type, body, headers, created_at, attempts) "
                            "VALUES (%s, %s, %s, %s, %s, now(), 0)", rows)
        spies = []
        if os.environ.get("BENCH_PROFILE") == "1":
            for name in ("review", "notify", "experts", "intake"):
                spies.append(subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(suite.procs[name].pid),
                     "-d", "2", "-f", "raw", "-o", f"/tmp/prof-ev-{name}.txt", "-r", "200"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        counts = wait_handled(submitted_so_far + n_sat)
        submitted_so_far += n_sat
        for spy in spies:
            spy.wait(30)
        with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
            cur.execute("SELECT event_id, created_at FROM outbox WHERE event_id = ANY(%s)", (burst_ids,))
            burst = dict(cur.fetchall())
        for svc in ("review", "notify", "experts"):
            _, handled = event_latencies(svc, None)
            lats = [(handled[e] - t).total_seconds() for e, t in burst.items() if e in handled]
            span = (max(handled[e] for e in burst if e in handled) - min(burst.values())).total_seconds()
            ev["saturation"][svc] = {"events": len(lats), "lost": len(burst) - len(lats),
                                     "events_per_s": round(len(lats) / span, 1), "p50_ms": ms(pct(lats, 50)),
                                     "p99_ms": ms(pct(lats, 99))}
        # steady rate
        steady = take(STEADY_COUNT)
        t_start = time.perf_counter()
        for i, item in enumerate(steady):
            target = t_start + i / STEADY_RATE
            time.sleep(max(0.0, target - time.perf_counter()))
            submit(item)
        counts = wait_handled(submitted_so_far + STEADY_COUNT)
        with psycopg2.connect(dbs["intake"]) as c, c.cursor() as cur:
            cur.execute("SELECT event_id, created_at FROM outbox WHERE event_type='application_submitted' "
                        "ORDER BY seq DESC LIMIT %s", (STEADY_COUNT,))
            steady_ids = dict(cur.fetchall())
        for svc in ("review", "notify", "experts"):
            _, handled = event_latencies(svc, None)
            lats = [(handled[e] - t).total_seconds() for e, t in steady_ids.items() if e in handled]
            ev["steady"][svc] = {"rate_per_s": STEADY_RATE, "events": len(lats), "lost": len(steady_ids) - len(lats),
                                 "p50_ms": ms(pct(lats, 50)), "p99_ms": ms(pct(lats, 99))}
        # baseline: raw Nameko dispatch to a trivial handler, saturation and steady
        from nameko.standalone.events import event_dispatcher
        from nameko.standalone.rpc import ClusterRpcProxy
        cfg = {"AMQP_URI": amqp}
        with ClusterRpcProxy(cfg) as rpc:
            rpc.bench_sink.reset()
        dispatch = event_dispatcher(cfg)
        n_base = PER_LEVEL[50]
        t0 = time.time()
        for _ in range(n_base):
            dispatch("bench_source", "tick", {"t": time.time()})
        arrivals = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with ClusterRpcProxy(cfg) as rpc:
                arrivals = rpc.bench_sink.stats()
            if len(arrivals) >= n_base:
                break
            time.sleep(0.2)
        blats = [b - a for a, b in arrivals]
        ev["baseline_saturation"] = {"events": len(arrivals), "lost": n_base - len(arrivals),
                                     "events_per_s": round(len(arrivals) / (max(b for _, b in arrivals) - t0), 1),
                                     "p50_ms": ms(pct(blats, 50)), "p99_ms": ms(pct(blats, 99))}
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
        for svc in ("review", "notify", "experts"):
            ev["saturation"][svc]["ratio"] = round(ev["saturation"][svc]["events_per_s"]
                                                   / ev["baseline_saturation"]["events_per_s"], 2)
        results["events"] = ev
        print(f"events: {json.dumps(ev, ensure_ascii=False)}", flush=True)

        # --- 3. scale-out: a backlog drained by one and by two review processes ---------------------------
        scale = {}
        total = submitted_so_far + STEADY_COUNT
        for replicas in (1, 2):
            suite.kill("review", signal.SIGTERM)
            for p in extra_reviews:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(30)
            extra_reviews.clear()
            batch = take(BACKLOG)
            run_load(submit, batch, 10)
            total += BACKLOG
            t0 = time.perf_counter()
            suite.start_service("review")
            for _ in range(replicas - 1):
                log = open(suite.log_dir / "review-2.log", "ab")
                extra_reviews.append(subprocess.Popen([sys.executable, "-m", "grassroots.serve", "review"],
                                                      cwd=ROOT, env=suite.env(), stdout=log, stderr=subprocess.STDOUT,
                                                      start_new_session=True))
            deadline = time.monotonic() + 180
            done = 0
            while time.monotonic() < deadline:
                with psycopg2.connect(dbs["review"]) as c, c.cursor() as cur:
                    cur.execute("SELECT count(*) FROM inbox WHERE event_type='application_submitted'")
                    done = cur.fetchone()[0]
                if done >= total:
                    break
                time.sleep(0.1)
            el = time.perf_counter() - t0
            with psycopg2.connect(dbs["review"]) as c, c.cursor() as cur:
                cur.execute("SELECT handled_at FROM inbox WHERE event_type='application_submitted' "
                            "ORDER BY handled_at DESC LIMIT %s", (BACKLOG,))
                stamps = [r[0] for r in cur.fetchall()]
            drain = (max(stamps) - min(stamps)).total_seconds()
            scale[replicas] = {"backlog": BACKLOG, "drained": done - (total - BACKLOG),
                               "seconds_incl_start": round(el, 2), "drain_seconds": round(drain, 2),
                               "events_per_s": round(BACKLOG / drain, 1)}
            print(f"scale-out x{replicas}: {scale[replicas]}", flush=True)
        results["scale_out"] = scale
        results["memory_after_mb"] = {n: rss_mb(p.pid) for n, p in suite.procs.items() if n != "s3"}
    finally:
        for p in extra_reviews:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        suite.stop()
        try:
            os.killpg(baseline.pid, signal.SIGTERM)
            baseline.wait(30)
        except ProcessLookupError:
            pass
        localsuite.delete_vhost(vhost)
        cur = admin_pg.cursor()
        for url in dbs.values():
            db = url.rsplit("/", 1)[1]
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
    results["seconds"] = round(time.time() - results["started"], 1)
    out = ROOT / "bench" / "results" / "suite.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print_table(results)
    print(f"\nJSON: {out}")
    return 0


def print_table(r):
    print("\n== Submit path through the gateway (vs bare Nameko HTTP -> RPC) ==")
    print(f"{'clients':>7} {'subm/s':>8} {'base/s':>8} {'ratio':>6} {'p50ms':>7} {'p95ms':>7} {'p99ms':>7} "
          f"{'base p50':>8} {'errors':>6}")
    for c, row in r["submit"].items():
        print(f"{c:>7} {row['throughput']:>8} {row['baseline_throughput']:>8} {row['ratio']:>6} {row['p50_ms']:>7} "
              f"{row['p95_ms']:>7} {row['p99_ms']:>7} {row['baseline_p50_ms']:>8} {row['errors']:>6}")
    ev = r["events"]
    print("\n== Event path: intake commit -> handled (vs raw Nameko dispatch -> trivial handler) ==")
    print(f"saturation: {N_SATURATION} events committed at once; steady: {STEADY_RATE}/s submissions")
    b = ev["baseline_saturation"]
    print(f"baseline saturation: {b['events_per_s']} ev/s p50 {b['p50_ms']} ms p99 {b['p99_ms']} ms lost {b['lost']}")
    for svc, row in ev["saturation"].items():
        print(f"{svc:>8} saturation: {row['events_per_s']} ev/s (ratio {row['ratio']}) p50 {row['p50_ms']} ms "
              f"p99 {row['p99_ms']} ms lost {row['lost']}")
    bs = ev["baseline_steady"]
    print(f"baseline steady {bs['rate_per_s']}/s: p50 {bs['p50_ms']} ms p99 {bs['p99_ms']} ms")
    for svc, row in ev["steady"].items():
        print(f"{svc:>8} steady {row['rate_per_s']}/s: p50 {row['p50_ms']} ms p99 {row['p99_ms']} ms lost {row['lost']}")
    print("\n== Scale-out: backlog drained by review replicas ==")
    for n, row in r["scale_out"].items():
        print(f"{n} replica(s): {row['events_per_s']} ev/s ({row['drained']}/{row['backlog']} drained in "
              f"{row['drain_seconds']} s; {row['seconds_incl_start']} s incl. process start)")
    print("\n== Resident memory (MB): idle / after submit load / end ==")
    for n in r["memory_idle_mb"]:
        print(f"{n:>8}: {r['memory_idle_mb'][n]} / {r['memory_loaded_mb'].get(n)} / {r['memory_after_mb'].get(n)}")


if __name__ == "__main__":
    sys.exit(main())
