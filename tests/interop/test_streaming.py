"""Real SDKs following Flagpole's server-sent event streams.

A module fixture starts its own `flagpole serve` (so the flags it changes are its own),
with the admin token `FLAGPOLE_BOOTSTRAP_TOKEN`, a client token for production and the
flag `stream_flag` (off in production). `js/stream.mjs` then runs

* the Node `unleash-client` in streaming mode (`/api/client/streaming`): the flags arrive
  by `unleash-connected`, and enabling a flag, creating one, deleting one, creating a
  segment and a flag using it, and changing the segment each reach the SDK by
  `unleash-updated` within seconds, with polling set to a minute;
* OpenFeature's web SDK with `@openfeature/ofrep-web-provider` (`changeDetection: 'sse'`):
  the bulk response's `eventStreams` leads it to `/ofrep/v1/stream`, and each change
  reaches it by a `refetchEvaluation` event and the refetch it triggers.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Iterator

import pytest
import requests

from test_sdks import JS_DIR, Flagpole, running

ADMIN_TOKEN = "stream-admin-token"
TOKEN = "default:production.stream-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory) -> Iterator[Flagpole]:
    with running(tmp_path_factory.mktemp("flagpole-stream"), ADMIN_TOKEN, "--stream-heartbeat-secs", "2") as flagpole:
        response = requests.post(flagpole.url("/api/v1/tokens"), headers=ADMIN, timeout=10,
                                 json={"name": "stream", "kind": "client", "environment": "production", "secret": TOKEN})
        assert response.status_code == 201, response.text
        yield flagpole


def node_missing(package: str) -> str | None:
    """Why the Node SDKs cannot run here, if they cannot."""
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError as e:
        return f"node cannot be run ({e})"
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        return f"node {version} is older than 20"
    if not (JS_DIR / "node_modules" / package).is_dir():
        return f"{package} is not installed"
    return None


def skip_without_node(package: str) -> None:
    why = node_missing(package)
    if why:
        hint = "run `npm ci --prefix tests/interop/js` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"the Node SDKs cannot run: {why}; {hint}")
        pytest.skip(f"Node SDKs skipped: {why}; {hint}")


def _reset(server: Flagpole) -> None:
    """`stream_flag` off in production; the flags and segment the runs create gone."""
    for key in ("stream_new", "stream_seg", "stream_web"):
        requests.delete(server.url(f"/api/v1/flags/{key}"), headers=ADMIN, timeout=10)
    requests.delete(server.url("/api/v1/segments/stream_beta"), headers=ADMIN, timeout=10)
    response = requests.get(server.url("/api/v1/flags/stream_flag"), headers=ADMIN, timeout=10)
    if response.status_code == 404:
        response = requests.post(server.url("/api/v1/flags"), headers=ADMIN, timeout=10,
                                 json={"key": "stream_flag", "environments": {"production": {"enabled": False}}})
        assert response.status_code == 201, response.text
    else:
        response = requests.post(server.url("/api/v1/flags/stream_flag/environments/production/disable"),
                                 headers=ADMIN, timeout=10)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("sdk,package", [("unleash", "unleash-client"), ("ofrep-web", "eventsource")])
def test_sdk_follows_the_stream(stream_server, sdk, package):
    skip_without_node(package)
    _reset(stream_server)
    run = subprocess.run(["node", str(JS_DIR / "stream.mjs"), sdk, stream_server.base],
                         capture_output=True, text=True, timeout=120, cwd=JS_DIR,
                         env={**os.environ, "FLAGPOLE_SDK_AUTH": TOKEN, "FLAGPOLE_ADMIN_AUTH": f"Bearer {ADMIN_TOKEN}"})
    try:
        steps = json.loads(run.stdout.strip().splitlines()[-1])["steps"]
    except (ValueError, IndexError):
        pytest.fail(f"node exited with {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    report = "\n".join(f"{'ok  ' if s['ok'] else 'FAIL'} {s['ms']:>5} ms  {s['step']}{' ' + s['error'] if 'error' in s else ''}"
                       for s in steps)
    print(f"\n{sdk}:\n{report}")
    assert run.returncode == 0 and all(s["ok"] for s in steps), \
        f"{sdk}:\n{report}\n{run.stderr[-2000:]}\n--- flagpole's log ---\n{stream_server.log_tail()}"
