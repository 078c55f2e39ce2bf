"""What a task's form shows filled in: the instance's values of its fields.

A submitted form is validated as it was sent, never merged with the instance's earlier
values (`tasks._form_input`). So a client, like the review page, starts from these values,
changes what it must and sends the whole form back.
"""

from __future__ import annotations

from service.engine.formschema import properties_of
from service.services.workflow.bills import RECEIPT_FIELDS

# asked afresh at each review, never carried over from the previous one: the decision and
# remark (the approval record keeps them) and finance's receipt (the bill keeps it)
FRESH = ("decision", "remark", *RECEIPT_FIELDS)


def application_values(data: dict) -> dict:
    """A form's data as its application shows it: without what each review asks afresh."""
    return {k: v for k, v in data.items() if k not in FRESH}


def form_values(form: dict, data: dict) -> dict:
    """The instance's values of a (self-contained) task form's fields, without its read-only
    fields (not the caller's to send) and what the review asks afresh (`FRESH`)."""
    props = properties_of(form, None)
    return {
        k: data[k]
        for k in props
        if data.get(k) is not None and not props[k].get("readOnly") and k not in FRESH
    }
