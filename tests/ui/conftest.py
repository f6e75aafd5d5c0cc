"""Fixtures of the browser suite: `flagpole serve` on a temporary database, an API
session with the bootstrap admin token, and headless Chromium driven over WebDriver."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "ui-admin-password-1"
ADMIN_TOKEN = "ui-admin-token"
STARTUP_SECONDS = 30


class Flagpole:
    def __init__(self, process: subprocess.Popen, log: list[str]):
        self.process = process
        self.log = log
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path


def _binary() -> Path:
    path = Path(os.environ.get("FLAGPOLE_BIN", "target/debug/flagpole"))
    return path if path.is_absolute() else REPO / path


def _drain(stream, sink: list[str], lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Flagpole]:
    workdir = tmp_path_factory.mktemp("flagpole-ui")
    env = {
        **os.environ,
        "FLAGPOLE_LOG": "info",
        "FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "FLAGPOLE_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
    }
    process = subprocess.Popen(
        [str(_binary()), "serve", "--listen", "127.0.0.1:0", "--database",
         str(workdir / "flagpole.db"), "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, env=env, cwd=workdir,
    )
    log: list[str] = []
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_drain, args=(process.stdout, log, lines), daemon=True).start()
    flagpole = Flagpole(process, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and not flagpole.base:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError("flagpole exited:\n" + "".join(log[-30:]))
            try:
                fields = json.loads(line).get("fields", {})
            except ValueError:
                continue
            if fields.get("message") == "flagpole is serving":
                flagpole.base = "http://" + fields["address"]
        if not flagpole.base:
            raise RuntimeError("flagpole did not start:\n" + "".join(log[-30:]))
        yield flagpole
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def http(server) -> Iterator[requests.Session]:
    """The API, as the bootstrap admin token."""
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield s


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,1000", "--hide-scrollbars", "--force-device-scale-factor=1"]:
        options.add_argument(arg)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
