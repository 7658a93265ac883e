"""Lazily loaded package exports: `import recommender.x` stays cheap until a name is used.

Each package lists its public names once, as `{name: submodule}`; `__all__` is derived from that
and a module-level `__getattr__` imports the submodule on first use (PEP 562). Inside the
project, code imports from the submodules themselves, so type checkers see every name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """(`__all__`, `__getattr__`) for `package`, whose names live in the given submodules.

    A name may not be its submodule's own name: once that submodule is imported, Python binds the
    name to the module and `__getattr__` is never asked (import such a name eagerly instead).
    """
    clashes = [name for name, module in exports.items() if name == module.rsplit(".", 1)[-1]]
    if clashes:
        raise ValueError(f"{package} cannot export {clashes} lazily: they name their own submodules")

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return sorted(exports), getattr_
