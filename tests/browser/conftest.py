"""One headless Chromium per test module, driven over its DevTools pipe (tests/browser/cdp.py)."""

from __future__ import annotations

import pytest

from tests.browser.cdp import Browser
from tests.conftest import chromium_path, require_chromium


@pytest.fixture(scope="module")
def browser():
    """Gated here too, before any module fixture that depends on it makes runs for nothing."""
    require_chromium()
    b = Browser(chromium_path())
    yield b
    b.close()
