"""Pure domain rules of the intake service: no Nameko, no SQLAlchemy, no I/O beyond reading call files.

Modules and what the service layer calls:
    calls      load_bundled_call(year), load_call_file(path), parse_call(definition) -> model.Call
               (raises CallDefinitionInvalid listing every problem with its path in the file)
    model      Call, Programme, Form, Field, Range, Attachment, Timing, ReportRule, ...; UNIT_KINDS
    forms      validate_draft(programme, data), validate_submission(programme, call, data),
               validate_report(programme, data); *_problems variants return the problem list;
               parse_money, parse_date, parse_date_range
    textcount  count_chars(text): characters as a Chinese reader counts them for word limits
    workdays   working_days(start, end) by the official holiday calendar
    lifecycle  transition(status, name, role), allowed_transitions, check_deadline(now_utc, call),
               STATUS_LABELS, COUNTING_STATUSES
    quota      quota_for(programme, unit_kind), check_quota(programme, unit_kind, counting),
               check_eligible, remaining, quota_usage
    reports    activity_end(programme, form), report_due_date(programme, end), report_status(...)
    export     summary_row(call, programme, application), build_summary_xlsx(rows) -> bytes
    units      validate_unit(data)
    documents  check_document(programme, kind, file_type=, size=, already_stored=),
               check_required_documents(programme, present_kinds), missing_documents, attachment_for

Every rule raises a grassroots.errors.DomainError subclass with a stable code and a Chinese message.
"""
