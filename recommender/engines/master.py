"""Spark master URLs: which kind of cluster a URL names, and whether it can be reached.

    local, local[4], local[*]        this machine, in the driver's JVM (no cluster)
    spark://host:7077[,host2:7077]   a standalone cluster (several masters: ZooKeeper HA)
    yarn                             YARN; its ResourceManager from yarn-site.xml in
                                     HADOOP_CONF_DIR or YARN_CONF_DIR
    k8s://https://host:443           Kubernetes; the API server

Spark itself retries an unreachable master for minutes before giving up, so the master's
endpoints are tried first with a short TCP connect: a dead address is one line in a second or
two, before a session (or any model) exists.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from recommender.data.ids import shown
from recommender.errors import RecommenderError

__all__ = ["CONNECT_SECONDS", "DEFAULT_MASTER", "Master", "MasterUnreachable", "check_reachable", "parse_master",
           "yarn_endpoints"]

DEFAULT_MASTER = "local[*]"
"""Spark in this process, on every core."""
CONNECT_SECONDS = 3.0
"""How long a TCP connect to a master's endpoint may take before it counts as unreachable."""
_LOCAL = re.compile(r"local(\[([1-9]\d*|\*)(,\d+)?\])?")
_EXAMPLES = "local[2], spark://host:7077, yarn or k8s://https://host:443"


class MasterUnreachable(RecommenderError):
    """No endpoint of the Spark master answers."""


@dataclass(frozen=True)
class Master:
    """A Spark master URL and the endpoints (host, port) that must answer for it to work."""

    url: str
    kind: str
    """local, standalone, yarn or kubernetes"""
    endpoints: tuple[tuple[str, int], ...] = ()

    @property
    def local(self) -> bool:
        return self.kind == "local"


def _host_port(text: str, default_port: int, url: str) -> tuple[str, int]:
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port or default_port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise RecommenderError(f"the Spark master {shown(url, 80)} has no valid host:port in {shown(text, 60)}")
    return parts.hostname, port


def parse_master(url: str) -> Master:
    """The master `url` names (pure: YARN's endpoints are read by `yarn_endpoints`)."""
    url = url.strip()
    if _LOCAL.fullmatch(url):
        return Master(url, "local")
    if url == "yarn":
        return Master(url, "yarn")
    if url.startswith("spark://"):
        hosts = url.removeprefix("spark://").split(",")
        return Master(url, "standalone", tuple(_host_port(h, 7077, url) for h in hosts))
    if url.startswith("k8s://"):
        api = url.removeprefix("k8s://")
        secure = not api.startswith("http://")
        address = api.split("://", 1)[-1].split("/", 1)[0]
        return Master(url, "kubernetes", (_host_port(address, 443 if secure else 80, url),))
    raise RecommenderError(f"unknown Spark master {shown(url, 80)}: use {_EXAMPLES}")


def _properties(path: Path) -> dict[str, str]:
    """name -> value of a Hadoop configuration file (empty if it is missing or unreadable)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    return {(p.findtext("name") or "").strip(): (p.findtext("value") or "").strip() for p in root.iter("property")}


def yarn_endpoints(environ: dict[str, str] | None = None) -> tuple[tuple[str, int], ...]:
    """The ResourceManager address(es) of yarn-site.xml in HADOOP_CONF_DIR or YARN_CONF_DIR (each
    ResourceManager of an HA pair); RecommenderError when neither variable names such a file."""
    env = dict(os.environ if environ is None else environ)
    folders = [env[v] for v in ("YARN_CONF_DIR", "HADOOP_CONF_DIR") if env.get(v)]
    files = [Path(f) / "yarn-site.xml" for f in folders if (Path(f) / "yarn-site.xml").is_file()]
    if not files:
        raise RecommenderError("the Spark master yarn needs HADOOP_CONF_DIR or YARN_CONF_DIR naming the folder "
                               "of the cluster's yarn-site.xml")
    conf = _properties(files[0])
    ids = [i.strip() for i in conf.get("yarn.resourcemanager.ha.rm-ids", "").split(",") if i.strip()]
    suffixes = [f".{i}" for i in ids] or [""]
    out = []
    for suffix in suffixes:
        host = conf.get(f"yarn.resourcemanager.hostname{suffix}") or \
            conf.get("yarn.resourcemanager.hostname", "0.0.0.0")
        address = conf.get(f"yarn.resourcemanager.address{suffix}") or f"{host}:8032"
        out.append(_host_port(address.replace("${yarn.resourcemanager.hostname}", host), 8032, "yarn"))
    return tuple(out)


def check_reachable(master: Master, seconds: float = CONNECT_SECONDS) -> None:
    """MasterUnreachable unless some endpoint of `master` accepts a TCP connection (local: always)."""
    endpoints = yarn_endpoints() if master.kind == "yarn" else master.endpoints
    reasons = []
    for host, port in endpoints:
        try:
            with socket.create_connection((host, port), timeout=seconds):
                return
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or exc or type(exc).__name__}")
    if endpoints:
        raise MasterUnreachable(f"cannot reach the Spark master {shown(master.url, 80)} "
                                f"({'; '.join(reasons)}): is it running, and is this the right address?")
