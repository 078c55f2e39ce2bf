"""The use cases, one room per capability.

- `workflow`: the core every business type shares — definitions, instances, tasks and the
  work queue, moving an instance, scope, forms, facts and effects, timers.
- `membership`: accounts and signing in, members, units and their staff, confirmations,
  join codes, the secretariat's directory, records and statistics.
- `education`: learning results, deadlines and the certificates they issue.
- `finance`: bills and invoices.
- `documents`: uploads and previews, Excel exports and imports, certificates as PDF, QR.
- `schedules`: the scheduler and its leader, CPD batches, notices, background jobs.

A room imports from `workflow` and from `service.engine`, `service.db`, `service.domain`;
nothing here imports `service.api` or `service.web` (see the import-linter contract in
pyproject.toml). The demo data lives apart, in `service.demo`.
"""
