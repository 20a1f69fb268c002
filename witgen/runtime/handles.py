"""Handle conversion inside values, built from type descriptions.

Providers see their own objects where a call carries a handle of a resource they
implement, and clients see proxies where a result carries a handle of a resource they
import. Both convert handles at the top level of a parameter or result and inside
anonymous `option`, `result`, `tuple` and `list` types; inside records and variants
handles stay the types layer's `Handle` values. `converter()` builds the function that
does this for one type, or returns None when the type holds no handle to convert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from witgen.runtime import wit
from witgen.runtime.values import Err, Ok

# (context, handle type, value) -> converted value
Convert = Callable[[Any, wit.Own, Any], Any]
Converter = Callable[[Any, Any], Any]  # (context, value) -> converted value


def converter(t: wit.Type | None, wanted: Callable[[wit.Resource], bool], convert: Convert) -> Converter | None:
    """The conversion of the handles of `wanted` resources inside values of `t`."""
    match t:
        case wit.Own():
            if not wanted(t.resource):
                return None
            own = t
            return lambda ctx, v: convert(ctx, own, v)
        case wit.Option():
            inner = None if t.nested else converter(t.inner, wanted, convert)
            if inner is None:
                return None
            return lambda ctx, v: None if v is None else inner(ctx, v)
        case wit.Result():
            ok = converter(t.ok, wanted, convert)
            err = converter(t.err, wanted, convert)
            if ok is None and err is None:
                return None

            def result(ctx: Any, v: Any) -> Any:
                if isinstance(v, Ok):
                    return Ok(ok(ctx, v.value)) if ok is not None else v
                if isinstance(v, Err):
                    return Err(err(ctx, v.value)) if err is not None else v
                return v

            return result
        case wit.Tuple():
            items = [converter(x, wanted, convert) for x in t.items]
            if not any(items):
                return None
            return lambda ctx, v: tuple(c(ctx, x) if c is not None else x for c, x in zip(items, v, strict=True))
        case wit.List(size=None):
            elem = converter(t.element, wanted, convert)
            if elem is None:
                return None
            return lambda ctx, v: [elem(ctx, x) for x in v]
    return None
