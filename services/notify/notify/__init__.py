"""Notify service: tells people what happened, by e-mail, in-app inbox and SMS, once per person, with reminders.
"""
