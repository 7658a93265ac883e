"""Make `import recommender` mean the package, not this folder.

pytest's default (prepend) import mode puts `tests/` on sys.path for tests/conftest.py, and
there this folder would be picked up as a namespace package named `recommender`, hiding the real
one. Import the real package once with `tests/` off the path; sys.modules keeps it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]


def _import_real_package() -> None:
    loaded = sys.modules.get("recommender")
    if loaded is not None and getattr(loaded, "__file__", None):
        return
    for name in [m for m in sys.modules if m == "recommender" or m.startswith("recommender.")]:
        del sys.modules[name]
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _TESTS]
    try:
        importlib.import_module("recommender")
    finally:
        sys.path[:] = saved


_import_real_package()
