"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`):
JSON messages separated by NUL bytes on file descriptors 3 (to the browser) and 4 (from it).
The standard library is enough; no websocket, no port, no driver package.

What a test needs: load a page, then read every request it made, every console message and
uncaught error, evaluate an expression, take a full-page screenshot, print it to PDF.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from repro.audit.pdf import chromium_argv


@dataclass
class PageLoad:
    """What one page load did."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Browser:
    def __init__(self, binary: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="repro-cdp-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire() -> None:  # in the child: its fd 3 reads our commands, its fd 4 writes answers
            a, b = os.dup(to_child_r), os.dup(from_child_w)  # neither may be overwritten by the other's dup2
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.close(a)
            os.close(b)

        argv = [*chromium_argv(binary, Path(self._profile.name)), "--remote-debugging-pipe", "about:blank"]
        self._proc = subprocess.Popen(argv, preexec_fn=wire, pass_fds=(3, 4, to_child_r, from_child_w),  # kept: close_fds runs after wire()
                                     
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
        except Exception:  # already gone: nothing left to close
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self._profile.cleanup()

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise ConnectionError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, *, session: bool = True, timeout: float = 60) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            e = self._read(max(0.1, deadline - time.monotonic()))
            if e.get("method") == method:
                return e
            self.events.append(e)

    def open(self, url: str, *, width: int = 1280, height: int = 1600) -> PageLoad:
        """A fresh tab loads `url`; returns what it requested, logged and threw until `load`."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.events.clear()
        start = time.monotonic()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        seconds = time.monotonic() - start
        self.evaluate("1")  # let queued console messages and errors arrive before they are read
        load = PageLoad(seconds=seconds)
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Network.requestWillBeSent":
                load.requests.append(p["request"]["url"])
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                load.console.append(f"{p.get('type')}: {text}")
                if p.get("type") in ("error", "warning", "assert"):
                    load.errors.append(f"console {p.get('type')}: {text}")
            elif method == "Runtime.exceptionThrown":
                load.errors.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                load.errors.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
        return load

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        return base64.b64decode(shot["data"])
