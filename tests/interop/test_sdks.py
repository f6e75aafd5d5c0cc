"""Real SDKs against a real Flagpole.

A session fixture starts the `flagpole` binary (`FLAGPOLE_BIN`, default
`target/debug/flagpole`) on a free 127.0.0.1 port with a temporary database and imports
`flags.yaml` through the API. Every flag is then evaluated for a deterministic matrix of
contexts through

* the native evaluation endpoint (`POST /api/v1/environments/production/evaluate/{key}`),
  which is the reference answer;
* the Unleash Python SDK (`UnleashClient` 6, local evaluation by yggdrasil on the
  `/api/client/features` document);
* OpenFeature with the OFREP provider (`openfeature-provider-ofrep`, one
  `POST /ofrep/v1/evaluate/flags/{key}` per evaluation), and raw bulk OFREP requests;

* OpenFeature's JavaScript SDKs under Node (`@openfeature/server-sdk` with
  `@openfeature/ofrep-provider`, `@openfeature/web-sdk` with
  `@openfeature/ofrep-web-provider`), run by `js/evaluate.mjs` on the same contexts;

and every answer must equal the native one. Contexts without a user id or session id
make rollouts and splits by user random: the native answer says `needs_user_id` there,
OFREP must answer TARGETING_KEY_MISSING exactly there, and those answers are not compared
otherwise. Some contexts give attributes as arrays or objects (missing for every
condition; the Unleash SDK, which takes text only, is not given them). The OFREP error cases are checked on the wire
(status and body as OFREP's `service/openapi.yaml` gives them) and through the provider
(the OpenFeature error code it reports), and the Unleash SDK's metrics posts must arrive
and be counted by `GET /api/v1/usage`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import random
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
import yaml
from openfeature import api as openfeature_api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from UnleashClient import UnleashClient

REPO = Path(__file__).resolve().parents[2]
FLAGS_FILE = Path(__file__).with_name("flags.yaml")
ENVIRONMENT = "production"
APP_NAME = "flagpole-interop"
# The admin token the server starts with (FLAGPOLE_BOOTSTRAP_TOKEN): imports, native
# evaluation, usage.
ADMIN_TOKEN = "interop-admin-token"
# The SDKs' client token for production, created by the fixture with this text, as an
# existing Unleash token (`project:environment.secret`) is moved over unchanged.
TOKEN = "default:production.interop-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SDK_HEADERS = {"Authorization": f"Bearer {TOKEN}"}
# The Authorization header value the JS OpenFeature SDK clients send (FLAGPOLE_SDK_AUTH).
SDK_AUTH = f"Bearer {TOKEN}"
CONTEXT_COUNT = 320
STARTUP_SECONDS = 30
METRICS_DEADLINE_SECONDS = 20

# Filled in by the tests, printed by conftest.py at the end of the run.
SUMMARY: dict[str, int] = {}


# --- the server -------------------------------------------------------------------------


@dataclass
class Flagpole:
    """A running `flagpole serve` and what it logged."""

    base: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.log[-lines:])


def _binary() -> Path:
    path = Path(os.environ.get("FLAGPOLE_BIN", "target/debug/flagpole"))
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        pytest.fail(f"the flagpole binary {path} does not exist: run `cargo build -p flagpole` or set FLAGPOLE_BIN")
    return path


def _drain(stream, sink: list[str], lines: queue.Queue) -> None:
    """Keeps the server's output pipe empty, remembering every line."""
    for line in iter(stream.readline, ""):
        sink.append(line)
        lines.put(line)
    lines.put(None)


def _listening_address(lines: queue.Queue, deadline: float, message: str = "flagpole is serving") -> str:
    """The address from the server's `flagpole is serving` log line (or the relay's)."""
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        try:
            event = json.loads(line)
        except ValueError:
            continue
        fields = event.get("fields", {})
        if fields.get("message") == message:
            return fields["address"]
    raise RuntimeError("flagpole did not report its listening address")


@contextlib.contextmanager
def running(workdir: Path, admin_token: str, *args: str) -> Iterator[Flagpole]:
    """`flagpole serve` on a free port (it binds port 0 and logs the one it got) with a
    database in `workdir` and `admin_token` as its first admin token, ready; stopped on
    exit, with its log in the error when the body fails."""
    env = {**os.environ, "FLAGPOLE_LOG": "info", "FLAGPOLE_BOOTSTRAP_TOKEN": admin_token}
    process = subprocess.Popen(
        [str(_binary()), "serve", "--listen", "127.0.0.1:0", "--database", str(workdir / "flagpole.db"),
         "--log-format", "json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=workdir,
    )
    log: list[str] = []
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_drain, args=(process.stdout, log, lines), daemon=True).start()
    flagpole = Flagpole(base="", process=process, log=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        flagpole.base = f"http://{_listening_address(lines, deadline)}"
        _wait_ready(flagpole, deadline)
        yield flagpole
    except Exception as e:
        raise RuntimeError(f"{e}\n--- flagpole's log ---\n{flagpole.log_tail()}") from e
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Flagpole]:
    """The server every check here runs against, with `flags.yaml` imported."""
    workdir = tmp_path_factory.mktemp("flagpole")
    with running(workdir, ADMIN_TOKEN) as flagpole:
        _import_flags(flagpole)
        _create_client_token(flagpole)
        if os.environ.get("FLAGPOLE_INTEROP_RELAY"):
            # Every check below then runs against `flagpole relay` in front of the server.
            yield from _relay(flagpole, workdir)
        else:
            yield flagpole


def _relay(upstream: Flagpole, workdir: Path, token: str = ADMIN_TOKEN) -> Iterator[Flagpole]:
    """`flagpole relay` on a free port, following `upstream` with the admin `token`."""
    env = {**os.environ, "FLAGPOLE_LOG": "info"}
    process = subprocess.Popen(
        [str(_binary()), "relay", "--upstream", upstream.base, "--token", token,
         "--listen", "127.0.0.1:0", "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, env=env, cwd=workdir,
    )
    log: list[str] = []
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_drain, args=(process.stdout, log, lines), daemon=True).start()
    relay = Flagpole(base="", process=process, log=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        relay.base = f"http://{_listening_address(lines, deadline, 'flagpole relay is serving')}"
        _wait_ready(relay, deadline)
        version = requests.get(upstream.url("/health/ready"), timeout=2).json()["version"]
        while requests.get(relay.url("/health/ready"), timeout=2).json()["version"] < version:
            assert time.monotonic() < deadline, "the relay did not catch up with the server"
            time.sleep(0.05)
        SUMMARY["served by a relay"] = 1
        yield relay
    except Exception as e:
        raise RuntimeError(f"{e}\n--- the relay's log ---\n{relay.log_tail()}") from e
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(flagpole: Flagpole, deadline: float) -> None:
    while time.monotonic() < deadline:
        if flagpole.process.poll() is not None:
            raise RuntimeError(f"flagpole exited with status {flagpole.process.returncode}")
        try:
            if requests.get(flagpole.url("/health/ready"), timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError("flagpole did not become ready in time")


def _import_flags(flagpole: Flagpole) -> None:
    response = requests.post(
        flagpole.url("/api/v1/import?format=native"),
        data=FLAGS_FILE.read_bytes(),
        headers={"Content-Type": "application/yaml", **ADMIN_HEADERS},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    document = yaml.safe_load(FLAGS_FILE.read_text())
    assert response.json()["imported"]["flags"] == len(document["flags"])


def _create_client_token(flagpole: Flagpole) -> None:
    response = requests.post(
        flagpole.url("/api/v1/tokens"),
        json={"name": "interop", "kind": "client", "environment": ENVIRONMENT, "secret": TOKEN},
        headers=ADMIN_HEADERS,
        timeout=10,
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    """A session with the admin token; SDK routes are called with `SDK_HEADERS`."""
    with requests.Session() as session:
        session.headers.update(ADMIN_HEADERS)
        yield session


# --- the flag set and the contexts ------------------------------------------------------


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    return yaml.safe_load(FLAGS_FILE.read_text())


@pytest.fixture(scope="session")
def flag_keys(document) -> list[str]:
    return list(document["flags"])


@dataclass(frozen=True)
class Ctx:
    """One evaluation context, written out in the shape each client takes."""

    index: int
    user_id: str | None
    session_id: str | None
    remote_address: str | None
    current_time: str
    properties: dict[str, Any]

    def native(self) -> dict[str, Any]:
        """Unleash's shape, with the fields the Unleash SDK adds itself (appName,
        environment), as the native endpoint reads it."""
        ctx: dict[str, Any] = {"appName": APP_NAME, "environment": ENVIRONMENT, "currentTime": self.current_time}
        for name, value in [("userId", self.user_id), ("sessionId", self.session_id), ("remoteAddress", self.remote_address)]:
            if value is not None:
                ctx[name] = value
        ctx["properties"] = dict(self.properties)
        return ctx

    def unleash(self) -> dict[str, Any]:
        """What the application hands the Unleash SDK (it adds appName and environment
        from its configuration). The SDK sends every value as text."""
        ctx: dict[str, Any] = {"currentTime": self.current_time}
        for name, value in [("userId", self.user_id), ("sessionId", self.session_id), ("remoteAddress", self.remote_address)]:
            if value is not None:
                ctx[name] = value
        ctx["properties"] = {k: str(v) for k, v in self.properties.items() if not isinstance(v, (list, dict))}
        return ctx

    def ofrep_attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {"appName": APP_NAME, "environment": ENVIRONMENT, "currentTime": self.current_time}
        for name, value in [("sessionId", self.session_id), ("remoteAddress", self.remote_address)]:
            if value is not None:
                attributes[name] = value
        attributes.update(self.properties)
        return attributes

    def openfeature(self) -> EvaluationContext:
        return EvaluationContext(targeting_key=self.user_id, attributes=self.ofrep_attributes())

    def ofrep_json(self) -> dict[str, Any]:
        """The OpenFeature context as OFREP puts it on the wire."""
        ctx = dict(self.ofrep_attributes())
        if self.user_id is not None:
            ctx["targetingKey"] = self.user_id
        return ctx


def _maybe(rng: random.Random, values: list, present: float = 0.75):
    return rng.choice(values) if rng.random() < present else None


def make_contexts(count: int = CONTEXT_COUNT, seed: int = 20250601) -> list[Ctx]:
    """A deterministic spread of contexts: values on both sides of every condition in
    flags.yaml, malformed numbers, versions, dates and addresses, missing attributes,
    attributes given as arrays and objects. One in eight has only a session id, one in
    eight neither a user id nor a session id (anonymous); the others a user id."""
    rng = random.Random(seed)
    choices: dict[str, list] = {
        "email": ["ana@ourco.com", "Bob@OurCo.COM", "admin@example.com", "root.user@example.io", "jane.doe@example.com",
                  "test.user@example.com", "tester@ourco.com.evil", "carl@example.org", "ADMIN@example.com"],
        "country": ["NL", "DE", "FR", "ES", "US", "nl", "BE"],
        "plan": ["free", "pro", "enterprise", "Enterprise", "team"],
        "age": [17, 18, 21, 35, 59, 60, 66, 70, "abc", "42.5", "18"],
        "score": [5, 9.5, 10, 42, "42.0", 50.5, 51, 99, "lots", -3],
        "appVersion": ["1.0.0", "1.0.0-rc.2", "1.1.9", "1.2.0", "1.5.0", "2.0.0", "2.0.0-beta.1", "2.9.9", "3.0.0",
                       "3.1.0", "3.1.1", "10.0.0", "v2.1.0", "garbage"],
        "tenantId": ["acme", "globex", "initech", "ACME-corp", "umbrella", "hooli", "t-1", "t-2", "t-3", "t-4", "t-5"],
        "beta": ["true", "false", "yes"],
        "signupDate": ["2023-06-01T00:00:00Z", "2024-02-01T00:00:00Z", "2023-12-31T23:59:59Z", "not a date"],
    }
    addresses = ["10.1.2.3", "10.255.255.254", "192.168.1.1", "192.168.1.2", "172.16.0.5", "127.0.0.1",
                 "2001:db8::7", "2001:db9::1", "not-an-ip"]
    times = ["2024-06-01T00:00:00Z", "2025-01-15T10:00:00Z", "2025-05-01T00:00:00Z", "2025-05-01T00:00:01Z",
             "2025-06-30T23:59:59Z", "2025-08-31T23:59:59.999Z", "2025-09-01T00:00:00Z", "2025-07-04T12:00:00+02:00",
             "2026-01-01T00:00:00Z"]
    contexts = []
    for i in range(count):
        session_only = i % 8 == 7
        anonymous = i % 8 == 3
        user_id = None if session_only or anonymous else f"user-{i}"
        session_id = f"session-{rng.randrange(10**6)}" if session_only or rng.random() < 0.5 else None
        if anonymous:
            session_id = None
        properties = {}
        for name, values in choices.items():
            value = _maybe(rng, values)
            if value is not None:
                properties[name] = value
        groups = rng.choice(["beta", "banned", ["beta", "staff"], ["banned"], {"beta": True}, None])
        if groups is not None:
            properties["groups"] = groups
        if rng.random() < 0.3:
            properties["prefs"] = {"theme": "dark", "sizes": [1, 2.5]}
        contexts.append(
            Ctx(
                index=i,
                user_id=user_id,
                session_id=session_id,
                remote_address=_maybe(rng, addresses),
                current_time=rng.choice(times),
                properties=properties,
            )
        )
    return contexts


@pytest.fixture(scope="session")
def contexts() -> list[Ctx]:
    return make_contexts()


@pytest.fixture(scope="session")
def native(server, flag_keys, contexts) -> dict[tuple[str, int], dict[str, Any]]:
    """The reference: the native evaluation endpoint's answer per (flag, context), asked
    one flag at a time (a few contexts at once, to use the server's cores)."""
    local = threading.local()

    def answers_for(ctx: Ctx) -> dict[tuple[str, int], dict[str, Any]]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update(ADMIN_HEADERS)
        body = ctx.native()
        answers = {}
        for key in flag_keys:
            url = server.url(f"/api/v1/environments/{ENVIRONMENT}/evaluate/{key}")
            response = local.session.post(url, json=body, timeout=10)
            assert response.status_code == 200, f"{key} for {body}: {response.status_code} {response.text}"
            answers[(key, ctx.index)] = response.json()
        return answers

    answers: dict[tuple[str, int], dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for part in pool.map(answers_for, contexts):
            answers.update(part)
    SUMMARY["native answers"] = len(answers)
    return answers


def test_the_matrix_is_large_and_varied(native, flag_keys, contexts):
    """The comparisons below mean something only if the answers vary."""
    assert len(contexts) >= 200
    constant = {"always_on", "kill_switch", "no_rule_matches", "typed_off"}
    for key in flag_keys:
        outcomes = {(native[(key, c.index)]["enabled"], native[(key, c.index)]["variant"]) for c in contexts}
        if key in constant:
            assert len(outcomes) == 1, f"{key}: {outcomes}"
        else:
            assert len(outcomes) > 1, f"{key} answers {outcomes} for every context"
    reasons = Counter(a["reason"] for a in native.values())
    assert {"DEFAULT", "DISABLED", "TARGETING_MATCH", "SPLIT", "PREREQUISITE_FAILED"} <= set(reasons), reasons


# --- expectations -----------------------------------------------------------------------


def flag_type(document, key: str) -> str:
    return document["flags"][key].get("type", "boolean")


def variant_value(document, key: str, variant: str) -> Any:
    for v in document["flags"][key].get("variants", []):
        if v["name"] == variant:
            return v.get("value")
    raise KeyError(f"{key} has no variant {variant}")


def unleash_payload(kind: str, value: Any) -> dict[str, str] | None:
    """A variant's payload as Flagpole's Unleash export writes it."""
    if value is None:
        return None
    if kind == "string":
        return {"type": "string", "value": value}
    if kind == "number":
        return {"type": "number", "value": json.dumps(value)}
    if kind == "json":
        return {"type": "json", "value": json.dumps(value, separators=(",", ":"))}
    return {"type": "string", "value": json.dumps(value)}


def needs_user_id(answer: dict[str, Any]) -> bool:
    """Whether the native evaluation reached a rollout or split by user id without one
    (its answer is then random): exactly where OFREP must answer TARGETING_KEY_MISSING."""
    return answer.get("needs_user_id", False)


def unleash_variant(document, key: str, answer: dict[str, Any]) -> str | None:
    """The variant Unleash reports for a native answer: the one a rule or the default
    chose; never Flagpole's off variant (served when off, or on with nothing chosen)."""
    if not answer["enabled"] or answer["variant"] is None or answer["type"] == "boolean":
        return answer["variant"] if answer["enabled"] else None
    env = document["flags"][key]["environments"][ENVIRONMENT]
    rule = answer["rule"]
    if rule is not None and "serve" in env["rules"][rule["index"]]:
        return answer["variant"]
    return answer["variant"] if "default" in env else None


def ofrep_kind(document, key: str) -> str:
    """Which OpenFeature getter an application uses for the flag."""
    kind = flag_type(document, key)
    if kind != "number":
        return {"boolean": "boolean", "string": "string", "json": "object"}[kind]
    values = [v["value"] for v in document["flags"][key]["variants"]]
    if all(isinstance(v, int) for v in values):
        return "integer"
    assert all(isinstance(v, float) for v in values), f"{key}: mix integers and floats in separate flags"
    return "float"


def ofrep_reason(answer: dict[str, Any]) -> str:
    """OFREP's reason for a native answer."""
    reason = answer["reason"]
    if reason == "DEFAULT":
        return "STATIC" if answer["enabled"] else "DEFAULT"
    if reason == "PREREQUISITE_FAILED":
        return "DEFAULT"
    return reason


def ofrep_variant(answer: dict[str, Any]) -> str:
    if answer["variant"] is not None:
        return answer["variant"]
    assert answer["type"] == "boolean", f"a typed flag without a variant: {answer}"
    return "on" if answer["enabled"] else "off"


def check(mismatches: list[str], what: str, got: Any, want: Any) -> None:
    if got != want:
        mismatches.append(f"{what}: got {got!r}, native says {want!r}")


def assert_no_mismatches(mismatches: list[str], compared: int) -> None:
    shown = "\n".join(mismatches[:25])
    assert not mismatches, f"{len(mismatches)} mismatches in {compared} comparisons:\n{shown}"


# --- Unleash ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def unleash(server, tmp_path_factory, flag_keys) -> Iterator[UnleashClient]:
    client = UnleashClient(
        url=server.url("/api"),
        app_name=APP_NAME,
        environment=ENVIRONMENT,
        instance_id="interop-matrix",
        custom_headers={"Authorization": TOKEN},
        refresh_interval=60,
        disable_metrics=True,
        cache_directory=str(tmp_path_factory.mktemp("unleash-cache")),
        request_retries=0,
    )
    client.initialize_client()
    try:
        known = set(client.feature_definitions())
        assert known == set(flag_keys), f"the SDK knows {sorted(known)}"
        yield client
    finally:
        client.destroy()


def test_unleash_sdk_matches_native(unleash, native, document, flag_keys, contexts):
    mismatches: list[str] = []
    compared = random_skipped = 0
    for ctx in contexts:
        uctx = ctx.unleash()
        for key in flag_keys:
            want = native[(key, ctx.index)]
            if needs_user_id(want):
                random_skipped += 1
                continue
            where = f"{key} ctx#{ctx.index} {json.dumps(ctx.native())}"
            check(mismatches, f"{where} is_enabled", unleash.is_enabled(key, dict(uctx)), want["enabled"])
            variant = unleash.get_variant(key, dict(uctx))
            check(mismatches, f"{where} feature_enabled", variant.get("feature_enabled"), want["enabled"])
            chosen = unleash_variant(document, key, want)
            if chosen is None:
                check(mismatches, f"{where} variant", (variant["name"], variant["enabled"]), ("disabled", False))
            else:
                check(mismatches, f"{where} variant", (variant["name"], variant["enabled"]), (chosen, True))
                kind = flag_type(document, key)
                expected = unleash_payload(kind, variant_value(document, key, chosen))
                check(mismatches, f"{where} payload", variant.get("payload"), expected)
                if expected is not None and kind in ("number", "json"):
                    check(mismatches, f"{where} payload value", json.loads(variant["payload"]["value"]), want["value"])
            compared += 1
    SUMMARY["Unleash SDK (flag x context) compared"] = compared
    SUMMARY["  not compared: random without a user id (native needs_user_id)"] = random_skipped
    assert compared > 0.9 * len(contexts) * len(flag_keys), (compared, random_skipped)
    assert_no_mismatches(mismatches, compared)


# --- OpenFeature / OFREP ----------------------------------------------------------------

CODE_DEFAULTS = {"string": "<code default>", "integer": -1, "float": -1.5, "object": {"code": "default"}}


def _openfeature_client(domain: str, provider: OFREPProvider) -> OpenFeatureClient:
    openfeature_api.set_provider(provider, domain=domain)
    return openfeature_api.get_client(domain=domain)


@pytest.fixture(scope="session")
def openfeature(server) -> Iterator[Callable[[], OpenFeatureClient]]:
    """An OpenFeature client on the OFREP provider, one per thread (each provider keeps
    its own HTTP session)."""
    local = threading.local()
    providers: list[OFREPProvider] = []

    def client() -> OpenFeatureClient:
        if not hasattr(local, "client"):
            provider = OFREPProvider(base_url=server.base, headers_factory=lambda: dict(SDK_HEADERS))
            providers.append(provider)
            local.client = _openfeature_client(f"flagpole-interop-{len(providers)}", provider)
        return local.client

    yield client
    for provider in providers:
        provider.session.close()


def resolve(client: OpenFeatureClient, kind: str, key: str, default: Any, ctx: EvaluationContext):
    getter = {
        "boolean": client.get_boolean_details,
        "string": client.get_string_details,
        "integer": client.get_integer_details,
        "float": client.get_float_details,
        "object": client.get_object_details,
    }[kind]
    return getter(key, default, ctx)


def test_ofrep_provider_matches_native(openfeature, native, document, flag_keys, contexts):
    def compare(ctx: Ctx) -> tuple[list[str], int]:
        mismatches: list[str] = []
        missing_key = 0
        client = openfeature()
        of_ctx = ctx.openfeature()
        for key in flag_keys:
            want = native[(key, ctx.index)]
            kind = ofrep_kind(document, key)
            # A boolean's code default is the opposite of the answer, so a missing value shows.
            default = (not want["value"]) if kind == "boolean" else CODE_DEFAULTS[kind]
            details = resolve(client, kind, key, default, of_ctx)
            where = f"{key} ctx#{ctx.index} {json.dumps(ctx.ofrep_json())}"
            if needs_user_id(want):
                missing_key += 1
                check(mismatches, f"{where} error", (details.error_code, details.reason, details.value),
                      (ErrorCode.TARGETING_KEY_MISSING, Reason.ERROR, default))
                continue
            check(mismatches, f"{where} error", (details.error_code, details.error_message), (None, None))
            check(mismatches, f"{where} value", details.value, want["value"] if want["value"] is not None else default)
            check(mismatches, f"{where} variant", details.variant, ofrep_variant(want))
            check(mismatches, f"{where} reason", details.reason, ofrep_reason(want))
            if kind in ("integer", "float") and want["value"] is not None:
                check(mismatches, f"{where} value type", type(details.value).__name__, kind.replace("integer", "int"))
        return mismatches, missing_key

    mismatches: list[str] = []
    missing_key = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for found, missing in pool.map(compare, contexts):
            mismatches += found
            missing_key += missing
    compared = len(contexts) * len(flag_keys)
    SUMMARY["OpenFeature OFREP provider (flag x context) compared"] = compared
    SUMMARY["  of which TARGETING_KEY_MISSING (no targetingKey)"] = missing_key
    assert missing_key > 0, "no context exercised TARGETING_KEY_MISSING"
    assert_no_mismatches(mismatches, compared)


def expected_bulk_entry(document, key: str, ctx: Ctx, want: dict[str, Any]) -> dict[str, Any]:
    if needs_user_id(want):
        return {"key": key, "errorCode": "TARGETING_KEY_MISSING"}
    entry: dict[str, Any] = {"key": key}
    if want["value"] is not None:
        entry["value"] = want["value"]
    entry["variant"] = ofrep_variant(want)
    entry["reason"] = ofrep_reason(want)
    return entry


def test_ofrep_bulk_matches_native(server, http, native, document, flag_keys, contexts):
    mismatches: list[str] = []
    compared = 0
    for ctx in contexts:
        response = http.post(server.url("/ofrep/v1/evaluate/flags"), json={"context": ctx.ofrep_json()},
                             headers=SDK_HEADERS, timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers.get("ETag"), "bulk evaluation has no ETag"
        body = response.json()
        entries = {e["key"]: e for e in body["flags"]}
        assert set(entries) == set(flag_keys)
        for key in flag_keys:
            got = dict(entries[key])
            if "errorCode" in got:
                assert isinstance(got.pop("errorDetails", None), str)
            check(mismatches, f"{key} ctx#{ctx.index}", got, expected_bulk_entry(document, key, ctx, native[(key, ctx.index)]))
            compared += 1
    # The ETag of the last answer revalidates.
    again = http.post(server.url("/ofrep/v1/evaluate/flags"), json={"context": contexts[-1].ofrep_json()},
                      headers={"If-None-Match": response.headers["ETag"], **SDK_HEADERS}, timeout=10)
    assert again.status_code == 304
    SUMMARY["raw OFREP bulk (flag x context) compared"] = compared
    assert_no_mismatches(mismatches, compared)


# --- OpenFeature's JavaScript SDKs (Node) ----------------------------------------------

JS_DIR = Path(__file__).with_name("js")
JS_DEFAULTS = {"boolean": False, "string": "<code default>", "number": -1.5, "object": {"code": "default"}}
# Evaluations besides every flag with its own type: the errors an application can meet.
JS_PROBES = [("no_such_flag", "boolean"), ("checkout_color", "number")]


def _node_missing() -> str | None:
    """Why the JavaScript SDKs cannot run here, if they cannot."""
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError as e:
        return f"node cannot be run ({e})"
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        return f"node {version} is older than 20"
    for package in ("ofrep-provider", "ofrep-web-provider", "server-sdk", "web-sdk"):
        if not (JS_DIR / "node_modules" / "@openfeature" / package).is_dir():
            return f"@openfeature/{package} is not installed"
    return None


def js_expected(document, flag_keys, key: str, kind: str, want: dict[str, Any] | None) -> dict[str, Any]:
    """What an OpenFeature JS client must return for a native answer (None: unknown flag)."""
    failed = {"value": JS_DEFAULTS[kind], "reason": "ERROR"}
    if want is None:
        return {**failed, "errorCode": "FLAG_NOT_FOUND"}
    if needs_user_id(want):
        return {**failed, "errorCode": "TARGETING_KEY_MISSING"}
    if kind != {"integer": "number", "float": "number"}.get(ofrep_kind(document, key), ofrep_kind(document, key)):
        return {**failed, "errorCode": "TYPE_MISMATCH"}
    return {"value": want["value"], "variant": ofrep_variant(want), "reason": ofrep_reason(want), "errorCode": None}


@pytest.mark.parametrize("sdk", ["server", "web"])
def test_openfeature_js_sdks_match_native(sdk, server, native, document, flag_keys, contexts, tmp_path):
    """`server`: @openfeature/server-sdk + @openfeature/ofrep-provider, one request per
    evaluation; `web`: @openfeature/web-sdk + @openfeature/ofrep-web-provider under Node,
    one bulk request per context (cache disabled). Every answer must be the native one,
    with no error but FLAG_NOT_FOUND, TYPE_MISMATCH and TARGETING_KEY_MISSING exactly
    where expected."""
    why = _node_missing()
    if why:
        hint = "run `npm ci --prefix tests/interop/js` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"the OpenFeature JavaScript SDKs cannot run: {why}; {hint}")
        pytest.skip(f"OpenFeature JavaScript SDKs skipped: {why}; {hint}")
    kinds = {key: {"integer": "number", "float": "number"}.get(ofrep_kind(document, key), ofrep_kind(document, key))
             for key in flag_keys}
    evaluations = [{"key": key, "kind": kinds[key]} for key in flag_keys]
    evaluations += [{"key": key, "kind": kind} for key, kind in JS_PROBES]
    cases = {
        "contexts": [{"id": ctx.index, "context": ctx.ofrep_json()} for ctx in contexts],
        "evaluations": evaluations,
        "defaults": JS_DEFAULTS,
    }
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases))
    run = subprocess.run(["node", str(JS_DIR / "evaluate.mjs"), sdk, server.base, str(cases_file)],
                         capture_output=True, text=True, timeout=600, cwd=JS_DIR,
                         env={**os.environ, "FLAGPOLE_SDK_AUTH": SDK_AUTH})
    assert run.returncode == 0, f"node exited with {run.returncode}:\n{run.stderr[-3000:]}"
    results = json.loads(run.stdout)["results"]
    assert len(results) == len(contexts) * len(evaluations)

    mismatches: list[str] = []
    errors: Counter = Counter()
    by_index = {ctx.index: ctx for ctx in contexts}
    for got in results:
        key, kind, ctx = got["key"], got["kind"], by_index[got["context"]]
        want = native.get((key, ctx.index))
        expected = js_expected(document, flag_keys, key, kind, want)
        seen = {name: got[name] for name in expected}
        check(mismatches, f"{sdk} {key} as {kind} ctx#{ctx.index} {json.dumps(ctx.ofrep_json())}", seen, expected)
        if got["errorCode"]:
            errors[got["errorCode"]] += 1
    name = {"server": "OpenFeature JS server SDK + ofrep-provider",
            "web": "OpenFeature JS web SDK + ofrep-web-provider (Node)"}[sdk]
    SUMMARY[f"{name} (evaluation x context) compared"] = len(results)
    for code, count in sorted(errors.items()):
        SUMMARY[f"  {sdk} SDK: of which {code} (expected)"] = count
    assert len(contexts) >= 300 and errors["TARGETING_KEY_MISSING"] > 0, (len(contexts), errors)
    assert_no_mismatches(mismatches, len(results))


# OFREP error cases on the wire: (name, path, body, content type, status, body without
# errorDetails). The specification's bodies: evaluationFailure {key, errorCode,
# errorDetails} for 400, flagNotFound {key, errorCode: FLAG_NOT_FOUND, errorDetails} for
# 404, bulkEvaluationFailure {errorCode, errorDetails} for a failed bulk request.
SINGLE = "/ofrep/v1/evaluate/flags/"
BULK = "/ofrep/v1/evaluate/flags"
ERROR_CASES = [
    ("unknown flag", SINGLE + "no_such_flag", b'{"context": {"targetingKey": "user-1"}}', "application/json",
     404, {"key": "no_such_flag", "errorCode": "FLAG_NOT_FOUND"}),
    ("missing targeting key", SINGLE + "gradual_user", b'{"context": {"country": "NL"}}', "application/json",
     400, {"key": "gradual_user", "errorCode": "TARGETING_KEY_MISSING"}),
    ("malformed body", SINGLE + "always_on", b'{"context": {"targetingKey": ', "application/json",
     400, {"key": "always_on", "errorCode": "PARSE_ERROR"}),
    ("wrong content type", SINGLE + "always_on", b'{"context": {"targetingKey": "user-1"}}', "text/plain",
     400, {"key": "always_on", "errorCode": "PARSE_ERROR"}),
    ("no context", SINGLE + "always_on", b'{}', "application/json",
     400, {"key": "always_on", "errorCode": "INVALID_CONTEXT"}),
    ("context not an object", SINGLE + "always_on", b'{"context": "user-1"}', "application/json",
     400, {"key": "always_on", "errorCode": "INVALID_CONTEXT"}),
    ("bulk malformed body", BULK, b'not json', "application/json", 400, {"errorCode": "PARSE_ERROR"}),
    ("bulk wrong content type", BULK, b'{"context": {}}', "text/plain", 400, {"errorCode": "PARSE_ERROR"}),
    ("bulk no context", BULK, b'[]', "application/json", 400, {"errorCode": "INVALID_CONTEXT"}),
]


@pytest.mark.parametrize("name,path,body,content_type,status,expected", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_ofrep_error_responses(server, http, name, path, body, content_type, status, expected):
    response = http.post(server.url(path), data=body, headers={"Content-Type": content_type, **SDK_HEADERS},
                         timeout=10)
    assert response.status_code == status, response.text
    assert response.headers.get("Content-Type", "").startswith("application/json")
    got = response.json()
    details = got.pop("errorDetails", None)
    assert isinstance(details, str) and details, f"errorDetails should say what is wrong: {got}"
    assert got == expected


class _TruncatingSession(requests.Session):
    """Sends the provider's JSON with its last character cut off: a malformed body."""

    def post(self, url, **kwargs):
        body = json.dumps(kwargs.pop("json"))[:-1]
        headers = {**(kwargs.pop("headers", None) or {}), "Content-Type": "application/json"}
        return super().post(url, data=body, headers=headers, **kwargs)


def _provider(server, case: str) -> OFREPProvider:
    if case == "wrong content type":
        return OFREPProvider(base_url=server.base, headers_factory=lambda: {"Content-Type": "text/plain", **SDK_HEADERS})
    provider = OFREPProvider(base_url=server.base, headers_factory=lambda: dict(SDK_HEADERS))
    if case == "malformed body":
        provider.session = _TruncatingSession()
    return provider


PROVIDER_ERROR_CASES = [
    # (case, flag, getter, context, OpenFeature error code)
    ("unknown flag", "no_such_flag", "boolean", EvaluationContext("user-1"), ErrorCode.FLAG_NOT_FOUND),
    ("missing targeting key", "gradual_user", "boolean", EvaluationContext(attributes={"country": "NL"}),
     ErrorCode.TARGETING_KEY_MISSING),
    ("malformed body", "always_on", "boolean", EvaluationContext("user-1"), ErrorCode.PARSE_ERROR),
    ("wrong content type", "always_on", "boolean", EvaluationContext("user-1"), ErrorCode.PARSE_ERROR),
    ("wrong type asked", "checkout_color", "integer", EvaluationContext("user-1"), ErrorCode.TYPE_MISMATCH),
]


@pytest.mark.parametrize("case,key,kind,ctx,code", PROVIDER_ERROR_CASES, ids=[c[0] for c in PROVIDER_ERROR_CASES])
def test_ofrep_provider_error_codes(server, case, key, kind, ctx, code):
    provider = _provider(server, case)
    client = _openfeature_client(f"flagpole-interop-{case}", provider)
    default = CODE_DEFAULTS.get(kind, True)
    details = resolve(client, kind, key, default, ctx)
    assert (details.error_code, details.reason, details.value) == (code, Reason.ERROR, default), details
    assert details.error_message


# --- Unleash metrics --------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    status: int
    request_headers: dict[str, str]
    response_headers: Any  # case-insensitive, as requests gives them

    def header(self, name: str) -> str | None:
        """A request header, by name in any case."""
        return next((v for k, v in self.request_headers.items() if k.lower() == name.lower()), None)


@dataclass
class _Recorder:
    """One Unleash SDK's HTTP calls to Flagpole, with their answers (other clients in the
    process are told apart by their `unleash-appname` header)."""

    base: str
    app: str
    calls: list[_Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, method: str, original):
        def call(*args, **kwargs):
            response = original(*args, **kwargs)
            if response.url.startswith(self.base):
                recorded = _Call(method, response.url[len(self.base):].split("?")[0], response.status_code,
                                 dict(kwargs.get("headers") or {}), response.headers)
                if recorded.header("unleash-appname") == self.app:
                    with self.lock:
                        self.calls.append(recorded)
            return response

        return call

    def to(self, method: str, path: str) -> list[_Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path == path]


def _usage(http, server, flag: str) -> tuple[int, int, Counter]:
    response = http.get(server.url("/api/v1/usage"), params={"flag": flag, "environment": ENVIRONMENT}, timeout=10)
    assert response.status_code == 200, response.text
    yes = no = 0
    variants: Counter = Counter()
    for record in response.json()["usage"]:
        yes += record["yes"]
        no += record["no"]
        variants.update(record["variants"])
    return yes, no, variants


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.2)


def test_unleash_sdk_registers_polls_and_reports_metrics(server, http, monkeypatch, tmp_path):
    """Registration (202), the feature poll (200 with gzip and an ETag, then 304 on
    revalidation), and metrics: every evaluation the SDK made is posted (202) and counted
    by `GET /api/v1/usage`, exactly once."""
    app = f"{APP_NAME}-metrics"
    recorder = _Recorder(base=server.url("/api"), app=app)
    monkeypatch.setattr(requests, "post", recorder.wrap("POST", requests.post))
    monkeypatch.setattr(requests.Session, "get", recorder.wrap("GET", requests.Session.get))
    client = UnleashClient(
        url=server.url("/api"),
        app_name=app,
        environment=ENVIRONMENT,
        instance_id="interop-metrics",
        custom_headers={"Authorization": TOKEN},
        refresh_interval=1,
        metrics_interval=1,
        cache_directory=str(tmp_path),
        request_retries=0,
    )
    flag = "metrics_probe"
    try:
        client.initialize_client()
        assert [c.status for c in recorder.to("POST", "/client/register")] == [202]
        first = recorder.to("GET", "/client/features")[0]
        assert first.status == 200
        assert first.response_headers.get("Content-Encoding") == "gzip"
        etag = first.response_headers.get("ETag")
        assert etag

        yes = no = 0
        variants: Counter = Counter()
        for i in range(150):
            ctx = {"userId": f"metrics-user-{i}", "currentTime": "2025-06-01T00:00:00Z"}
            native_answer = http.post(server.url(f"/api/v1/environments/{ENVIRONMENT}/evaluate/{flag}"),
                                      json={**ctx, "appName": app, "environment": ENVIRONMENT},
                                      timeout=10).json()
            if i % 3 == 0:
                variant = client.get_variant(flag, ctx)
                assert variant["feature_enabled"] == native_answer["enabled"]
                assert variant["name"] == (native_answer["variant"] or "disabled")
                enabled = variant["feature_enabled"]
                variants[variant["name"]] += 1
            else:
                enabled = client.is_enabled(flag, ctx)
                assert enabled == native_answer["enabled"]
            yes += enabled
            no += not enabled
        assert yes and no and len(variants) == 3, (yes, no, variants)

        # The SDK posts its counts every second; they must all arrive, and no more.
        _wait_for(lambda: sum(_usage(http, server, flag)[:2]) >= yes + no, METRICS_DEADLINE_SECONDS,
                  f"the SDK's metrics for {yes + no} evaluations of {flag}")
        assert _usage(http, server, flag) == (yes, no, variants)
        posts = [c.status for c in recorder.to("POST", "/client/metrics")]
        assert posts and set(posts) == {202}, posts
        # The feature poll (every second) revalidates with the ETag: 304 while nothing changed.
        _wait_for(lambda: len(recorder.to("GET", "/client/features")) > 1, 10, "a second poll of /api/client/features")
        again = recorder.to("GET", "/client/features")[1]
        assert (again.header("If-None-Match"), again.status) == (etag, 304)
        SUMMARY["Unleash metrics: evaluations counted by /api/v1/usage"] = yes + no
        SUMMARY["Unleash metrics: posts answered 202"] = len(posts)
    finally:
        client.destroy()
    # Evaluations after the last post reach the server with destroy()'s final flush only;
    # there were none, so the counts are unchanged.
    assert _usage(http, server, flag) == (yes, no, variants)


# --- credentials --------------------------------------------------------------------------


def test_unleash_sdk_with_a_wrong_token_reports_unauthorized(server, caplog, tmp_path):
    """A client token Flagpole does not know: the SDK's fetch is answered 401 and the SDK
    logs it, instead of silently serving nothing."""
    client = UnleashClient(
        url=server.url("/api"),
        app_name=f"{APP_NAME}-wrong-token",
        environment=ENVIRONMENT,
        instance_id="interop-wrong-token",
        custom_headers={"Authorization": "default:production.not-a-real-token"},
        refresh_interval=60,
        disable_metrics=True,
        cache_directory=str(tmp_path),
        request_retries=0,
    )
    try:
        with caplog.at_level(logging.WARNING):
            client.initialize_client()
        messages = [r.getMessage() for r in caplog.records]
        assert any("401" in m for m in messages), messages
        assert not client.is_enabled("always_on", {"userId": "1"})
    finally:
        client.destroy()


def test_ofrep_provider_with_a_wrong_token_reports_an_error(server):
    provider = OFREPProvider(base_url=server.base,
                             headers_factory=lambda: {"Authorization": "Bearer flagpole_client_000000000000_" + "0" * 40})
    client = _openfeature_client("flagpole-interop-wrong-token", provider)
    details = client.get_boolean_details("always_on", False, EvaluationContext(targeting_key="user-1"))
    assert details.value is False
    assert details.error_code is not None, details
    provider.session.close()


def test_sdk_routes_refuse_requests_without_a_token(server):
    for path in ["/api/client/features", "/api/frontend"]:
        assert requests.get(server.url(path), timeout=10).status_code == 401
    response = requests.post(server.url("/ofrep/v1/evaluate/flags"), json={"context": {}}, timeout=10)
    assert response.status_code == 401
