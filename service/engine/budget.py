"""What one script or expression may spend: CPU time, memory, and the size of a value.

Scripts run inside the request threads of a multi-threaded server, so neither a
process-wide RLIMIT_CPU nor SIGALRM can stop one of them. Instead the sandbox compiles
a call to `Budget.tick` into every loop body, comprehension, function and lambda (see
instrument.py): a tick reads a cheap clock and, every few milliseconds, this thread's
CPU time and the process's resident memory. One operation that could build a huge value
in a single C call (`"x" * 10**9`, `[0] * 10**9`, `2 ** 10**9`, a `"%999999999d"`
format, `"x".ljust(10**9)`) is checked before it runs by the guarded operators below;
`range` is RestrictedPython's, capped at 1,000 items.

A limit, once hit, stays hit: a script that catches the exception is stopped at its
next tick, and the sandbox raises it again when the script returns.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from typing import Any

CPU_SECONDS = 1.0
MEMORY_BYTES = 256 * 1024 * 1024  # growth of resident memory while one evaluation runs
CHECK_EVERY = 0.005  # seconds of wall time between two CPU and memory readings
MAX_ITEMS = 1_000_000  # a list, tuple or range built by one operation
MAX_CHARS = 10_000_000  # a string or bytes built by one operation
MAX_INT_BITS = 100_000  # an integer built by *, ** or << (about 30,000 decimal digits)
MAX_WIDTH = 10_000  # a width or precision in a % or f-string format

_PAGE = resource.getpagesize()


class ScriptLimitExceeded(Exception):
    """A script or expression went past its CPU, memory or value-size limit."""


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):  # not Linux: the peak is the best there is
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class Budget:
    """The CPU time and memory one evaluation may still use (one per evaluation)."""

    __slots__ = ("started", "next_check", "cpu_deadline", "memory_limit", "exceeded")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.next_check = self.started + CHECK_EVERY
        self.cpu_deadline: float | None = None  # set at the first reading (most never need it)
        self.memory_limit: int | None = None
        self.exceeded: ScriptLimitExceeded | None = None

    def tick(self) -> bool:
        """Called by instrumented code at each loop turn and call; True, or raises."""
        if self.exceeded is not None:
            raise ScriptLimitExceeded(*self.exceeded.args)
        if time.monotonic() >= self.next_check:
            self._check()
        return True

    def _check(self) -> None:
        now = time.monotonic()
        self.next_check = now + CHECK_EVERY
        cpu, resident = time.thread_time(), _resident_bytes()
        if self.cpu_deadline is None:
            # until now at most the elapsed wall time was CPU time: count it all as spent
            self.cpu_deadline = cpu + CPU_SECONDS - (now - self.started)
            self.memory_limit = resident + MEMORY_BYTES
        if cpu > self.cpu_deadline:
            self._exceed(f"运行超过{CPU_SECONDS:g}秒 CPU 时间，已停止（是否有死循环？）")
        if resident > self.memory_limit:
            self._exceed(f"占用内存超过{MEMORY_BYTES // 1024 // 1024}MB，已停止")

    def _exceed(self, message: str) -> None:
        self.exceeded = ScriptLimitExceeded(message)
        raise ScriptLimitExceeded(message)

    def check_finished(self) -> None:
        """After the code returned: a limit it hit and swallowed is raised now."""
        if self.exceeded is not None:
            raise ScriptLimitExceeded(*self.exceeded.args)


# --- one operation, checked before it runs -------------------------------------------------


def _too_big(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"生成的值过大：{what}，已停止")


def _check_size(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bytes:
        if len(value) > MAX_CHARS:
            raise _too_big(f"字符串不能超过{MAX_CHARS}个字符")
    elif (kind is list or kind is tuple) and len(value) > MAX_ITEMS:
        raise _too_big(f"列表不能超过{MAX_ITEMS}项")
    return value


def _check_repeat(sequence: Any, times: Any) -> None:
    if isinstance(times, int) and times > 1 and isinstance(sequence, str | bytes | list | tuple):
        limit = MAX_CHARS if isinstance(sequence, str | bytes) else MAX_ITEMS
        if len(sequence) * times > limit:
            unit = "个字符" if limit == MAX_CHARS else "项"
            raise _too_big(f"重复后的长度不能超过{limit}{unit}")


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _too_big(f"整数不能超过{MAX_INT_BITS}位二进制（约{MAX_INT_BITS * 3 // 10}位十进制）")


_SIZE_LIMITS = {str: MAX_CHARS, bytes: MAX_CHARS, list: MAX_ITEMS, tuple: MAX_ITEMS}


def guarded_add(a: Any, b: Any) -> Any:
    """a + b; a string or list past the size limits is refused (inputs are bounded)."""
    result = a + b
    limit = _SIZE_LIMITS.get(type(result))
    if limit is not None and len(result) > limit:
        _check_size(result)
    return result


def guarded_mul(a: Any, b: Any) -> Any:
    """a * b, refused before it runs when the product would be too large."""
    if type(a) is int and type(b) is int:
        _check_int_bits(a.bit_length() + b.bit_length())
    else:
        _check_repeat(a, b)
        _check_repeat(b, a)
    return a * b


def guarded_pow(a: Any, b: Any, mod: Any = None) -> Any:
    """a ** b (and pow), refused before it runs when the power would be too large."""
    if isinstance(a, int) and isinstance(b, int) and b > 0:
        if mod is not None:
            if isinstance(mod, int) and max(b.bit_length(), mod.bit_length()) > 4096:
                raise _too_big("带模的幂运算数字过大")
        elif abs(a) > 1:
            _check_int_bits(a.bit_length() * b)
    return pow(a, b) if mod is None else pow(a, b, mod)


def guarded_lshift(a: Any, b: Any) -> Any:
    """a << b, refused before it runs when the result would be too large."""
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _check_int_bits(a.bit_length() + b)
    return a << b


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_width(text: str | None) -> None:
    if text and text != "*" and (len(text) > 5 or int(text) > MAX_WIDTH):
        raise _too_big(f"格式宽度或精度不能超过{MAX_WIDTH}")


def guarded_mod(a: Any, b: Any) -> Any:
    """a % b; for text formatting, widths and precisions past the limit are refused."""
    if isinstance(a, str | bytes):
        text = a if isinstance(a, str) else a.decode("latin-1")
        star = False
        for match in _PERCENT_SPEC.finditer(text):
            width, precision = match.groups()
            _check_width(width)
            _check_width(precision)
            star = star or "*" in (width, precision)
        if star:
            for value in b if isinstance(b, tuple) else (b,):
                if isinstance(value, int) and abs(value) > MAX_WIDTH:
                    raise _too_big(f"格式宽度或精度不能超过{MAX_WIDTH}")
        return _check_size(a % b)
    return a % b


def check_format_spec(spec: str) -> None:
    """A constant f-string format spec ("{x:>10}"): its width and precision (at compile time)."""
    for number in re.findall(r"\d+", spec):
        _check_width(number)


# --- methods that build a value of a size their arguments choose --------------------------


def _estimate_replace(s, args, kwargs) -> int:
    old = args[0] if args else kwargs.get("old", "")
    new = args[1] if len(args) > 1 else kwargs.get("new", "")
    times = len(s) + 1 if not old else s.count(old)
    return len(s) + times * max(len(new) - len(old), 0)


def _estimate_pad(s, args, kwargs) -> int:
    width = args[0] if args else kwargs.get("width", 0)
    return width if isinstance(width, int) else 0


def _estimate_tabs(s, args, kwargs) -> int:
    size = args[0] if args else kwargs.get("tabsize", 8)
    return len(s) + s.count("\t" if isinstance(s, str) else b"\t") * max(size, 0)


def _estimate_translate(s, args, kwargs) -> int:
    table = args[0] if args else None
    if not isinstance(table, dict):
        return len(s)
    return len(s) * max((len(v) for v in table.values() if isinstance(v, str)), default=1)


_ESTIMATES = {
    "replace": _estimate_replace,
    "ljust": _estimate_pad,
    "rjust": _estimate_pad,
    "center": _estimate_pad,
    "zfill": _estimate_pad,
    "expandtabs": _estimate_tabs,
    "translate": _estimate_translate,
}


def _sized_method(owner: Any, name: str, method: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        s, rest = (args[0], args[1:]) if isinstance(owner, type) else (owner, args)
        if name == "join":
            parts = list(rest[0]) if rest else []
            text = sum(len(p) for p in parts if isinstance(p, str | bytes))
            if text + len(s) * max(len(parts) - 1, 0) > MAX_CHARS:
                raise _too_big(f"字符串不能超过{MAX_CHARS}个字符")
            return method(*((s,) if isinstance(owner, type) else ()), parts)
        if isinstance(s, str | bytes) and _ESTIMATES[name](s, rest, kwargs) > MAX_CHARS:
            raise _too_big(f"字符串不能超过{MAX_CHARS}个字符")
        return method(*args, **kwargs)

    return call


def _guarded_extend(owner: list, method: Any) -> Any:
    def extend(items: Any) -> None:
        if hasattr(items, "__len__") and len(owner) + len(items) > MAX_ITEMS:
            raise _too_big(f"列表不能超过{MAX_ITEMS}项")
        method(items)

    return extend


def guard_method(owner: Any, name: str, value: Any) -> Any:
    """A method whose result size its arguments choose (str.replace, list.extend...), checked."""
    if (name in _ESTIMATES or name == "join") and (
        type(owner) in (str, bytes) or owner is str or owner is bytes
    ):
        return _sized_method(owner, name, value)
    if name == "extend" and type(owner) is list:
        return _guarded_extend(owner, value)
    return value
