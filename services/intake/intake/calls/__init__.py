"""The yearly call files (申报通知) shipped with the intake service, one YAML file per year.

``call_<year>.yaml`` follows the schema documented in ``intake.domain.calls``; load one with
``intake.domain.calls.load_bundled_call(year)``. A new year's call is a new file here (or a definition an
officer enters through the API), never new code.
"""
