"""Pure-Python validation of Chinese identity documents, credit codes and mobile numbers.

Standard library only. Every rejection raises ``InvalidValue`` whose ``message`` is a
Chinese sentence that can be shown to the user as-is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

ID_TYPES: dict[str, str] = {
    "resident_id": "居民身份证",
    "residence_permit": "港澳台居民居住证",
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "passport": "护照",
}

# GB 11643-1999 citizen identity number.
_ID18_RE = re.compile(r"[0-9]{17}[0-9X]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# Inclusive ranges of the first two digits (province-level codes, incl. 71 台湾 and 81-83).
_PROVINCE_RANGES = ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 83))
_PROVINCE_CODES = frozenset(code for lo, hi in _PROVINCE_RANGES for code in range(lo, hi + 1))
_RESIDENCE_PERMIT_PREFIXES = ("810000", "820000", "830000")

# Patterns of documents that carry no derivable information. [0-9] rather than \d so
# that full-width and other non-ASCII digits are rejected.
_SIMPLE_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "hk_macau_permit": (
        re.compile(r"[HM][0-9]{8}([0-9]{2})?"),
        "港澳居民来往内地通行证号码应以H或M开头，后接8位或10位数字",
    ),
    "taiwan_permit": (re.compile(r"[0-9]{8}"), "台湾居民来往大陆通行证号码应为8位数字"),
    "passport": (re.compile(r"[A-Z0-9]{5,17}"), "护照号码应为5至17位字母或数字"),
}

# GB 32100-2015 unified social credit code.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_FORMAT_MESSAGE = "统一社会信用代码应为18位，由数字和大写字母组成（不含I、O、Z、S、V）"
# characters 3–8 are the registering authority's administrative division code (GB/T 2260);
# its first two are a province's, or 10 for the central authorities (100000)
_CREDIT_REGION_MESSAGE = "统一社会信用代码第3–8位（登记管理机关行政区划码）不正确"

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_SEPARATORS_RE = re.compile(r"[\s\-]")
_SPACES_RE = re.compile(r"\s+")  # Unicode: the ideographic space U+3000 and NBSP too
_MOBILE_MESSAGE = "手机号码应为11位中国大陆手机号"
# an ID number in a spreadsheet cell of the number format: Excel keeps 15 significant digits,
# so the last ones (and an X) are already gone, and what is left may pass the check digit
ID_NUMBER_CELL_IS_NUMBER = (
    "身份证号单元格是数字格式，Excel 只保留前15位，后几位数字和 X 已丢失："
    "请把该列设为文本格式，重新填写身份证号后再导入"
)


class InvalidValue(ValueError):
    """A user-supplied value failed validation; ``message`` is a Chinese explanation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IdInfo:
    """A validated identity document number and the facts derived from it."""

    number: str
    birth_date: date | None
    gender: str | None


def clean_code(value: object) -> str:
    """An ID number, credit code or mobile as typed, made comparable: NFKC (a Chinese input
    method's full-width ４４０１… and Ｘ become 4401… and X), every space gone (the
    ideographic U+3000 too), letters upper-case. Used before checking and before looking up."""
    text = unicodedata.normalize("NFKC", value if isinstance(value, str) else str(value or ""))
    return _SPACES_RE.sub("", text).upper()


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def clean_name(name: object) -> str:
    """A person's name as kept and compared: no outer spaces; no inner space next to a
    Chinese (wide) character ("刘 志强", "刘　强" → "刘志强", "刘强"); one space between
    words in Latin letters ("John  Smith" → "John Smith", for foreign staff)."""
    words = _SPACES_RE.split(name.strip()) if isinstance(name, str) else []
    out = ""
    for word in words:
        if out and word and not _wide(out[-1]) and not _wide(word[0]):
            out += " "
        out += word
    return out


# the dots typed between the parts of a name (阿卜杜·热合曼): the ID card's U+00B7, and what
# input methods and old systems put there instead (katakana ・, bullet •, hyphenation point
# ‧, dot operators, Greek ano teleia, Hangul ㆍ, a full stop, full-width or not: read after
# NFKC, which makes ．a full stop and ･ a katakana dot)
_NAME_DOTS = str.maketrans(
    dict.fromkeys("\u30fb\u2022\u2027\u2219\u22c5\u0387\u318d\u2e31.", "\u00b7")
)


def name_key(name: object) -> str:
    """A person's name as compared with another record's (the archive's, a learning
    list's): kept as typed, but one whatever its spaces (`clean_name`), its compatibility
    ideographs (李 U+F9E1 is 李), its width (ＬＩ is LI), the dot between its parts and the
    case of its Latin letters."""
    text = unicodedata.normalize("NFKC", name if isinstance(name, str) else "")
    return clean_name(text.translate(_NAME_DOTS)).casefold()


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters (code points, as a database's varchar(n) counts
    them): cut, it ends in "…", and a character keeps the marks after it (a variation
    selector, an accent) or goes with them."""
    if len(text) <= limit:
        return text
    end = limit - 1
    while end > 0 and unicodedata.category(text[end])[0] == "M":
        end -= 1
    return text[:end] + "…"


def mobile_term(mobile: object) -> str:
    """A mobile typed into a search box as it is stored (its 11 digits), or cleaned text."""
    try:
        return normalize_mobile(mobile if isinstance(mobile, str) else "")
    except InvalidValue:
        return clean_code(mobile)


def login_name(username: object) -> str:
    """What a sign-in name is looked up as: an ID number or mobile typed with full-width
    digits or spaces as its clean form (members and sub-accounts sign in with those), any
    other (a unit's full name, a staff login) only without its outer spaces."""
    text = username.strip() if isinstance(username, str) else ""
    code = clean_code(text)
    if re.fullmatch(r"[0-9]{17}[0-9X]|[HM][0-9]{8}([0-9]{2})?|[0-9]{8}", code):
        return code
    try:
        return normalize_mobile(text)
    except InvalidValue:
        return text


def login_key(username: str) -> str:
    """What a login is one with whatever its width and letter case: NFKC (full-width
    letters, digits and brackets as their ASCII forms, a compatibility ideograph as its
    unified one), then lower case. A unit's name typed with half-width brackets on a phone
    is the name the secretariat entered with full-width ones."""
    return unicodedata.normalize("NFKC", username).lower()


def _resident_check_char(prefix17: str) -> str:
    """Return the GB 11643 check character for 17 ASCII digits."""
    total = sum(int(digit) * weight for digit, weight in zip(prefix17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _credit_check_char(prefix17: str) -> str:
    """Return the GB 32100 check character for 17 characters of the credit alphabet."""
    pairs = zip(prefix17, _CREDIT_WEIGHTS, strict=True)
    total = sum(_CREDIT_ALPHABET.index(ch) * weight for ch, weight in pairs)
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def _parse_id18(id_type: str, number: str, today: date) -> IdInfo:
    """Validate an 18-character resident ID or residence permit number."""
    label = "身份证号码" if id_type == "resident_id" else "港澳台居民居住证号码"
    if not _ID18_RE.fullmatch(number):
        raise InvalidValue(f"{label}应为18位，前17位为数字，最后一位为数字或X")
    if id_type == "residence_permit":
        if not number.startswith(_RESIDENCE_PERMIT_PREFIXES):
            raise InvalidValue("港澳台居民居住证号码须以810000、820000或830000开头")
    elif int(number[:2]) not in _PROVINCE_CODES:
        raise InvalidValue(f"{label}的地区代码无效")
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue(f"{label}中的出生日期无效") from None
    if birth_date > today:
        raise InvalidValue(f"{label}中的出生日期不能晚于今天")
    if _resident_check_char(number[:17]) != number[17]:
        raise InvalidValue(f"{label}校验位不正确")
    gender = "男" if int(number[16]) % 2 == 1 else "女"
    return IdInfo(number=number, birth_date=birth_date, gender=gender)


def parse_id(id_type: str, number: str, today: date | None = None) -> IdInfo:
    """Validate an identity document number and derive birth date and gender when possible."""
    if id_type not in ID_TYPES:
        raise InvalidValue("证件类型无效，应为：" + "、".join(ID_TYPES.values()))
    normalized = clean_code(number)
    if not normalized:
        raise InvalidValue(f"请填写{ID_TYPES[id_type]}号码")
    if id_type in ("resident_id", "residence_permit"):
        return _parse_id18(id_type, normalized, today or date.today())
    pattern, message = _SIMPLE_PATTERNS[id_type]
    if not pattern.fullmatch(normalized):
        raise InvalidValue(message)
    return IdInfo(number=normalized, birth_date=None, gender=None)


def id_problem(id_type: str, number: str, today: date | None = None) -> str | None:
    """Return None when the identity document number is valid, else the Chinese message."""
    try:
        parse_id(id_type, number, today)
    except InvalidValue as exc:
        return exc.message
    return None


def _credit_region_known(first_two: str) -> bool:
    """Whether a credit code's characters 3–4 begin a division code: a province's or 10."""
    return first_two.isdigit() and (first_two == "10" or int(first_two) in _PROVINCE_CODES)


def check_credit_code(code: str) -> str:
    """Return the normalized unified social credit code or raise InvalidValue."""
    normalized = clean_code(code)
    if not normalized:  # an empty box: asked for, not described
        raise InvalidValue("请填写统一社会信用代码")
    if len(normalized) != 18 or any(ch not in _CREDIT_ALPHABET for ch in normalized):
        raise InvalidValue(_CREDIT_FORMAT_MESSAGE)
    if not _credit_region_known(normalized[2:4]):  # before the check character: says where
        raise InvalidValue(_CREDIT_REGION_MESSAGE)
    if _credit_check_char(normalized[:17]) != normalized[17]:
        raise InvalidValue("统一社会信用代码校验位不正确")
    return normalized


def credit_code_problem(code: str) -> str | None:
    """Return None when the unified social credit code is valid, else the Chinese message."""
    try:
        check_credit_code(code)
    except InvalidValue as exc:
        return exc.message
    return None


def normalize_mobile(mobile: str) -> str:
    """Return the 11-digit mainland mobile number or raise InvalidValue."""
    digits = _MOBILE_SEPARATORS_RE.sub("", unicodedata.normalize("NFKC", mobile or ""))
    if digits.startswith("+86"):
        digits = digits.removeprefix("+86")
    else:
        digits = digits.removeprefix("0086")
    if not _MOBILE_RE.fullmatch(digits):
        raise InvalidValue(_MOBILE_MESSAGE)
    return digits


def mobile_problem(mobile: str) -> str | None:
    """Return None when the mainland mobile number is valid, else the Chinese message."""
    try:
        normalize_mobile(mobile)
    except InvalidValue as exc:
        return exc.message
    return None


# what a person's name may hold besides letters, marks, numbers (〇) and spaces: the
# separators of transliterated and foreign names (张·伊力, O'Brien, Tai-man)
_NAME_PUNCTUATION = frozenset("·・•．.'’-‐－")
# letters by their category that print as nothing: the Hangul fillers
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# CJK ideograph blocks newer than the Unicode of this Python's `unicodedata` (3.11 carries
# 14.0, where they are unassigned): Ext I (Unicode 15.1) and Ext H (15.0). Their characters
# are letters (Lo), and name lists hold many of them.
_NEWER_IDEOGRAPHS = ((0x2EBF0, 0x2EE5F), (0x31350, 0x323AF))
# the private-use area (U+E000–U+F8FF, planes 15 and 16): some ID-card and public-security
# systems encode rare characters there; the code point means nothing outside that system
PRIVATE_USE_PROBLEM = (
    "含有无法通用显示的字符（U+{code}，私用区编码，常见于生僻字的旧编码），"
    "请改用标准汉字（Unicode 编码）填写；如无法输入，请联系协会秘书处"
)


# a text without private-use characters, as the rename form matches it first (so that its
# message says why, not "只能包含…"): the BMP's area and planes 15 and 16
NO_PRIVATE_USE = r"^[^\ue000-\uf8ff\U000f0000-\U0010ffff]*\Z"


def _category(ch: str) -> str:
    """The character's Unicode general category, the newer CJK blocks read as letters."""
    code = ord(ch)
    if any(low <= code <= high for low, high in _NEWER_IDEOGRAPHS):
        return "Lo"
    return unicodedata.category(ch)


def _private_use_problem(text: str) -> str | None:
    private = next((ch for ch in text if unicodedata.category(ch) == "Co"), None)
    return PRIVATE_USE_PROBLEM.format(code=f"{ord(private):04X}") if private else None


def name_problem(name: str) -> str | None:
    """Return None when a person's name may be printed as it is, else what is wrong with it
    (to follow the field's name: 「姓名」不能包含…); emptiness is the form's to check."""
    kinds = {_category(ch) for ch in name if ch not in _NAME_PUNCTUATION}
    # U+202E reverses the text after it, U+200B is invisible
    if kinds & {"Cc", "Cf"} or not _BLANK_LETTERS.isdisjoint(name):
        return "不能包含控制字符或不可见字符"
    if "Co" in kinds:
        return _private_use_problem(name)
    if any(kind[0] not in "LMN" and kind != "Zs" for kind in kinds):  # emoji, symbols
        return "只能包含文字、间隔号和空格"
    return None


# what a unit's full name (its main account's login, printed on certificates) may hold:
# Chinese characters (the basic block, extension A, compatibility ideographs and the
# supplementary planes' extensions), 〇, Latin letters and digits (half- and full-width),
# the space between Latin words, and the punctuation of company names: parentheses, the
# middle dot, full stop, ampersand, apostrophe, comma, enumeration comma and hyphens.
# The forms match the same text (forms/unit_name_change/start.schema.json's `pattern`; a
# unit test holds them equal): a regular expression Python's `re` and `regex` both read
# (`\Z`: `$` would let a trailing newline through).
UNIT_NAME_PATTERN = (
    r"^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ〇\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\U00020000-\U000323af ()（）·・.．&＆'’,，、\-－‐—]+\Z"
)
_UNIT_NAME_RE = re.compile(UNIT_NAME_PATTERN)
# something besides digits (an X, spaces): a name is the main account's login, and a login
# of digits is a mobile's (a sub-account) or an ID number's (a member)
UNIT_NAME_NOT_A_NUMBER = "[^0-9０-９Xx ]"
_SOMETHING_BESIDES_DIGITS = re.compile(UNIT_NAME_NOT_A_NUMBER)
UNIT_NAME_CHARACTERS = "汉字、字母、数字、空格、括号和常用标点（· . & , 、 ' -）"


def unit_name_problem(name: str) -> str | None:
    """Return None when a unit's full name may be its login and be printed as it is, else
    what is wrong with it (to follow the field's name: 「单位名称」只能包含…); emptiness and
    outer spaces are the form's to check."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name) or not (
        _BLANK_LETTERS.isdisjoint(name)
    ):
        return "不能包含控制字符或不可见字符"
    if problem := _private_use_problem(name):
        return problem
    if not _UNIT_NAME_RE.fullmatch(name):  # emoji, symbols, other scripts, other spaces
        return "只能包含" + UNIT_NAME_CHARACTERS
    if not _SOMETHING_BESIDES_DIGITS.search(name):
        return "不能只由数字组成（会与手机号、证件号码形式的登录名混淆）"
    return None


# what a multi-line text (a textarea) may hold of the control characters: its line breaks
# and tabs
_LINE_CONTROLS = frozenset("\n\r\t")
# control, format (the bidi controls U+202A–202E and U+2066–2069 reorder the text after
# them, U+200B–200D and U+FEFF print as nothing), lone surrogate, line and paragraph
# separator characters
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def invisible_problem(text: str, lines: bool = False) -> str | None:
    """Return None when a free text shows as it reads, else what is wrong with it (to follow
    the field's name: 「企业注册地址」不能包含…), naming the first character refused: control
    and invisible characters, as name_problem refuses them in a name, but the line breaks
    and tabs of a multi-line text (`lines`)."""
    for ch in text:
        if lines and ch in _LINE_CONTROLS:
            continue
        if unicodedata.category(ch) in _UNSEEN_CATEGORIES or ch in _BLANK_LETTERS:
            return f"不能包含控制字符或不可见字符（U+{ord(ch):04X}），请删除后重新填写"
    return None


def shows_nothing(text: str) -> str | None:
    """The first invisible character of a text made only of invisible characters and spaces
    (a U+200B alone looks like an empty box yet passes a "not blank" check: a 票号, an
    address); None for any other text, blank or not."""
    first = None
    for ch in text:
        if unicodedata.category(ch) in _UNSEEN_CATEGORIES or ch in _BLANK_LETTERS:
            first = first or ch
        elif not ch.isspace():
            return None
    return first


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def iso_date(text: str) -> date:
    """The date a YYYY-MM-DD text names; ValueError for anything else (Python's own
    fromisoformat also reads 20130305 and the week date 2013-W10-1)."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date.fromisoformat(text)


def age_on(birth_date: date, on: date) -> int:
    """Return the full years completed on ``on``; Feb 29 births age on Mar 1 in common years."""
    if on < birth_date:
        raise InvalidValue("计算年龄的日期不能早于出生日期")
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def make_resident_id(prefix17: str) -> str:
    """Append the GB 11643 check character to 17 digits (for fabricating demo data)."""
    if not re.fullmatch(r"[0-9]{17}", prefix17):
        raise InvalidValue("身份证号码前17位应为数字")
    return prefix17 + _resident_check_char(prefix17)


def make_credit_code(prefix17: str) -> str:
    """Append the GB 32100 check character to 17 characters (for fabricating demo data)."""
    prefix = prefix17.upper()
    if len(prefix) != 17 or any(ch not in _CREDIT_ALPHABET for ch in prefix):
        raise InvalidValue("统一社会信用代码前17位应由数字和大写字母组成（不含I、O、Z、S、V）")
    return prefix + _credit_check_char(prefix)


# A staff login: letters, digits, underscores or Chinese characters, as the form's hint says
_STAFF_LOGIN_RE = re.compile(r"[A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff]{1,50}")
# logins kept for others: members sign in with their ID number (18-character resident IDs
# and residence permits, 回乡证 H/M + 8 or 10 digits, 台胞证 8 digits), a unit's
# sub-accounts with their mobile number (11 digits): a staff login of such a shape could be
# a person's login one day
_RESERVED_LOGINS = (
    (re.compile(r"[0-9]{17}[0-9Xx]"), "18位证件号码是个人会员的登录名"),
    (re.compile(r"[HMhm][0-9]{8}([0-9]{2})?"), "港澳居民来往内地通行证号码是个人会员的登录名"),
    (re.compile(r"[0-9]+"), "纯数字是个人会员证件号码和单位子账号手机号的登录名形式"),
)


def staff_login_problem(login: str) -> str | None:
    """None when `login` (stripped) may be a staff login, else the Chinese reason: it must
    be letters, digits, underscores or Chinese, and not of a shape members' and
    sub-accounts' logins have."""
    if not _STAFF_LOGIN_RE.fullmatch(login):
        return "登录名只能包含字母、数字、下划线或中文，不超过50个字"
    for pattern, why in _RESERVED_LOGINS:
        if pattern.fullmatch(login):
            return f"{why}，工作人员登录名不能使用"
    return None
