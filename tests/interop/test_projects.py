"""Projects with real Unleash SDKs: an Unleash-format project token
(`alpha:production.…`) sees only its project's flags, in the Python `UnleashClient` and
the Node `unleash-client`, and the Node SDK's `namePrefix` option filters as it does
against Unleash (`js/projects.mjs`); with `FLAGPOLE_INTEROP_RELAY` set, through a relay."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Iterator

import pytest
import requests
from UnleashClient import UnleashClient

from test_sdks import JS_DIR, Flagpole, _relay, running
from test_streaming import skip_without_node

ADMIN_TOKEN = "projects-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ALPHA = "alpha:production.projects-alpha-secret"
EVERY = "*:production.projects-every-secret"
FLAGS = {"alpha": ["alpha-checkout", "alpha-search", "beta-lookalike"], "beta": ["beta-search"], "default": ["plain"]}


@pytest.fixture(scope="module")
def projects_server(tmp_path_factory) -> Iterator[Flagpole]:
    workdir = tmp_path_factory.mktemp("flagpole-projects")
    with running(workdir, ADMIN_TOKEN) as flagpole:
        def post(path, body):
            response = requests.post(flagpole.url(path), json=body, headers=ADMIN, timeout=10)
            assert response.status_code == 201, response.text

        for key in ("alpha", "beta"):
            post("/api/v1/projects", {"key": key})
        for project, keys in FLAGS.items():
            for key in keys:
                post("/api/v1/flags", {"key": key, "project": project,
                                       "environments": {"production": {"enabled": True}}})
        for name, secret in (("alpha", ALPHA), ("every", EVERY)):
            post("/api/v1/tokens", {"name": name, "kind": "client", "secret": secret})
        if os.environ.get("FLAGPOLE_INTEROP_RELAY"):
            # The SDKs then ask a relay, which learns each token's projects upstream.
            yield from _relay(flagpole, workdir, ADMIN_TOKEN)
        else:
            yield flagpole


def python_sdk_sees(server: Flagpole, token: str, cache) -> set[str]:
    client = UnleashClient(url=server.url("/api"), app_name="flagpole-projects", environment="production",
                           custom_headers={"Authorization": token}, refresh_interval=60, disable_metrics=True,
                           cache_directory=str(cache), request_retries=0)
    client.initialize_client()
    try:
        return set(client.feature_definitions())
    finally:
        client.destroy()


def test_python_sdk_with_a_project_token_sees_its_project_only(projects_server, tmp_path):
    assert python_sdk_sees(projects_server, ALPHA, tmp_path / "alpha") == set(FLAGS["alpha"])
    every = python_sdk_sees(projects_server, EVERY, tmp_path / "every")
    assert every == {k for keys in FLAGS.values() for k in keys}
    # One flag of another project, asked for by name: not there.
    response = requests.get(projects_server.url("/api/client/features/beta-search"),
                            headers={"Authorization": ALPHA}, timeout=10)
    assert response.status_code == 404, response.text


def node_sdk_sees(server: Flagpole, token: str, prefix: str | None) -> set[str]:
    args = ["node", str(JS_DIR / "projects.mjs"), server.base, token] + ([prefix] if prefix else [])
    run = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=JS_DIR)
    assert run.returncode == 0, f"{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def test_node_sdk_with_a_project_token_and_a_name_prefix(projects_server):
    skip_without_node("unleash-client")
    assert node_sdk_sees(projects_server, ALPHA, None) == set(FLAGS["alpha"])
    assert node_sdk_sees(projects_server, ALPHA, "alpha-") == {"alpha-checkout", "alpha-search"}
    assert node_sdk_sees(projects_server, EVERY, "beta-") == {"beta-lookalike", "beta-search"}
