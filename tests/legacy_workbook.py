"""Workbooks of the old platform's 单位人员档案导出表, for the legacy import's tests and benchmark.

The columns are our own archive export's (`exports.ARCHIVE_COLUMNS`, with its 序号) plus the
unit's 统一社会信用代码 and 单位会员 — the layout `legacy_import` reads. `person(i)` is a
valid row of a made-up person; a test changes the cells it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from service.domain.validation import make_credit_code, make_resident_id
from service.services.documents.excel import Column, workbook_bytes, write_workbook
from service.services.documents.exports import ARCHIVE_COLUMNS

COLUMNS = [*ARCHIVE_COLUMNS, Column("统一社会信用代码", width=22), Column("单位会员", width=8)]
HEADERS = [c.header for c in COLUMNS]
AGENCY = "广州市建设监理行业协会"
SURNAMES = "陈李张黄王林刘吴何郑梁谢罗周"
GIVEN = ("志强", "伟", "丽娟", "建华", "海燕", "国栋", "晓明", "敏", "家豪", "文静")


def unit_of(k: int) -> tuple[str, str]:
    """The k-th made-up unit: (full name, credit code)."""
    return f"广东第{k}工程建设监理有限公司", make_credit_code(f"9144010{k:010d}")


def id_number(i: int) -> str:
    """A valid resident ID of person i, different for every i below 16,800,000 (Guangzhou,
    born 1950-1999)."""
    born = date(1950 + i % 50, 1 + i // 50 % 12, 1 + i // 600 % 28)
    return make_resident_id(f"440106{born:%Y%m%d}{i // 16800 % 1000:03d}")


def person(i: int, units: int = 1, agency: str = AGENCY, **cells) -> dict:
    """Row i as {header: value}: a member of unit i % units with memberships and certificates."""
    name, code = unit_of(i % units)
    row: dict = {h: None for h in HEADERS}
    row.update(
        {
            "普通会员": "有效",
            "专业会员": "有效" if i % 5 == 0 else None,
            "姓名": SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)],
            "身份证号": id_number(i),
            "普通会籍有效期": date(2027, 1 + i % 12, 1),
            "专业会籍有效期": date(2027, 6, 30) if i % 5 == 0 else None,
            "手机号": f"138{i:08d}",
            "学历": ("大专", "本科", "硕士")[i % 3],
            "毕业院校": "华南理工大学",
            "所学专业": "土木工程",
            "毕业时间": date(2008, 7, 1),
            "职称": ("无", "初级", "中级", "高级")[i % 4],
            "入会日期": date(2019, 3, 1),
            "所在工作单位": name,
            "资料审核（初审机构）": agency,
            "统一社会信用代码": code,
            "单位会员": "是",
        }
    )
    # everyone holds a 监理员 certificate; every third a 安全监理员 one too (双证)
    held = ["监理员"] + (["安全监理员"] if i % 3 == 0 else [])
    for cert_type in held:
        prefix = "JLY" if cert_type == "监理员" else "AQ"
        row[f"{cert_type}证书编号"] = f"{prefix}{i:08d}"
        row[f"{cert_type}专业1"] = "房屋建筑工程"
        row[f"{cert_type}专业2"] = "市政公用工程" if i % 2 else None
        row[f"{cert_type}有效期"] = date(2028, 1 + i % 12, 1)
        row[f"{cert_type}证书状态"] = "有效"
    row.update(cells)
    return row


def _values(rows: Iterable[dict]) -> Iterator[list]:
    for row in rows:
        yield [row.get(h) for h in HEADERS]


def workbook(rows: Iterable[dict]) -> bytes:
    """The rows as an .xlsx in the export's layout."""
    return workbook_bytes("单位人员档案", COLUMNS, _values(rows))


def write_people(path, count: int, units: int) -> int:
    """Write `count` made-up persons in `units` units to an .xlsx at `path` (streamed)."""
    people = (person(i, units) for i in range(count))
    return write_workbook(path, "单位人员档案", COLUMNS, _values(people))
