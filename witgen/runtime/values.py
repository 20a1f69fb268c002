"""Value classes used by generated bindings: results, option wrappers and handles.

- `result<T, E>` is `Ok[T] | Err[E]` (also at function boundaries); `result<_, E>` is
  `Ok[None] | Err[E]`. Both are small frozen dataclasses with `unwrap()`.
- `option<T>` is `T | None`; where `T` itself can be `None` (a nested option) the outer
  some is wrapped: `option<option<u8>>` is `Some[int | None] | None`.
- `own<R>` / `borrow<R>` are instances of a generated subclass of `Handle`: opaque bytes
  issued by the server that owns the resource.
- `error-context` is the opaque handle class `ErrorContext`.
- `future<T>` / `stream<T>` are `Future[T]` / `Stream[T]`: a ready `Future(value)` and a
  complete `Stream(items)` travel inline. In a wRPC call a pending one arrives as a reader
  (`witgen.runtime.asyncvalues`, subclasses of these) and any awaitable or (async)
  iterable may be sent; a `Future` is awaitable and a `Stream` iterable, async or not, so
  receivers treat both forms alike. The items of `stream<u8>` are `bytes` chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

T = TypeVar("T")
E = TypeVar("E")
T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)


class UnwrapError(Exception):
    """`unwrap()` on an `Err`; carries the error value."""

    def __init__(self, error: object) -> None:
        super().__init__(f"called unwrap() on Err({error!r})")
        self.error = error


@dataclass(frozen=True, slots=True)
class Ok(Generic[T_co]):
    """The ok case of a WIT `result`."""

    value: T_co

    def unwrap(self) -> T_co:
        return self.value

    def is_ok(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Err(Generic[E_co]):
    """The error case of a WIT `result`."""

    value: E_co

    def unwrap(self) -> NoReturn:
        raise UnwrapError(self.value)

    def is_ok(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Some(Generic[T_co]):
    """The some case of an `option` whose payload can itself be `None`."""

    value: T_co


class Handle:
    """An opaque resource handle: bytes whose meaning belongs to the server that issued it."""

    __slots__ = ("handle",)

    def __init__(self, handle: bytes) -> None:
        self.handle = bytes(handle)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Handle) and other.handle == self.handle

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.handle))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.handle!r})"


class ErrorContext(Handle):
    """A WIT `error-context`: an opaque handle (encoded like a resource handle)."""

    __slots__ = ()


class Future(Generic[T]):
    """A WIT `future<T>`: ready (`value` carried inline), or pending when `value` is an
    awaitable (sent once it resolves)."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Future) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Future({self.value!r})"

    def result(self, timeout: float | None = None) -> T:
        """The value (a reader of a pending future waits for it, from another thread)."""
        if hasattr(self.value, "__await__"):
            raise RuntimeError("this future's value is an awaitable: await the future instead")
        return self.value

    def __await__(self) -> Generator[Any, None, T]:
        value = self.value
        if hasattr(value, "__await__"):
            return (yield from value.__await__())  # type: ignore[no-any-return]
        return value


class Stream(Generic[T]):
    """A WIT `stream<T>`: complete (`items` a list: all its items, carried inline), or
    pending (`items` any other iterable or async iterable, sent as it is produced)."""

    __slots__ = ("items",)

    def __init__(self, items: list[T] | Iterable[T] | AsyncIterable[T]) -> None:
        self.items: Any = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and _flat(other.items) == _flat(self.items)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Stream({self.items!r})"

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    async def __aiter__(self) -> AsyncIterator[T]:
        items = self.items
        if hasattr(items, "__aiter__"):
            async for item in items:
                yield item
        else:
            for item in items:
                yield item


def _flat(items: object) -> object:
    """Stream items for comparison: `bytes` chunks as the byte values they hold."""
    if isinstance(items, (bytes, bytearray)):
        return list(items)
    if isinstance(items, list) and items and isinstance(items[0], (bytes, bytearray)):
        return list(b"".join(items))
    return items


def is_char(value: object) -> bool:
    """True if `value` is a `str` of one Unicode scalar value (no surrogate)."""
    return isinstance(value, str) and len(value) == 1 and not 0xD800 <= ord(value) <= 0xDFFF


def check_char(value: str) -> str:
    """Return `value` if it is one scalar value, else raise `ValueError`."""
    if not is_char(value):
        raise ValueError(f"a char must be one Unicode scalar value, not {value!r}")
    return value


def unreachable(value: object) -> NoReturn:
    """For exhaustive matches over generated unions."""
    raise TypeError(f"unexpected value {value!r}")
