"""The pages load in a real browser with every asset from the API and switch language."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import LiveApi


@pytest.mark.parametrize("page_name", ["kiosk", "clerk"])
def test_page_is_served_with_its_security_headers(live_api: LiveApi, page_name: str) -> None:
    r = httpx.get(f"{live_api.url}/{page_name}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{live_api.url}/static/common/ekyc.css").status_code == 200
    assert httpx.get(f"{live_api.url}/static/nothing-here.js").status_code == 404


@pytest.mark.parametrize("page_name", ["kiosk", "clerk"])
def test_page_loads_without_errors_and_only_from_the_api(
    live_api: LiveApi, launch_browser: Any, page_name: str
) -> None:
    page = launch_browser().new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_api.url) else None,
    )
    page.goto(f"{live_api.url}/{page_name}")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.click("#lang")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert errors == [] and outside == []
