"""Notify service: tells people what happened, by e-mail, in-app inbox and SMS, once per person, with reminders.

- ``notify.domain``: pure rules (routing, Chinese templates, preferences, retry/backoff, reminders, masking);
  the consumer contract of every event is ``notify/domain/EVENTS.md``.
- ``notify.channels``: EmailSender over SMTP, the SMS sender interface (logs by default), the in-app channel.
- ``notify.usecases``: learn facts from events, enrich thin payloads, plan and store one message per person
  and channel (unique dedup key), claim and record deliveries, inbox/preferences/log queries.
- ``notify.service``: the Nameko service ``notify``: one handler per (source, event type), the delivery
  timer (``NOTIFY_DELIVERY_SECONDS``), the reminder timer (``NOTIFY_REMINDER_SECONDS``), and the RPCs
  ``my_messages``, ``unread_count``, ``mark_read``, ``get_preferences``, ``set_preferences``, ``delivery_log``.

Usage: ``python -m grassroots.serve notify`` (or ``scripts/run_local.py``); set ``SMTP_HOST`` (and
``SMTP_PORT``, ``SMTP_SECURITY``, ``SMTP_USERNAME``/``SMTP_PASSWORD``, ``SMTP_SENDER``) to send e-mail; without it
e-mail is recorded as ``skipped`` in the delivery log. Events published: see ``docs/events/notify.md``.
"""
