"""The local Kafka's cluster id is always a valid ``kafka-storage format`` argument.

A random id that began with "-" once failed CI: the storage tool read it as an option.
"""

import base64
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _servers_module() -> object:
    spec = importlib.util.spec_from_file_location("local_servers", ROOT / "deploy/local/servers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["local_servers"] = module
    spec.loader.exec_module(module)
    return module


def test_cluster_ids_never_start_with_a_dash_and_are_16_bytes() -> None:
    servers = _servers_module()
    ids = {servers.new_cluster_id() for _ in range(2000)}  # type: ignore[attr-defined]
    assert len(ids) == 2000
    for cluster_id in ids:
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
