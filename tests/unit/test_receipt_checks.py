"""Finance's receipts as the confirming step checks them (services/workflow/bills): dated no
earlier than the form's submission (its Shanghai day), one number in any letter case."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from service.domain.errors import FormInvalid
from service.services.workflow.bills import (
    RECEIPT_LOCK_SPACE,
    receipt_checked,
    refuse_used,
    used_receipts,
)

TODAY = date(2026, 11, 28)
FIELDS = {
    "decision",
    "receipt_number",
    "receipt_date",
    "membership_receipt_number",
    "membership_receipt_date",
}
# submitted at 09:30 on 2026-11-20 in Shanghai (stored as naive UTC)
SUBMITTED = datetime(2026, 11, 20, 1, 30)


def approval(**receipts) -> dict:
    return {"decision": "approve", **receipts}


def refused(payload: dict, submitted: datetime | None = SUBMITTED) -> dict:
    with pytest.raises(FormInvalid) as caught:
        receipt_checked(payload, "confirm", FIELDS, TODAY, submitted)
    return caught.value.errors


@pytest.mark.parametrize("prefix", ["", "membership_"])
def test_a_receipt_dated_before_the_form_was_submitted_is_refused_at_its_field(prefix):
    for early in ("2020-01-01", "2026-11-19"):
        payload = approval(
            **{prefix + "receipt_number": "OLD-2020", prefix + "receipt_date": early}
        )
        assert refused(payload) == {
            prefix + "receipt_date": "开票日期不能早于表单提交日期（2026-11-20）"
        }
    for fine in ("2026-11-20", "2026-11-28"):
        payload = approval(**{prefix + "receipt_number": "R-1", prefix + "receipt_date": fine})
        assert receipt_checked(payload, "confirm", FIELDS, TODAY, SUBMITTED) == payload


def test_both_receipts_dated_before_the_submission_are_each_named():
    payload = approval(
        receipt_number="FP-1",
        receipt_date="2026-11-01",
        membership_receipt_number="CZ-1",
        membership_receipt_date="2026-11-02",
    )
    message = "开票日期不能早于表单提交日期（2026-11-20）"
    assert refused(payload) == {"receipt_date": message, "membership_receipt_date": message}


def test_the_submission_day_is_the_day_in_shanghai():
    """16:00 UTC is midnight in Shanghai: a form stored as submitted at 2026-11-19 16:00 was
    submitted on the 20th there, one stored at 15:59 on the 19th."""
    payload = approval(receipt_number="R-1", receipt_date="2026-11-19")
    assert refused(payload, datetime(2026, 11, 19, 16, 0)) == {
        "receipt_date": "开票日期不能早于表单提交日期（2026-11-20）"
    }
    assert receipt_checked(payload, "confirm", FIELDS, TODAY, datetime(2026, 11, 19, 15, 59))


def test_a_mistyped_year_and_a_return_keep_their_own_outcome():
    payload = approval(receipt_number="R-1", receipt_date="1999-12-31")
    assert refused(payload) == {"receipt_date": "开票日期不能早于 2000-01-01，请核对年份"}
    back = {"decision": "return", "receipt_number": "R-1", "receipt_date": "2020-01-01"}
    assert receipt_checked(back, "confirm", FIELDS, TODAY, SUBMITTED)["receipt_date"] is None


def test_the_two_documents_of_one_bill_are_one_number_in_any_letter_case():
    payload = approval(
        receipt_number="gdcz2026000002",
        receipt_date="2026-11-28",
        membership_receipt_number=" GDCZ2026000002",
        membership_receipt_date="2026-11-28",
    )
    assert set(refused(payload)) == {"membership_receipt_number"}


def test_a_number_another_form_holds_is_refused_in_any_letter_case():
    held = [("GDCZ2026000002", None, "RH-20261128-0001")]
    for typed in ("GDCZ2026000002", "gdcz2026000002", " Gdcz2026000002 "):
        with pytest.raises(FormInvalid) as caught:
            refuse_used(approval(receipt_number=typed), "confirm", held)
        assert caught.value.errors == {
            "receipt_number": "票号 GDCZ2026000002 已登记在单号 RH-20261128-0001 的缴费单上，请核对"
        }
    # a number is unique within its 票据代码, whatever their letter case
    coded = [("GDCZ2026000002", "AB44", "RH-20261128-0001")]
    with pytest.raises(FormInvalid):
        refuse_used(
            approval(receipt_number="gdcz2026000002", receipt_code="ab44"), "confirm", coded
        )
    refuse_used(approval(receipt_number="gdcz2026000002", receipt_code="AB45"), "confirm", coded)


def test_the_lock_and_the_read_of_a_number_take_it_folded():
    """Two confirmations of `ABC` and `abc` at once wait on one advisory lock."""
    (lock, lock_values), (_read, values) = used_receipts(["abc", " ABC", "x-1"], 7, "postgresql")
    assert lock_values == {"lock_space": RECEIPT_LOCK_SPACE, "lock_numbers": ["ABC", "X-1"]}
    assert values["used_folded"] == ["ABC", "X-1"] and values["used_task_id"] == 7
    assert sorted(values["used_numbers"]) == ["ABC", "abc", "x-1"]
