"""Collection dates as collectors know them: a full ISO date, or only the year-month, or only the year.

Stored as ISO 8601 text (``2019``, ``2019-05``, ``2019-05-14``), which is also what Darwin Core's
``eventDate`` expects. One validator for every way a date comes in (the Identify form, the specimen dialog,
the CLI), so "last tuesday-ish" is refused everywhere with the same message.
"""

from __future__ import annotations

import re
from datetime import date

from shellgui.core.errors import UsageError

_PARTIAL = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?)?$")
#: Older than this is a typing mistake, not a collection date.
EARLIEST_YEAR = 1500
FORMS = "a year (2019), a year and month (2019-05) or a full date (2019-05-14)"


def collection_date(text: str | None, today: date | None = None) -> str | None:
    """The ISO form of a typed collection date (``None`` for an empty one).

    Raises:
        UsageError: not one of the accepted forms, not a real date, or in the future.
    """
    typed = (text or "").strip()
    if not typed:
        return None
    match = _PARTIAL.match(typed.replace("/", "-").replace(".", "-"))
    if match is None:
        raise UsageError(f"'{typed}' is not a date: type {FORMS}")
    year = int(match["year"])
    month = int(match["month"]) if match["month"] else None
    day = int(match["day"]) if match["day"] else None
    try:
        when = date(year, month or 1, day or 1)
    except ValueError:
        raise UsageError(f"'{typed}' is not a real date: type {FORMS}") from None
    if year < EARLIEST_YEAR:
        raise UsageError(f"'{typed}': a collection date before {EARLIEST_YEAR} is surely a typing mistake")
    if when > (today or date.today()):
        raise UsageError(f"'{typed}' is in the future")
    if day is not None:
        return when.isoformat()
    if month is not None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}"
