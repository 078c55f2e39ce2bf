"""JSON as the API writes it: dates and times in ISO 8601 wherever they appear.

Marshmallow writes the fields it types; this covers dates inside free-form objects (a form's
data, a process's task list). Flask's own default would write an HTTP date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask.json.provider import DefaultJSONProvider


class IsoJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with ISO 8601 dates (naive datetimes are UTC, as the database keeps them)."""

    ensure_ascii = False

    @staticmethod
    def default(o):
        if isinstance(o, datetime):
            return (o if o.tzinfo else o.replace(tzinfo=UTC)).isoformat()
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)
