"""The command line both modeler-fixing scripts share: rewrite files in place, or `--check`.

    sys.exit(rewrite_files(argv, __doc__, "DMN files (e.g. rules/*.dmn)", rewrite, errors,
                           ok="has DMNDI", lacking="no DMNDI{}", fixed="DMNDI added{}"))

`rewrite(text)` answers (the new text, or None when the file needs nothing; a detail shown
in the messages' `{}`). Exit codes: 0 done (or nothing lacking), 1 `--check` found a file
lacking, 2 a file could not be read or rewritten (`errors`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def rewrite_files(
    argv: list[str] | None,
    doc: str,
    files_help: str,
    rewrite: Callable[[str], tuple[str | None, str]],
    errors: tuple[type[BaseException], ...],
    ok: str,
    lacking: str,
    fixed: str,
) -> int:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help=files_help)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file lacks it"
    )
    args = parser.parse_args(argv)
    found_lacking, failed = False, False
    for path in args.files:
        try:
            new, detail = rewrite(path.read_text(encoding="utf-8"))
        except (OSError, *errors) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed = True
            continue
        if new is None:
            print(f"{path}: {ok}")
            continue
        found_lacking = True
        if args.check:
            print(f"{path}: {lacking.format(detail)}")
        else:
            path.write_text(new, encoding="utf-8")
            print(f"{path}: {fixed.format(detail)}")
    if failed:
        return 2
    return 1 if args.check and found_lacking else 0
