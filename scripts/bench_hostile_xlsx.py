"""Hostile .xlsx uploads: time to refusal and peak memory, before and after the checks.

Builds five files, then reads each in a fresh child process twice: "before" is the
learning import's `read_workbook` as it is in git HEAD (taken from `git show`, before
this change it was a plain openpyxl read), "after" is the current one. Each child is
capped (address space 1.5 GB, 60 s alarm) so the old reader cannot eat the machine; a
child stopped by a cap is reported as such. Peak memory is the child's own ru_maxrss
(from wait4), imports included; "imports" is what the child held before reading.

  shared_strings_bomb  1 GiB of shared strings packed into 1 MB, padded with a 7 MB
                       incompressible image: a 10 MB upload
  empty_rows           100,000 empty rows under the header, the sheet claiming 16,384
                       columns (about 240 KB)
  deep_xml             one cell nesting 1,000,000 elements with random names (10 MB)
  huge_cell            one cell holding 14 million random letters (10 MB)
  legit_20000_rows     the largest file the import accepts: 20,000 rows (for the cost
                       of the checks on a good file)

Run:  python scripts/bench_hostile_xlsx.py [--keep DIR] [--only NAME]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import resource
import signal
import string
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CAP_BYTES = 1536 * 1024 * 1024
CAP_SECONDS = 60
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ("身份证号", "姓名", "已完成学时", "考试状态", "考试次数")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="png" ContentType="image/png"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships"><sheets><sheet name="学习记录" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> str:
    return (
        '<row r="1">'
        + "".join(_cell(f"{c}1", h) for c, h in zip("ABCDE", HEADER, strict=True))
        + "</row>"
    )


def _sheet(rows: str, dimension: str = "A1:E1") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
        f'<dimension ref="{dimension}"/><sheetData>{_header_row()}{rows}</sheetData></worksheet>'
    )


def _workbook(path: Path, sheet, shared=None, extra: dict | None = None) -> None:
    """An .xlsx at `path`; `sheet` and `shared` are text or iterables of text chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, body in (
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared or f'<sst xmlns="{MAIN}"/>'),
        ):
            with z.open(name, "w") as out:
                for chunk in [body] if isinstance(body, str) else body:
                    out.write(chunk.encode())
        for name, data in (extra or {}).items():
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED)


def build_shared_strings_bomb(path: Path) -> None:
    one_mb = "<si><t>x</t></si>" * (1024 * 1024 // 17)
    shared = [f'<sst xmlns="{MAIN}">', *([one_mb] * 1024), "</sst>"]
    rows = '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    padding = random.Random(1).randbytes(7 * 1024 * 1024)
    _workbook(path, _sheet(rows), shared, {"xl/media/image1.png": padding})


def build_empty_rows(path: Path) -> None:
    rows = "".join(f'<row r="{i}"/>' for i in range(2, 100_002))
    _workbook(path, _sheet(rows, "A1:XFD100001"))


def build_deep_xml(path: Path) -> None:
    rng = random.Random(2)
    names = ["".join(rng.choices(string.ascii_letters, k=6)) for _ in range(1_000_000)]
    opening = "".join(f"<{n}>" for n in names)
    closing = "".join(f"</{n}>" for n in reversed(names))
    rows = f'<row r="2"><c r="A2">{opening}{closing}</c></row>'
    _workbook(path, _sheet(rows))


def build_huge_cell(path: Path) -> None:
    rng = random.Random(3)
    text = "".join(rng.choices(string.ascii_letters, k=14_000_000))
    _workbook(path, _sheet(f'<row r="2">{_cell("A2", text)}</row>', "A1:E2"))


def build_legit(path: Path) -> None:
    rows = "".join(
        f'<row r="{i}">{_cell(f"A{i}", f"44010619800101{i:04d}")}{_cell(f"B{i}", "张三")}'
        f'<c r="C{i}"><v>24</v></c>{_cell(f"D{i}", "已通过")}<c r="E{i}"><v>1</v></c></row>'
        for i in range(2, 20_002)
    )
    _workbook(path, _sheet(rows, "A1:E20001"))


FILES = {
    "shared_strings_bomb": build_shared_strings_bomb,
    "empty_rows": build_empty_rows,
    "deep_xml": build_deep_xml,
    "huge_cell": build_huge_cell,
    "legit_20000_rows": build_legit,
}


# --- the child: one read, one figure ------------------------------------------------------


CONSTANTS = ("COLUMNS", "OPTIONAL_COLUMNS", "MAX_ROWS")


def head_reader():
    """`read_workbook` of service/services/education/learning.py as committed in git HEAD."""
    source = subprocess.run(
        ["git", "show", "HEAD:service/services/education/learning.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tree = ast.parse(source)
    keep = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            local = node.module.startswith("service.") and node.module != "service.domain.errors"
            if not local:
                keep.append(node)
        elif isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") in ("COLUMNS", "OPTIONAL_COLUMNS", "MAX_ROWS")
            for t in node.targets
        ):
            keep.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name == "read_workbook":
            keep.append(node)
    namespace: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "HEAD:learning.py", "exec"), namespace)  # noqa: S102
    return namespace["read_workbook"]


def child(which: str, path: str) -> None:
    from service.domain.errors import ServiceError
    from service.services.education.learning import read_workbook

    reader = head_reader() if which == "before" else read_workbook
    content = Path(path).read_bytes()
    imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    try:
        rows = reader(content)
        outcome = f"read {len(rows)} rows"
    except ServiceError as exc:
        outcome = f"refused {exc.status}: {exc.message}"
    except MemoryError:
        outcome = "killed at the memory cap"
    except Exception as exc:  # noqa: BLE001 - what the old code let through is the finding
        outcome = f"500: {type(exc).__name__}"
    seconds = time.perf_counter() - t0
    print(json.dumps({"outcome": outcome, "seconds": seconds, "imports_mb": imports_mb}))


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def measure(which: str, path: Path) -> dict:
    """Run one read in a capped child; its outcome, seconds and peak memory (MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", which, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=_cap,  # noqa: PLW1509 - only setrlimit, before exec
        cwd=REPO,
    )
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        out = proc.stdout.read().decode() if proc.stdout else ""
        proc.returncode = 0
    wall = time.perf_counter() - t0
    peak = usage.ru_maxrss / 1024
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        why = f"killed at the {CAP_SECONDS} s cap" if sig == signal.SIGALRM else f"killed ({sig})"
        return {"outcome": why, "seconds": wall, "peak_mb": peak}
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"outcome": "died (memory cap)", "seconds": wall, "peak_mb": peak}
    result["peak_mb"] = peak
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="build the files into this folder and keep them")
    parser.add_argument("--only", choices=sorted(FILES), action="append")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        signal.alarm(CAP_SECONDS)
        child(*args.child)
        return 0
    folder = Path(args.keep or tempfile.mkdtemp(prefix="hostile-xlsx-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"caps per child: {CAP_BYTES // 1024 // 1024} MB address space, {CAP_SECONDS} s")
    print(f"{'file':<20} {'size':>9}  {'':6} {'outcome':<58} {'seconds':>8} {'peak MB':>8}")
    for name in args.only or FILES:
        path = folder / f"{name}.xlsx"
        if not path.exists():
            FILES[name](path)
        size = f"{path.stat().st_size / 1024:,.0f} KB"
        for which in ("before", "after"):
            r = measure(which, path)
            label = name if which == "before" else ""
            print(
                f"{label:<20} {size if which == 'before' else '':>9}  {which:6} "
                f"{r['outcome'][:58]:<58} {r['seconds']:8.2f} {r['peak_mb']:8.0f}",
                flush=True,
            )
        imports = r.get("imports_mb")
        if imports:
            print(f"{'':<32}(imports alone: {imports:.0f} MB)")
    if not args.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
