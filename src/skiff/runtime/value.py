"""``@value``: the slotted value classes of the container start path, made without
``dataclasses``' code generation.

``@dataclass(frozen=True, slots=True)`` compiles five or six methods per class (``exec``
of generated source) and builds the class twice (slots): 0.5-4 ms a class, ~10 ms over the
eleven value classes every ``skiff run`` defines (options, spec, monitor, runc, users,
jsonlog, containers). ``@value`` gives the same behaviour from shared methods: the class
body is written as for a dataclass (annotated fields in order, defaults as class
attributes, :func:`factory` for ``field(default_factory=...)``); the result has
``__slots__``, an ``__init__`` taking the fields positionally or by keyword (TypeError
for a missing, repeated or unknown one, as dataclasses), ``==`` by fields (same class
only), ``repr`` as dataclasses' (``Name(a=1, b='x')``), and when ``frozen`` no assignment
(``AttributeError``), a hash of the fields and pickling. ``dataclasses.fields/replace``
do not apply: use :func:`replace` here.
"""

from __future__ import annotations

_MISSING = object()


class factory:  # noqa: N801 (used like dataclasses.field)
    """A default made per instance: ``items: list = factory(list)``."""

    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


def _init(self, *args, **kw) -> None:
    cls = type(self)
    names = cls.__value_fields__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}.__init__() takes {len(names) + 1} positional "
                        f"arguments but {len(args) + 1} were given")
    put = object.__setattr__
    for name, v in zip(names, args, strict=False):
        if name in kw:
            raise TypeError(f"{cls.__name__}.__init__() got multiple values for argument "
                            f"'{name}'")
        put(self, name, v)
    defaults = cls.__value_defaults__
    for name in names[len(args):]:
        v = kw.pop(name, _MISSING)
        if v is _MISSING:
            v = defaults.get(name, _MISSING)
            if v is _MISSING:
                raise TypeError(f"{cls.__name__}.__init__() missing 1 required positional "
                                f"argument: '{name}'")
            if type(v) is factory:
                v = v.make()
        put(self, name, v)
    if kw:
        raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument "
                        f"'{next(iter(kw))}'")
    post = getattr(self, "__post_init__", None)
    if post is not None:
        post()


def _values(self) -> tuple:
    return tuple(getattr(self, n) for n in type(self).__value_fields__)


def _eq(self, other):
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _repr(self) -> str:
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self).__value_fields__)
    return f"{type(self).__qualname__}({inner})"


def _hash(self) -> int:
    return hash(_values(self))


def _frozen_setattr(self, name, v):
    raise AttributeError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise AttributeError(f"cannot delete field {name!r}")


def _reduce(self):
    return (type(self), _values(self))


def value(cls=None, *, frozen: bool = True):
    """Class decorator (``@value`` or ``@value(frozen=False)``), see the module doc.

    Raises:
        TypeError: a field without a default after one with a default.
    """
    def make(cls):
        ns = dict(cls.__dict__)
        names = tuple(ns.get("__annotations__", {}))
        defaults = {}
        for n in names:
            if n in ns:
                defaults[n] = ns.pop(n)
            elif defaults:
                raise TypeError(f"non-default argument {n!r} follows default argument")
        ns.pop("__dict__", None)
        ns.pop("__weakref__", None)
        ns["__slots__"] = names
        ns["__value_fields__"] = names
        ns["__value_defaults__"] = defaults
        ns["__match_args__"] = names
        ns["__init__"] = _init
        ns["__repr__"] = _repr
        ns["__eq__"] = _eq
        if frozen:
            ns["__hash__"] = _hash
            ns["__setattr__"] = _frozen_setattr
            ns["__delattr__"] = _frozen_delattr
            ns["__reduce__"] = _reduce
        else:
            ns["__hash__"] = None  # (dataclasses: eq without frozen is unhashable)
        new = type(cls)(cls.__name__, cls.__bases__, ns)
        new.__qualname__ = cls.__qualname__
        return new

    return make if cls is None else make(cls)


def replace(obj, **changes):
    """A copy of the value ``obj`` with ``changes`` (``dataclasses.replace``)."""
    kw = {n: getattr(obj, n) for n in type(obj).__value_fields__}
    kw.update(changes)
    return type(obj)(**kw)
