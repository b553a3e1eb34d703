"""Collection dates: ISO, year-month or year; everything else refused with the same message everywhere."""

from __future__ import annotations

from datetime import date

import pytest

from shellgui.core.dates import collection_date
from shellgui.core.errors import UsageError

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2019", "2019"),
        ("2019-5", "2019-05"),
        ("2019-05-14", "2019-05-14"),
        ("2019/5/4", "2019-05-04"),
        (" 1998.07 ", "1998-07"),
        ("", None),
        (None, None),
    ],
)
def test_accepted_forms(typed: str | None, stored: str | None) -> None:
    assert collection_date(typed, today=TODAY) == stored


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("last tuesday-ish", "is not a date"),
        ("14/05/2019", "is not a date"),
        ("2019-13", "not a real date"),
        ("2019-02-30", "not a real date"),
        ("1066", "typing mistake"),
        ("2027", "in the future"),
        ("2026-11-24", "in the future"),
    ],
)
def test_refused_with_a_reason(typed: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        collection_date(typed, today=TODAY)
