"""Notify handles a batch of events in a few statements whatever the batch size (one read of the facts, one
insert per fact table, and for the facts already there one locking read and one flush, one insert of all the
messages), with the effect of handling the events one by one in order; the fact rows stay locked while a batch
changes them, new ones included."""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from grassroots.db import DatabaseHandle, create_engine
from notify import usecases as uc
from notify.models import ApplicationFact, Base, Message
from notify.service import NotifyService

CALL = {"id": "c" * 32, "year": 2025, "title": "关于做好2025年各类专家人才服务基层有关工作的通知",
        "doc_no": "内人社办发〔2025〕5号", "deadline": "2025-01-24T15:59:59+00:00",
        "contacts": [{"name": "塞夫", "phone": "(0471) 6268105", "email": "rstzjc2021@126.com"}]}
UNIT = "u" * 31 + "1"
CONTACT = {"name": "王丽", "email": "wangli@hlbe.example.cn"}
USERS = [{"user_id": "unit-user", "name": "李强", "role": "applicant_unit", "unit_id": UNIT,
          "email": "unit-user@hlbe.example.cn"},
         {"user_id": "clerk", "name": "赵敏", "role": "intake_clerk", "unit_id": None,
          "email": "clerk@nmgrst.example.cn"},
         {"user_id": "officer", "name": "塞夫", "role": "programme_officer", "unit_id": None,
          "email": "officer@nmgrst.example.cn"}]


def envelope(event_type, app_id, **payload):
    application = {"id": app_id, "title": "草原畜牧业科技服务团", "programme_code": "service_team",
                   "unit_id": UNIT, "unit_name": "呼伦贝尔市人力资源和社会保障局", "league_city_code": "150700"}
    application.update(payload.pop("application", {}))
    return {"id": uuid.uuid4().hex, "type": event_type, "source": "intake",
            "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(), "correlation_id": "corr",
            "actor": {"id": "x", "role": "applicant_unit"}, "schema_version": 1,
            "payload": {"call": CALL, "application": application,
                        "recipients": {"unit_contacts": [CONTACT]}, **payload}}


class Notify:
    """``NotifyService._handle`` on a real database, with the directory answered in memory and every SQL
    statement counted (one per execution as SQLAlchemy sends it; an executemany counts once)."""

    def __init__(self, url):
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        self.maker = sessionmaker(bind=self.engine, expire_on_commit=False, info={"metadata": Base.metadata})
        provider = SimpleNamespace(
            sessionmaker=self.maker, write_lock=None, source="notify",
            read_sessionmaker=sessionmaker(bind=self.engine.execution_options(read_only=True),
                                           expire_on_commit=False, info={"metadata": Base.metadata}),
            on_duplicate=lambda envelope: None, events_committed=lambda count: None, open_transactions=0)
        ctx = SimpleNamespace(data={}, origin_call_id=None, call_id="test", call_id_stack=["test"],
                              service_name="notify", entrypoint=SimpleNamespace(method_name="on_event"))
        directory = uc.Directory(lambda role: [u for u in USERS if u["role"] == role],
                                 lambda unit: [u for u in USERS if u["unit_id"] == unit],
                                 lambda uid: next((u for u in USERS if u["user_id"] == uid), None))
        self.service = SimpleNamespace(clock=lambda: dt.datetime.now(dt.timezone.utc),
                                       _directory=lambda: directory, db=DatabaseHandle(provider, ctx),
                                       channels=SimpleNamespace(email=None))
        self.statements: list[str] = []
        sa.event.listen(self.engine, "before_cursor_execute",
                        lambda _conn, _cursor, statement, *_rest: self.statements.append(statement))

    def handle(self, envelopes) -> Counter:
        """Handle one batch; the statements it took, by table and kind."""
        self.statements.clear()
        NotifyService._handle(self.service, envelopes)
        kinds = Counter()
        for statement in self.statements:
            words = statement.replace('"', "").split()
            if words[0] in ("BEGIN", "COMMIT"):   # SQLite's explicit transaction control (see grassroots.db)
                continue
            table = words[2] if words[0] in ("INSERT", "DELETE") else words[1] if words[0] == "UPDATE" else \
                words[words.index("FROM") + 1] if "FROM" in words else "?"
            kinds[(words[0], table)] += 1
        return kinds

    def fact(self, app_id) -> ApplicationFact:
        with self.maker() as s:
            return s.get(ApplicationFact, app_id)


@pytest.fixture
def notify(database_url):
    harness = Notify(database_url("notify"))
    yield harness
    harness.engine.dispose()


def test_a_batch_of_submissions_takes_the_same_few_statements_whether_it_holds_2_events_or_10(notify):
    notify.handle([{"id": uuid.uuid4().hex, "type": "call_opened", "source": "intake", "actor": None,
                    "payload": {"call": CALL, "programmes": [{"code": "service_team", "name": "专家服务团项目"}]}}])
    counts, later = {}, {}
    for size in (2, 10):
        batch = [envelope("application_submitted", uuid.uuid4().hex) for _ in range(size)]
        counts[size] = notify.handle(batch)
        for env in batch:   # each event had its effect: its messages and its fact
            assert len(_messages(notify, env["id"])) == 6   # contact e-mail; unit user, clerk: both; officer: in-app
            fact = notify.fact(env["payload"]["application"]["id"])
            assert fact.status == "submitted" and fact.application["title"] == "草原畜牧业科技服务团"
        [first] = [m for m in _messages(notify, batch[0]["id"]) if m["recipient_user_id"] == "clerk"
                   and m["channel"] == "inapp"]
        assert first["subject"] == "申报已提交：草原畜牧业科技服务团"
        assert "（专家服务团项目，" in first["body"]   # the programme's name, from the call notify learnt
        # later events about the same applications change facts that exist
        later[size] = notify.handle([envelope("application_received", env["payload"]["application"]["id"],
                                              recipients={}) for env in batch])
        for env in batch:
            fact = notify.fact(env["payload"]["application"]["id"])
            assert fact.status == "received" and fact.recipients == {"unit_contacts": [CONTACT]}
    # nothing grows with the batch, the inbox (the shared library's redelivery guard) included
    assert counts[10] == counts[2], (counts[2], counts[10])
    assert later[10] == later[2], (later[2], later[10])
    assert counts[10][("INSERT", "inbox")] == 1
    assert sum(counts[10].values()) <= 8, counts[10]
    # new applications: their facts are inserted as the events leave them, not inserted and then updated
    assert counts[10][("INSERT", "application_fact")] == 1
    assert counts[10][("SELECT", "application_fact")] == 1      # the read for enrich
    assert counts[10][("UPDATE", "application_fact")] == 0
    # known ones: the insert finds them there, they are locked and read, then updated by one flush
    assert later[10][("INSERT", "application_fact")] == 1
    assert later[10][("SELECT", "application_fact")] == 2       # the read for enrich, the locking read
    assert later[10][("UPDATE", "application_fact")] == 1       # one flush (an executemany) for all rows


def _messages(notify, event_id):
    with notify.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(Message.__table__).where(Message.__table__.c.event_id == event_id))]


def test_two_events_in_one_batch_about_the_same_application_both_take_effect_in_order(notify):
    app_id = uuid.uuid4().hex
    submitted = envelope("application_submitted", app_id, report_due_at="2025-09-30T15:59:59+00:00")
    received = envelope("application_received", app_id, application={"title": "改名后的服务团"},
                        recipients={}, note="纸质材料已收到")
    notify.handle([submitted, received])

    fact = notify.fact(app_id)
    assert fact.status == "received"                                    # the later event's status
    assert fact.application["title"] == "改名后的服务团"                 # and its title
    assert fact.recipients == {"unit_contacts": [CONTACT]}              # the earlier one's contacts stay
    assert fact.report_due_at == dt.datetime(2025, 9, 30, 15, 59, 59, tzinfo=dt.timezone.utc)
    assert _messages(notify, submitted["id"]) and _messages(notify, received["id"])

    notify.handle([envelope("application_withdrawn", app_id, recipients={}),
                   envelope("application_submitted", app_id, recipients={})])
    assert notify.fact(app_id).status == "submitted"


def test_while_one_batch_changes_a_fact_another_waits_for_it_and_then_builds_on_its_change(notify):
    if notify.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    first_app, app_id = uuid.uuid4().hex, uuid.uuid4().hex
    notify.handle([envelope("application_submitted", first_app), envelope("application_submitted", app_id)])

    holder = notify.maker()
    holder.begin()
    uc.learn_many(holder, [envelope("application_received", app_id, application={"title": "第一个批次的标题"},
                                     recipients={})])
    # the holder's change is not flushed yet: only its lock keeps the waiter from reading the old row
    waiter = notify.maker()
    waiter.begin()
    waiter.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
    with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
        uc.learn_many(waiter, [envelope("application_withdrawn", first_app, recipients={}),
                               envelope("application_withdrawn", app_id, recipients={})])
    waiter.rollback(), waiter.close()
    holder.commit(), holder.close()

    with notify.maker() as s, s.begin():
        uc.learn_many(s, [envelope("application_withdrawn", app_id, application={"title": None},
                                   recipients={})])
    fact = notify.fact(app_id)
    assert fact.status == "withdrawn" and fact.application["title"] == "第一个批次的标题"


def test_a_batch_about_a_new_application_waits_for_another_creating_it_and_builds_on_what_it_wrote(notify):
    if notify.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    app_id = uuid.uuid4().hex
    creator = notify.maker()
    creator.begin()
    uc.learn_many(creator, [envelope("application_submitted", app_id, report_due_at="2025-09-30T15:59:59+00:00")])
    done = threading.Event()

    def second():   # the same new application, from another queue, at the same moment
        with notify.maker() as s, s.begin():
            uc.learn_many(s, [envelope("application_received", app_id, application={"title": "改名后的服务团"},
                                       recipients={})])
        done.set()

    t = threading.Thread(target=second)
    t.start()
    assert not done.wait(0.5)          # its insert waits for the creator's uncommitted row
    creator.commit(), creator.close()
    t.join(10)
    assert done.is_set()
    fact = notify.fact(app_id)
    assert fact.status == "received" and fact.application["title"] == "改名后的服务团"   # the second's change
    assert fact.recipients == {"unit_contacts": [CONTACT]}                                # on the first's row
    assert fact.report_due_at == dt.datetime(2025, 9, 30, 15, 59, 59, tzinfo=dt.timezone.utc)
