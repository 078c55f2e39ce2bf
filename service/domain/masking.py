"""Masking personal data for pages that strangers may see (QR pages, public lookups)."""

from __future__ import annotations


def mask_id_number(number: str | None) -> str | None:
    """Every character but the last four replaced by *: 440308199901101512 → **************1512."""
    if not number:
        return number
    return "*" * max(len(number) - 4, 0) + number[-4:]


def mask_name(name: str | None) -> str | None:
    """张三丰 → 张**: enough for the person to recognise, little for a bystander."""
    return name[:1] + "*" * (len(name) - 1) if name else name
