"""Deep-frozen values for shared state handed to scripts (the policy parameters).

A definition version's policy is shared by every instance and request that uses it; a
script that could append to one of its lists would change the rule for everyone after
it. So `policy(...)` hands out frozen copies: mappings as read-only MappingProxyType,
lists as tuples. A frozen value a script stores in task data is thawed back into plain
dicts and lists (`thaw`), which the serializer and deepcopy understand.
"""

from __future__ import annotations

from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

# set when this evaluation was handed a frozen value, so only then is its data thawed
_HANDED_OUT: ContextVar[bool] = ContextVar("memberflow_frozen_handed_out", default=False)


def freeze(value: Any) -> Any:
    """A deep copy that cannot be changed in place."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(freeze(v) for v in value)
    return value


def hand_out(value: Any) -> Any:
    """`value`, noting that the current evaluation now holds a frozen value."""
    if isinstance(value, MappingProxyType | tuple | frozenset):
        _HANDED_OUT.set(True)
    return value


def thaw(value: Any) -> Any:
    """Frozen values inside `value` as plain dicts and lists (others unchanged)."""
    if isinstance(value, MappingProxyType | dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    if isinstance(value, frozenset):
        return [thaw(v) for v in value]
    return value


def watch():
    """Start watching for frozen values handed out; returns a token for `handed_out`."""
    return _HANDED_OUT.set(False)


def handed_out(token) -> bool:
    """Whether a frozen value was handed out since `watch`; stops watching."""
    result = _HANDED_OUT.get()
    _HANDED_OUT.reset(token)
    return result
