"""The web UI in real headless Chromium, against the real `flagpole serve`.

Each scenario works through the pages as a person would, then checks the server's state
through the API (not only what the page shows). The run also writes screenshots of the
main pages at 1440 and 390 px to `docs/screenshots/` and runs axe-core (vendored in
`vendor/`) on each main page, failing on any serious or critical violation.

The scenarios run in order and build on each other (the flag created in the first is
edited, switched, rolled back and explained later).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ADMIN_PASSWORD, REPO

SHOTS = Path(os.environ.get("FLAGPOLE_SCREENSHOTS", REPO / "docs" / "screenshots"))
AXE = (Path(__file__).with_name("vendor") / "axe.min.js").read_text()
CLIENT_TOKEN = "default:production.ui-usage-token"
VIEWER_PASSWORD = "viewer-password-1"


# --- helpers -----------------------------------------------------------------------------


def wait(driver, condition, timeout=10, message=""):
    ignored = [WebDriverException]  # pages reload under the condition
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(lambda d: condition(d), message)


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def csss(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_page(driver, server, path):
    driver.get(server.url(path))
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def login(driver, server, name="admin", password=ADMIN_PASSWORD):
    driver.delete_all_cookies()
    open_page(driver, server, "/login?next=/")
    css(driver, "#f-name").send_keys(name)
    css(driver, "#f-password").send_keys(password)
    css(driver, "button[type=submit]").click()
    wait(driver, lambda d: d.current_url.rstrip("/") == server.base, message="login did not land on /")


def set_value(driver, element, value):
    """Sets an input's value as typing would (fires `input` and `change`)."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        element, value,
    )


def type_into(element, text):
    element.clear()
    element.send_keys(text)


def own(row, key):
    """The `[data-k=key]` control of a row (not one of a nested row)."""
    return row.parent.execute_script(
        "const row = arguments[0];"
        "return [...row.querySelectorAll('[data-k=\"' + arguments[1] + '\"]')].find(el => el.closest("
        "'[data-rule],[data-condition],[data-share],[data-dep],[data-variant],[data-serve],[data-pair],form') === row);",
        row, key,
    )


def save_flag(driver, expect_reload=True):
    old = css(driver, "#flag-json").text if expect_reload else None
    css(driver, "form[data-flag-editor] button[type=submit]").click()
    wait(driver, lambda d: css(d, "#review").get_attribute("open") is not None, message="no review dialog")
    assert csss(driver, "#review-diff ins") or csss(driver, "#review-diff del"), "the review shows no diff"
    css(driver, "#review-save").click()
    if expect_reload:
        wait(driver, lambda d: _reloaded(d, old), message="the page did not reload after saving")


def _reloaded(driver, old):
    try:
        return css(driver, "#flag-json").get_attribute("textContent") != old and css(driver, "#review").get_attribute("open") is None
    except Exception:
        return False


def confirm(driver, expect_text=None):
    wait(driver, lambda d: css(d, "#confirm").get_attribute("open") is not None, message="no confirmation dialog")
    text = css(driver, "#confirm-text").text
    if expect_text:
        assert expect_text in text, text
    css(driver, "#confirm-ok").click()
    return text


def flag(http, server, key):
    r = http.get(server.url(f"/api/v1/flags/{key}"))
    assert r.status_code == 200, r.text
    return r.json()


def shoot(driver, name):
    """Screenshots of the current page at 1440 and 390 px wide (the whole page height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        time.sleep(0.2)
        height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 3000)")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": max(height, 600)})
        time.sleep(0.2)
        driver.save_screenshot(str(SHOTS / f"{name}-{width}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def axe(driver, page):
    driver.execute_script(AXE)
    violations = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{page}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n.get('target') for n in v['nodes']][:3]}" for v in bad)
    return len(violations)


# --- setup -------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def data(server, http):
    """A string flag with a split, a segment, usage reported by an SDK, a viewer."""
    r = http.post(server.url("/api/v1/flags"), json={
        "key": "banner-color", "type": "string", "description": "Colour of the home page banner",
        "tags": ["web"],
        "variants": [{"name": "control", "value": "grey"}, {"name": "blue", "value": "blue"},
                     {"name": "green", "value": "green"}],
        "environments": {"development": {"enabled": True, "rules": [{"name": "experiment", "serve": {
            "split": [{"variant": "control", "weight": 50}, {"variant": "blue", "weight": 50}]}}]}},
    })
    assert r.status_code == 201, r.text
    r = http.post(server.url("/api/v1/segments"), json={
        "name": "beta-testers", "description": "People who asked for early features",
        "conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@beta.example.com"]}]})
    assert r.status_code == 201, r.text
    r = http.post(server.url("/api/v1/tokens"), json={
        "name": "usage", "kind": "client", "environment": "development", "secret": CLIENT_TOKEN})
    assert r.status_code == 201, r.text
    r = http.post(server.url("/api/v1/users"), json={"name": "vera", "password": VIEWER_PASSWORD, "role": "viewer"})
    assert r.status_code == 201, r.text
    now = datetime.now(timezone.utc)
    for hours in range(0, 30, 3):
        start = now - timedelta(hours=hours)
        report = {"appName": "web", "instanceId": "i-1", "bucket": {
            "start": start.isoformat(), "stop": (start + timedelta(minutes=1)).isoformat(),
            "toggles": {"banner-color": {"yes": 40 + hours, "no": 0, "variants": {"control": 20 + hours, "blue": 20}}}}}
        r = http.post(server.url("/api/client/metrics"), json=report, headers={"Authorization": CLIENT_TOKEN})
        assert r.status_code == 202, r.text


# --- scenarios ---------------------------------------------------------------------------


def test_login_redirects_and_lands_on_flags(server, browser):
    browser.delete_all_cookies()
    open_page(browser, server, "/tokens")
    assert "/login" in browser.current_url
    shoot(browser, "login")
    login(browser, server)
    assert "Flags" in css(browser, "h1").text


def test_create_boolean_flag_with_a_rule_and_find_it(server, browser, http):
    open_page(browser, server, "/new")
    type_into(css(browser, "#f-key"), "checkout")
    type_into(css(browser, "#f-description"), "The new checkout flow")
    type_into(css(browser, "#f-tags"), "checkout, web")
    css(browser, "form[data-flag-form] button[type=submit]").click()
    wait(browser, lambda d: "/flag/checkout" in d.current_url, message="not taken to the new flag")
    open_page(browser, server, "/flag/checkout?env=development")
    css(browser, '[data-add="rule"]').click()
    rule = csss(browser, "[data-rules] > [data-rule]")[-1]
    type_into(own(rule, "name"), "staff on pro plans")
    add = rule.find_element(By.CSS_SELECTOR, ':scope > [data-add="condition"]')
    add.click()
    add.click()
    first, second = rule.find_elements(By.CSS_SELECTOR, "[data-condition]")
    type_into(own(first, "attribute"), "email")
    Select(own(first, "operator")).select_by_value("STR_ENDS_WITH")
    type_into(own(first, "values"), "@ourco.com")
    type_into(own(second, "attribute"), "plan")
    Select(own(second, "operator")).select_by_value("IN")
    type_into(own(second, "values"), "pro\nenterprise")
    set_value(browser, own(rule, "rollout"), "30")
    assert rule.find_element(By.CSS_SELECTOR, "[data-rollout-out]").text == "30%"
    save_flag(browser)
    stored = flag(http, server, "checkout")
    rules = stored["environments"]["development"]["rules"]
    assert len(rules) == 1 and rules[0]["rollout"] == 30 and rules[0]["name"] == "staff on pro plans"
    assert rules[0]["conditions"] == [
        {"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]},
        {"attribute": "plan", "operator": "IN", "values": ["pro", "enterprise"]},
    ]
    assert stored["tags"] == ["checkout", "web"]
    open_page(browser, server, "/?q=checko")
    keys = [a.text for a in csss(browser, "table.flags a.key")]
    assert keys == ["checkout"]
    # The audit names the user, as for any API client.
    entries = http.get(server.url("/api/v1/audit?flag=checkout")).json()["entries"]
    assert {e["actor"] for e in entries} == {"user:admin"}


def test_a_regex_and_a_json_value_are_checked_as_you_type(server, browser):
    open_page(browser, server, "/flag/checkout?env=development")
    css(browser, '[data-add="rule"]').click()
    rule = csss(browser, "[data-rules] > [data-rule]")[-1]
    rule.find_element(By.CSS_SELECTOR, ':scope > [data-add="condition"]').click()
    cond = rule.find_element(By.CSS_SELECTOR, "[data-condition]")
    Select(own(cond, "operator")).select_by_value("REGEX")
    assert own(cond, "values").find_element(By.XPATH, "..").get_attribute("hidden") is not None
    value = own(cond, "value")
    type_into(value, "^(unclosed")
    assert value.get_attribute("aria-invalid") == "true"
    assert "regular expression" in cond.find_element(By.CSS_SELECTOR, ".error").text
    type_into(value, "^user-[0-9]+$")
    assert value.get_attribute("aria-invalid") is None
    open_page(browser, server, "/new")
    Select(css(browser, "#f-type")).select_by_value("json")
    css(browser, '[data-add="variant"]').click()
    row = css(browser, "[data-variant]")
    type_into(own(row, "value"), '{"a": ')
    assert own(row, "value").get_attribute("aria-invalid") == "true"
    type_into(own(row, "value"), '{"a": 1}')
    assert own(row, "value").get_attribute("aria-invalid") is None


def test_change_a_string_flags_split(server, browser, http):
    open_page(browser, server, "/flag/banner-color?env=development")
    rule = css(browser, "[data-rules] > [data-rule]")
    shares = rule.find_elements(By.CSS_SELECTOR, "[data-share]")
    type_into(own(shares[0], "weight"), "30")
    type_into(own(shares[1], "weight"), "60")
    assert "must make 100" in rule.find_element(By.CSS_SELECTOR, "[data-total]").text
    type_into(own(shares[1], "weight"), "70")
    assert rule.find_element(By.CSS_SELECTOR, "[data-total]").text == "Total 100%"
    save_flag(browser)
    split = flag(http, server, "banner-color")["environments"]["development"]["rules"][0]["serve"]["split"]
    assert split == [{"variant": "control", "weight": 30}, {"variant": "blue", "weight": 70}]


def test_switch_production_off_with_confirmation(server, browser, http):
    r = http.post(server.url("/api/v1/flags/checkout/environments/production/enable"))
    assert r.status_code == 200, r.text
    open_page(browser, server, "/")
    switch = css(browser, 'button[data-toggle][data-key="checkout"][data-env="production"]')
    assert switch.get_attribute("aria-checked") == "true"
    switch.click()
    text = confirm(browser, "production is protected")
    assert "switches checkout off" in text
    wait(browser, lambda d: css(d, 'button[data-key="checkout"][data-env="production"]').get_attribute("aria-checked") == "false")
    assert flag(http, server, "checkout")["environments"]["production"]["enabled"] is False


def test_history_shows_both_changes_and_rolls_one_back(server, browser, http):
    open_page(browser, server, "/history")
    text = css(browser, "main").text
    assert "flag.disabled checkout in production by user:admin" in text
    assert "flag.updated banner-color" in text
    Select(css(browser, 'select[name="environment"]')).select_by_value("production")
    css(browser, "form.filters button[type=submit]").click()
    wait(browser, lambda d: "environment=production" in d.current_url)
    assert "banner-color" not in css(browser, "ol.audit").text
    versions = http.get(server.url("/api/v1/flags/banner-color/versions")).json()["versions"]
    assert len(versions) == 2
    open_page(browser, server, f"/history/banner-color?from=1&to=2")
    assert csss(browser, "pre.diff ins"), "no diff between the versions"
    css(browser, 'button[data-post$="/rollback"]').click()
    confirm(browser, "Roll banner-color back to version 1")
    wait(browser, lambda d: "(current)" in d.page_source and "3 (current)" in css(d, "table").text)
    split = flag(http, server, "banner-color")["environments"]["development"]["rules"][0]["serve"]["split"]
    assert [s["weight"] for s in split] == [50, 50]
    audit = http.get(server.url("/api/v1/audit?flag=banner-color")).json()["entries"]
    assert audit[0]["actor"] == "user:admin" and "roll" in audit[0]["action"]


def _user_in_rollout(http, server):
    for i in range(200):
        ctx = {"userId": f"user-{i}", "properties": {"email": "ann@ourco.com", "plan": "pro"}}
        r = http.post(server.url("/api/v1/environments/development/evaluate/checkout?explain=true"), json=ctx)
        if r.json()["reason"] == "TARGETING_MATCH":
            return ctx, r.json()
    raise AssertionError("no user in the 30% rollout among 200")


def test_try_it_shows_the_rule_and_conditions_that_decided(server, browser, http):
    assert http.post(server.url("/api/v1/flags/checkout/environments/development/enable")).status_code == 200
    ctx, answer = _user_in_rollout(http, server)
    trace = answer["trace"]["rules"][0]
    assert trace["matched"] and [c["matched"] for c in trace["conditions"]] == [True, True]
    assert trace["rollout"]["bucket"] <= 30
    open_page(browser, server, "/try?flag=checkout&env=development")
    area = css(browser, "[data-context]")
    set_value(browser, area, json.dumps(ctx))
    assert len(csss(browser, "[data-pair]")) == 3
    css(browser, "form[data-try] button[type=submit]").click()
    wait(browser, lambda d: "Rule 1" in css(d, "#try-result").text, message="no result")
    result = css(browser, "#try-result").text
    assert "TARGETING_MATCH" in result and "staff on pro plans" in result
    assert "email" in result and "ann@ourco.com" in result and "threshold 30" in result
    assert result.count("✓ matched") >= 3
    shoot(browser, "try-it")
    axe(browser, "try it")


def test_create_and_revoke_a_token(server, browser, http):
    open_page(browser, server, "/tokens")
    type_into(css(browser, "#f-name"), "ci-token")
    Select(css(browser, "#f-kind")).select_by_value("client")
    Select(css(browser, "#f-environment")).select_by_value("production")
    css(browser, "form[data-token-form] button[type=submit]").click()
    wait(browser, lambda d: css(d, "#token-secret").is_displayed(), message="no secret shown")
    secret = css(browser, "#token-secret-text").text
    assert len(secret) > 20
    features = http.get(server.url("/api/client/features"), headers={"Authorization": secret})
    assert features.status_code == 200
    open_page(browser, server, "/tokens")
    assert secret not in browser.page_source, "the secret is shown again"
    shoot(browser, "tokens")
    axe(browser, "tokens")
    css(browser, 'tr[data-token="ci-token"] button[data-delete]').click()
    confirm(browser, "Revoke the token ci-token")
    wait(browser, lambda d: "revoked" in css(d, 'tr[data-token="ci-token"]').text)
    tokens = http.get(server.url("/api/v1/tokens")).json()["tokens"]
    assert next(t for t in tokens if t["name"] == "ci-token")["revoked_at"] is not None
    refused = http.get(server.url("/api/client/features"), headers={"Authorization": secret})
    assert refused.status_code == 401


def test_a_viewer_cannot_save(server, browser, http):
    before = flag(http, server, "checkout")
    login(browser, server, "vera", VIEWER_PASSWORD)
    open_page(browser, server, "/flag/checkout?env=development")
    assert not css(browser, "form[data-flag-editor] button[type=submit]").is_enabled()
    assert not css(browser, 'button[data-toggle][data-env="development"]').is_enabled()
    assert "read-only" in css(browser, "main").text
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/v1/flags/checkout', {method: 'PUT', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({type: 'boolean', version: arguments[0]})}).then(r => done(r.status));",
        before["version"],
    )
    assert status == 403
    open_page(browser, server, "/tokens")
    assert "Only admins" in css(browser, "main").text
    assert flag(http, server, "checkout")["version"] == before["version"]
    login(browser, server)


def test_a_save_on_a_stale_version_shows_the_conflict(server, browser, http):
    open_page(browser, server, "/flag/checkout?env=development")
    current = flag(http, server, "checkout")
    body = {k: v for k, v in current.items() if k not in ("key", "archived", "created_at", "updated_at")}
    body["description"] = "Changed elsewhere meanwhile"
    assert http.put(server.url("/api/v1/flags/checkout"), json=body).status_code == 200
    rule = css(browser, "[data-rules] > [data-rule]")
    type_into(own(rule, "name"), "renamed in the browser")
    save_flag(browser, expect_reload=False)
    wait(browser, lambda d: "changed meanwhile" in css(d, "#review-title").text, message="no conflict shown")
    assert "Changed elsewhere meanwhile" in css(browser, "#review-diff").text
    stored = flag(http, server, "checkout")
    assert stored["description"] == "Changed elsewhere meanwhile"
    assert stored["environments"]["development"]["rules"][0]["name"] == "staff on pro plans"
    css(browser, "#review-save").click()  # "Reload"
    wait(browser, lambda d: css(d, "#review").get_attribute("open") is None)


def test_edit_a_segment_and_see_where_it_is_used(server, browser, http):
    open_page(browser, server, "/segments")
    form = css(browser, "form[data-segment-form]")
    form.find_element(By.CSS_SELECTOR, '[data-add="condition"]').click()
    cond = form.find_elements(By.CSS_SELECTOR, "[data-condition]")[-1]
    type_into(own(cond, "attribute"), "appVersion")
    Select(own(cond, "operator")).select_by_value("SEMVER_GTE")
    type_into(own(cond, "value"), "2.x")
    assert own(cond, "value").get_attribute("aria-invalid") == "true"
    type_into(own(cond, "value"), "2.3.0")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: http.get(server.url("/api/v1/segments/beta-testers")).json()["version"] == 2)
    conditions = http.get(server.url("/api/v1/segments/beta-testers")).json()["conditions"]
    assert conditions[-1] == {"attribute": "appVersion", "operator": "SEMVER_GTE", "value": "2.3.0"}
    wait(browser, lambda d: "Used by: no flag" in css(d, "#segment-beta-testers").text)


def test_the_save_dialog_previews_a_rollout_change_on_sampled_contexts(server, browser, http):
    r = http.post(server.url("/api/v1/flags"), json={
        "key": "new-search", "description": "The new search page",
        "environments": {"development": {"enabled": True, "rules": [{"name": "gradual", "rollout": 10}]}}})
    assert r.status_code == 201, r.text
    # Sampling is off: the dialog says so and points to where it is turned on.
    open_page(browser, server, "/flag/new-search?env=development")
    set_value(browser, css(browser, "[data-rules] > [data-rule] [data-rollout]"), "20")
    css(browser, "form[data-flag-editor] button[type=submit]").click()
    wait(browser, lambda d: csss(d, "#review-preview [data-sampling-off]"), message="no word on sampling being off")
    link = css(browser, "#review-preview a")
    assert "/environments#sampling-development" in link.get_attribute("href")
    css(browser, "#review [data-close]").click()
    # An admin turns sampling on in Environments.
    open_page(browser, server, "/environments")
    form = css(browser, 'form[data-sampling="development"]')
    checkbox = form.find_element(By.CSS_SELECTOR, "input[name=enabled]")
    if not checkbox.is_selected():
        checkbox.click()
    Select(form.find_element(By.CSS_SELECTOR, "select[name=mode]")).select_by_value("full")
    type_into(form.find_element(By.CSS_SELECTOR, "input[name=size]"), "500")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: http.get(server.url("/api/v1/environments/development/sampling")).json()["enabled"] is True,
         message="sampling was not turned on")
    assert http.get(server.url("/api/v1/environments/development/sampling")).json()["size"] == 500
    # SDK traffic fills the sample.
    for i in range(300):
        r = http.post(server.url("/api/v1/environments/development/evaluate/new-search"), json={"userId": f"user-{i}"})
        assert r.status_code == 200, r.text
    assert http.get(server.url("/api/v1/environments/development/sampling")).json()["sampled"] == 300
    before = flag(http, server, "new-search")["version"]
    open_page(browser, server, "/flag/new-search?env=development")
    set_value(browser, css(browser, "[data-rules] > [data-rule] [data-rollout]"), "60")
    old = css(browser, "#flag-json").get_attribute("textContent")
    css(browser, "form[data-flag-editor] button[type=submit]").click()
    wait(browser, lambda d: csss(d, '#review-preview [data-preview="development"] strong'), message="no preview in the dialog")
    text = css(browser, "#review-preview").text
    assert "of 300 sampled contexts change" in text, text
    assert "on→off" in text and "off→on" in text, text
    changed = int(text.split("development: ")[1].split(" of ")[0])
    assert 100 <= changed <= 200, text  # 10% → 60% flips about half
    assert flag(http, server, "new-search")["version"] == before, "the preview wrote the flag"
    css(browser, "#review-save").click()
    wait(browser, lambda d: _reloaded(d, old), message="the page did not reload after saving")
    assert flag(http, server, "new-search")["environments"]["development"]["rules"][0]["rollout"] == 60


def test_start_a_release_plan_pause_it_and_find_it_listed(server, browser, http):
    open_page(browser, server, "/flag/new-search?env=development")
    form = css(browser, "form[data-plan-form]")
    type_into(form.find_element(By.CSS_SELECTOR, "#f-plan_milestones"), "70, 85, 100")
    type_into(form.find_element(By.CSS_SELECTOR, "#f-plan_wait"), "3600")
    guards = [{"source": "impact", "metric": "errors", "per": "requests", "comparison": "gt", "threshold": 0.05}]
    type_into(form.find_element(By.CSS_SELECTOR, "#f-guards"), json.dumps(guards))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: csss(d, '[data-plan-status="running"]'), message="the plan is not shown running")
    plan = http.get(server.url("/api/v1/flags/new-search/environments/development/release-plan")).json()
    assert plan["status"] == "running" and plan["step"] == 0, plan
    assert [m["percent"] for m in plan["milestones"]] == [70, 85, 100]
    assert [m["wait_seconds"] for m in plan["milestones"]] == [3600, 3600, 0]
    assert plan["guards"] == guards
    assert flag(http, server, "new-search")["environments"]["development"]["rules"][0]["rollout"] == 70
    section = css(browser, "#release").text
    assert "milestone 1 of 3 (70%)" in section and "impact metric errors/requests" in section, section
    css(browser, "#release button[data-post$='/pause']").click()
    wait(browser, lambda d: csss(d, '[data-plan-status="paused"]'), message="the plan is not shown paused")
    assert http.get(server.url("/api/v1/flags/new-search/environments/development/release-plan")).json()["status"] == "paused"
    open_page(browser, server, "/release-plans")
    row = css(browser, f'tr[data-plan="{plan["id"]}"]')
    assert "new-search" in row.text and "paused" in row.text, row.text
    axe(browser, "release-plans")
    # A viewer sees the buttons disabled, and the API refuses the viewer.
    login(browser, server, "vera", VIEWER_PASSWORD)
    open_page(browser, server, "/flag/new-search?env=development")
    assert not css(browser, "#release button[data-post$='/resume']").is_enabled()
    r = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/v1/flags/new-search/environments/development/release-plan/resume', {method: 'POST', credentials: 'same-origin'})"
        ".then(r => done(r.status), e => done(String(e)));")
    assert r == 403, r
    assert http.get(server.url("/api/v1/flags/new-search/environments/development/release-plan")).json()["status"] == "paused"
    login(browser, server)


def test_screenshots_and_accessibility_of_the_main_pages(server, browser):
    pages = [
        ("flags", "/"),
        ("flag", "/flag/banner-color?env=development"),
        ("history", "/history"),
        ("segments", "/segments"),
        ("environments", "/environments"),
        ("users", "/users"),
        ("account", "/account"),
        ("new-flag", "/new"),
    ]
    for name, path in pages:
        open_page(browser, server, path)
        if name in ("flags", "flag", "history", "segments"):
            shoot(browser, name)
        axe(browser, name)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    for name, path in [("flags-dark", "/"), ("flag-dark", "/flag/checkout?env=development")]:
        open_page(browser, server, path)
        shoot(browser, name)
        axe(browser, name)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_pages_without_a_session_go_to_login(server):
    import requests

    for path in ["/", "/flag/checkout", "/history", "/try", "/release-plans", "/segments", "/tokens", "/users", "/account"]:
        r = requests.get(server.url(path), allow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        csp = requests.get(server.url("/login")).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
