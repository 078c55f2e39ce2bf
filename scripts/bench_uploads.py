"""How long the upload checks take (service/services/workflow/upload_checks.py).

Prints milliseconds per check (median of 5) for a phone photo (JPEG 4000×3000), a large
PNG (2000×1500), and PDFs of 1 and 20 pages.
Run: .venv/bin/python scripts/bench_uploads.py
"""

from __future__ import annotations

import io
import statistics
import time

from PIL import Image
from pypdf import PdfWriter

from service.services.workflow.upload_checks import content_type


def photo(size, fmt: str) -> bytes:
    image = Image.effect_noise(size, 60).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format=fmt, quality=90) if fmt == "JPEG" else image.save(buf, format=fmt)
    return buf.getvalue()


def pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def measure(name: str, content: bytes) -> None:
    times = []
    for _ in range(5):
        began = time.perf_counter()
        content_type(content)
        times.append((time.perf_counter() - began) * 1000)
    print(f"{name:<28} {len(content) / 1048576:6.2f} MB  {statistics.median(times):8.1f} ms")


if __name__ == "__main__":
    measure("JPEG 4000x3000 (phone)", photo((4000, 3000), "JPEG"))
    measure("PNG 2000x1500", photo((2000, 1500), "PNG"))
    measure("PDF 1 page", pdf(1))
    measure("PDF 20 pages", pdf(20))
