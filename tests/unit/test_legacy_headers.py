"""The legacy import's agency column is spelt with full-width brackets, as our own archive
export writes it; a workbook of the old platform spelling it with half-width ones, or just
初审机构, is read the same."""

from __future__ import annotations

import pytest

from service.services.documents.exports import ARCHIVE_COLUMNS
from service.services.membership.legacy_rows import (
    AGENCY_COLUMN,
    REQUIRED,
    column_index,
    header_problems,
)


def test_the_agency_column_is_the_exports_own_with_full_width_brackets():
    assert AGENCY_COLUMN == "资料审核（初审机构）"
    assert AGENCY_COLUMN in [c.header for c in ARCHIVE_COLUMNS]


@pytest.mark.parametrize("spelt", ["资料审核（初审机构）", "资料审核(初审机构)", "初审机构"])
def test_every_spelling_of_the_agency_column_is_read(spelt):
    header = [*REQUIRED, spelt]
    assert header_problems(header) == []
    assert column_index(header)[AGENCY_COLUMN] == len(REQUIRED)
