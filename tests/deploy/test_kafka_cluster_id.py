"""The local Kafka's cluster id is always a valid ``kafka-storage format`` argument.

A random id that began with "-" once failed CI: the storage tool read it as an option.
"""

import base64
from types import ModuleType


def test_cluster_ids_never_start_with_a_dash_and_are_16_bytes(local_servers: ModuleType) -> None:
    ids = {local_servers.new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    for cluster_id in ids:
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
