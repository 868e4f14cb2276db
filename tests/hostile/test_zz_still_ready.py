"""After every attack (this module runs last), every service is still ready and answers normally."""

from typing import Any

import httpx


def test_every_service_is_ready_after_the_attacks(platform: Any) -> None:
    for proc in [platform.gateway, *platform.services.values()]:
        assert proc.proc.poll() is None, f"{proc.args} died; see {proc.log}"
        ready = httpx.get(f"{proc.url}/readyz", timeout=10)
        assert ready.status_code == 200, (proc.args, ready.text)
    assert httpx.get(f"{platform.url}/v1/search", params={"q": "calm"}, timeout=10).status_code == 200
