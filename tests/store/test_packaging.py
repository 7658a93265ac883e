"""The migrations live in the checkout's top-level alembic/ and install as kitsu_ingest/store/migrations:
pyproject.toml lists every package (`find` could not add that one), and both ways of reading the
scripts (`kitsu-ingest db upgrade` and a checkout's `alembic upgrade head`) find them."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

from kitsu_ingest.store.migrate import MIGRATIONS_DIR

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_of_the_checkout_is_listed_for_the_wheel() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("kitsu_ingest", "recommender")
        for init in (ROOT / top).rglob("__init__.py")
    }
    listed = set(_setuptools()["packages"])
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"kitsu_ingest.store.migrations"}


def test_the_migrations_are_one_folder_shipped_as_package_data() -> None:
    setuptools = _setuptools()
    assert setuptools["package-dir"] == {"kitsu_ingest.store.migrations": "alembic"}
    shipped = setuptools["package-data"]["kitsu_ingest.store.migrations"]
    scripts = {p.relative_to(ROOT / "alembic") for p in (ROOT / "alembic").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts}
    assert scripts and all(any(script.match(pattern) for pattern in shipped) for script in scripts)
    # No __init__.py: a regular package named `alembic` would shadow the library from a checkout.
    assert not (ROOT / "alembic" / "__init__.py").exists()
    assert not (ROOT / "kitsu_ingest" / "store" / "migrations").exists()  # one copy of each script
    assert MIGRATIONS_DIR.resolve() == (ROOT / "alembic").resolve()  # this checkout's, installed editable


def test_alembic_ini_reads_the_same_scripts() -> None:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "alembic.ini", encoding="utf-8")
    assert ini["alembic"]["script_location"] == "%(here)s/alembic"
