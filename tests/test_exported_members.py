"""Each package says what it exports (`__all__`), and says it truly (after httpx's test of the same
name): every exported name resolves, comes from the package's own modules, and is public there."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import kitsu_ingest
import recommender

MODULES = [
    "kitsu_ingest", "recommender",
    *sorted(info.name for root in (kitsu_ingest, recommender)
            for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}.") if ".migrations" not in info.name),
]
PACKAGES = [name for name in MODULES if hasattr(importlib.import_module(name), "__path__")]


def _defined_in(value: object) -> str | None:
    return getattr(value, "__module__", None) if inspect.isclass(value) or inspect.isfunction(value) else None


@pytest.mark.parametrize("name", MODULES)
def test_every_module_lists_its_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list | tuple), f"{name} has no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member!r}, which it does not have"
        assert not member.startswith("_") or member == "__version__", f"{name} exports private {member!r}"


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_exports_only_what_its_modules_export(name: str) -> None:
    package: ModuleType = importlib.import_module(name)
    for member in package.__all__:
        value = getattr(package, member)
        home = _defined_in(value)
        if home is None or home == name:
            continue
        assert home.startswith(f"{name}.") or home.startswith(name.split(".")[0]), \
            f"{name}.{member} comes from {home}, outside the project"
        module = importlib.import_module(home)
        assert member in getattr(module, "__all__", ()), f"{name}.{member} is not public in {home}"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_of_an_eager_package_is_exported(name: str) -> None:
    package = importlib.import_module(name)
    if "__getattr__" in vars(package):
        return  # a lazy package: test_a_package_exports_only_what_its_modules_export covers it
    submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    public = {key for key, value in vars(package).items()
              if not key.startswith("_") and key not in submodules and not inspect.ismodule(value)
              and key != "annotations" and (_defined_in(value) or name).startswith(name)}
    missing = public - set(package.__all__)
    assert not missing, f"{name} has public names it does not export: {missing}"


def test_the_top_level_apis() -> None:
    assert {"Recommender", "train_and_save", "ModelCard", "make_model", "load_model", "StoreReader",
            "Interactions", "Grid", "TrainConfig"} <= set(recommender.__all__)
    assert recommender.__all__[0] == "__version__"
