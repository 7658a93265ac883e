"""Spark master URLs, their reachability and the regularization mapping (pure, or one socket)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from recommender.engines.master import MasterUnreachable, check_reachable, parse_master, yarn_endpoints
from recommender.engines.spark import spark_regularization
from recommender.errors import RecommenderError


def test_master_kinds_and_endpoints() -> None:
    assert parse_master("local[2]").local and parse_master("local[*]").local and parse_master("local").local
    assert parse_master("spark://a:7077,b").endpoints == (("a", 7077), ("b", 7077))
    assert parse_master("k8s://https://api.example:6443").endpoints == (("api.example", 6443),)
    assert parse_master("k8s://api.example").endpoints == (("api.example", 443),)
    assert parse_master("yarn").kind == "yarn"
    for bad in ("mesos://x:5050", "local[two]", "local[0]", "local[00]", "spark://", "spark://h:99999", ""):
        with pytest.raises(RecommenderError):
            parse_master(bad)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reachability_is_a_short_connect() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(parse_master(f"spark://127.0.0.1:{_free_port()},127.0.0.1:{server.getsockname()[1]}"))
    started = time.monotonic()
    with pytest.raises(MasterUnreachable, match="cannot reach the Spark master"):
        check_reachable(parse_master(f"spark://127.0.0.1:{_free_port()}"))
    assert time.monotonic() - started < 5
    check_reachable(parse_master("local[2]"))  # nothing to connect to


def test_yarn_resource_managers_from_yarn_site(tmp_path: Path) -> None:
    with pytest.raises(RecommenderError, match="HADOOP_CONF_DIR or YARN_CONF_DIR"):
        yarn_endpoints({})
    (tmp_path / "yarn-site.xml").write_text(
        "<configuration>"
        "<property><name>yarn.resourcemanager.ha.rm-ids</name><value>rm1,rm2</value></property>"
        "<property><name>yarn.resourcemanager.hostname.rm1</name><value>one</value></property>"
        "<property><name>yarn.resourcemanager.address.rm2</name><value>two:8050</value></property>"
        "</configuration>")
    assert yarn_endpoints({"HADOOP_CONF_DIR": str(tmp_path)}) == (("one", 8032), ("two", 8050))


def test_regularization_matches_the_user_of_the_average_entry() -> None:
    # users with 10 and 30 entries: the average entry's user has (10 * 10 + 30 * 30) / 40 = 25
    assert spark_regularization(0.5, positives=10 + 30, squares=10**2 + 30**2) == pytest.approx(0.5 / 25)
