// Flagpole's web UI script: sends every change to the JSON API (/api/v1) with the
// session cookie, shows the server's message at the field it names, and drives the
// editors (rows added from <template>s, typed inputs checked as you type, the diff
// before saving, the conflict after). No framework; no inline script anywhere.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
  const ROWS = "[data-rule],[data-condition],[data-share],[data-dep],[data-variant],[data-serve],[data-pair],form";
  const LIST_OPS = ["IN", "NOT_IN", "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS", "IN_CIDR"];
  const SEMVER = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

  // --- talking to the API ---------------------------------------------------------------
  async function api(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      return { ok: false, status: 0, body: { message: "The server cannot be reached: " + e.message } };
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = { message: text }; }
    }
    if (res.status === 401 && !location.pathname.startsWith("/login")) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    return { ok: res.ok, status: res.status, body: data || {} };
  }

  // --- errors at their fields -----------------------------------------------------------
  function clearErrors(root) {
    $$(".error", root).forEach((p) => { p.hidden = true; p.textContent = ""; });
    $$("[aria-invalid]", root).forEach((el) => el.removeAttribute("aria-invalid"));
  }
  function showError(p, text, input) {
    if (!p) return false;
    p.textContent = text;
    p.hidden = false;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (p.id) input.setAttribute("aria-describedby", p.id);
    }
    return true;
  }
  // Where a problem's path points in the editor: rules[i].conditions[j], variants[i], ...
  function placeFor(form, path) {
    let el = form;
    const steps = [["rules", "[data-rules] > [data-rule]"], ["conditions", "[data-conditions] > [data-condition]"],
      ["variants", "[data-variants] > [data-variant]"], ["depends_on", "[data-deps] > [data-dep]"],
      ["split", "[data-split] > [data-share]"]];
    let found = false;
    for (const [name, sel] of steps) {
      const m = path.match(new RegExp("(?:^|\\.)" + name + "\\[(\\d+)\\]"));
      if (m) {
        const rows = $$(sel, el).filter((r) => r.parentElement.closest(ROWS) === el || el.tagName === "FORM");
        if (rows[+m[1]]) { el = rows[+m[1]]; found = true; }
      }
    }
    if (!found && /\.default(\.|$)/.test(path)) {
      const d = $$("[data-serve]", form).find((s) => !s.closest("[data-rule]"));
      if (d) { el = d; found = true; }
    }
    if (!found) {
      const last = path.split(/[.[\]]/).filter(Boolean).pop();
      const f = form.querySelector(`[data-field="${last}"]`);
      if (f) return f;
      return null;
    }
    return el;
  }
  function showProblems(form, body) {
    const problems = body.problems || (body.field ? [{ path: body.field, message: body.message }] : []);
    let placed = 0;
    for (const p of problems) {
      const place = placeFor(form, p.path || "");
      const err = place && [...place.querySelectorAll(".error")].find((e) => e.closest(ROWS + ",[data-field]") === place) ;
      const input = place && place.querySelector("input,select,textarea");
      if (showError(err || (place && $(".error", place)), p.message, input)) placed++;
    }
    if (!placed || problems.length === 0) {
      const general = $("[data-form-error]", form);
      showError(general, body.message || "The change was refused.");
    }
    const first = $(".error:not([hidden])", form);
    if (first) first.scrollIntoView({ block: "center" });
  }

  // --- confirmation ---------------------------------------------------------------------
  function confirmAction(text, okLabel) {
    const dialog = $("#confirm");
    if (!dialog || !dialog.showModal) return Promise.resolve(window.confirm(text));
    $("#confirm-text").textContent = text;
    $("#confirm-ok").textContent = okLabel || "Confirm";
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }
  function flash(text) {
    let bar = $("#flash");
    if (!bar) {
      bar = document.createElement("p");
      bar.id = "flash";
      bar.setAttribute("role", "status");
      document.body.append(bar);
    }
    bar.textContent = text;
    bar.hidden = false;
    setTimeout(() => { bar.hidden = true; }, 6000);
  }

  // --- simple forms -----------------------------------------------------------------------
  function fieldValue(el) {
    if (el.type === "checkbox") return el.checked;
    const v = el.value.trim();
    if (el.hasAttribute("data-list")) {
      if (!v) return el.hasAttribute("data-optional") ? undefined : [];
      return v.split(",").map((s) => s.trim()).filter(Boolean);
    }
    if (el.type === "number") return v === "" ? undefined : Number(v);
    return v === "" ? undefined : v;
  }
  function readSimple(form) {
    const body = {};
    $$("[name]", form).forEach((el) => {
      if (el.closest("template") || el.disabled) return;
      const v = fieldValue(el);
      if (v !== undefined) body[el.name] = v;
    });
    return body;
  }
  function own(row, key) {
    return $$(`[data-k="${key}"]`, row).find((el) => el.closest(ROWS) === row);
  }
  function ownAll(row, sel) {
    return $$(sel, row).filter((el) => el.parentElement.closest(ROWS) === row);
  }
  function readConditions(list) {
    return ownAll(list.closest(ROWS), "[data-condition]").map((row) => {
      const op = own(row, "operator").value;
      const c = { attribute: own(row, "attribute").value.trim(), operator: op };
      if (LIST_OPS.includes(op)) c.values = own(row, "values").value.split("\n").map((s) => s.trim()).filter(Boolean);
      else c.value = own(row, "value").value.trim();
      if (own(row, "inverted").checked) c.inverted = true;
      if (own(row, "case_insensitive").checked) c.case_insensitive = true;
      return c;
    });
  }
  function typedValue(text, type) {
    const t = text.trim();
    if (t === "") return undefined;
    if (type === "string") return text;
    const v = JSON.parse(t);
    if (type === "number" && typeof v !== "number") throw new Error("must be a number");
    if (type === "boolean" && typeof v !== "boolean") throw new Error("must be true or false (or empty)");
    return v;
  }
  function flagType(form) {
    const select = $("[data-flag-type]", form);
    if (select) return select.value;
    const data = $("#flag-json");
    return data ? JSON.parse(data.textContent).type || "boolean" : "boolean";
  }
  function readVariants(form, base) {
    const type = flagType(form);
    return $$("[data-variants] > [data-variant]", form).map((row) => {
      const v = { name: own(row, "name").value.trim() };
      const value = typedValue(own(row, "value").value, type);
      if (value !== undefined) v.value = value;
      const old = (base || []).find((b) => b.name === v.name);
      if (old && old.payload_type) v.payload_type = old.payload_type;
      return v;
    });
  }
  // A release plan from its form: percentages, one wait, guards as JSON.
  function readPlan(form) {
    const s = readSimple(form);
    const percents = String(s.plan_milestones || "").split(",").map((p) => p.trim()).filter(Boolean).map(Number);
    if (!percents.length || percents.some((p) => !Number.isInteger(p))) {
      throw new Error("Milestones: whole percentages separated by commas, e.g. 10, 50, 100.");
    }
    const wait = s.plan_wait || 0;
    const body = { milestones: percents.map((percent, i) => ({ percent, wait_seconds: i + 1 < percents.length ? wait : 0 })), on_breach: s.on_breach };
    if (s.plan_guards) {
      try { body.guards = JSON.parse(s.plan_guards); } catch (e) { throw new Error("Guards: not valid JSON: " + e.message); }
      if (!Array.isArray(body.guards)) throw new Error("Guards: a JSON list, e.g. [{...}].");
    }
    return body;
  }
  const THEN = {
    reload: () => location.reload(),
    secret: (form, body) => {
      const box = $("#token-secret");
      $("#token-secret-text").textContent = body.secret;
      box.hidden = false;
      box.focus && box.scrollIntoView({ block: "center" });
      form.reset();
      setTimeout(() => {}, 0);
    },
  };
  async function submitForm(form) {
    clearErrors(form);
    const [method, url] = form.dataset.api.split(" ");
    let body;
    try {
      if (form.hasAttribute("data-segment-form")) {
        body = { description: (own(form, "description") || {}).value || undefined, conditions: readConditions($("[data-conditions]", form)) };
        const name = own(form, "name");
        if (name) body.name = name.value.trim();
        const project = own(form, "project");
        if (project) body.project = project.value;
        if (form.dataset.version) body.version = Number(form.dataset.version);
      } else if (form.hasAttribute("data-plan-form")) {
        body = readPlan(form);
      } else if (form.hasAttribute("data-flag-form")) {
        body = readSimple(form);
        $$("[data-variant] [name]", form).forEach((el) => delete body[el.name]);
        body.variants = readVariants(form, []);
      } else {
        body = readSimple(form);
        if (form.hasAttribute("data-token-form")) {
          if (body.kind === "admin") delete body.environment; else delete body.role;
        }
      }
    } catch (e) {
      showError($("[data-form-error]", form), e.message);
      return;
    }
    // A path's {field} is the form's field, taken out of the body (`PUT …/members/{user}`).
    const target = url.replace(/\{(\w+)\}/g, (_, k) => { const v = body[k]; delete body[k]; return encodeURIComponent(v === undefined ? "" : v); });
    const button = $("button[type=submit]", form);
    if (button) button.disabled = true;
    const res = await api(method, target, body);
    if (button) button.disabled = false;
    if (!res.ok) return showProblems(form, res.body);
    const then = form.dataset.then || "reload";
    if (then.startsWith("go:")) location.href = then.slice(3).replace("{key}", encodeURIComponent(body.key || ""));
    else if (then.startsWith("message:")) { form.reset(); flash(then.slice(8)); }
    else (THEN[then] || THEN.reload)(form, res.body);
  }

  // --- rows: add, remove, move ----------------------------------------------------------------
  function addRow(button) {
    const kind = button.dataset.add;
    const scope = button.parentElement;
    const list = $(`:scope > [data-list-of="${kind}"]`, scope);
    const tpl = $(`:scope > template[data-template="${kind}"]`, scope);
    if (!list || !tpl) return;
    const node = tpl.content.firstElementChild.cloneNode(true);
    list.append(node);
    wire(node);
    const first = $("input,select,textarea", node);
    if (first) first.focus();
    refresh(node);
  }
  function refresh(root) {
    $$("[data-operator]", root).forEach(operatorChanged);
    $$("[data-serve-mode]", root).forEach(serveModeChanged);
    $$("[data-split]", root).forEach((s) => updateBar(s.closest("[data-serve]")));
    $$("[data-rollout]", root).forEach(rolloutChanged);
  }

  // --- typed inputs --------------------------------------------------------------------------
  function checkValue(input) {
    const row = input.closest("[data-condition]");
    const err = row ? ownAll(row, ".error")[0] : null;
    const op = row ? own(row, "operator").value : "";
    const v = input.value.trim();
    let problem = "";
    if (v !== "") {
      if (op.startsWith("NUM_") && !Number.isFinite(Number(v))) problem = "Not a number.";
      else if (op.startsWith("DATE_") && isNaN(Date.parse(v))) problem = "Not a date; write e.g. 2026-01-31T00:00:00Z.";
      else if (op.startsWith("SEMVER_") && !SEMVER.test(v)) problem = "Not a semantic version (e.g. 2.3.0).";
      else if (op === "REGEX") { try { new RegExp(v); } catch (e) { problem = "Not a valid regular expression: " + e.message; } }
    }
    input.setCustomValidity(problem);
    if (problem) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    if (err) { err.textContent = problem; err.hidden = !problem; }
  }
  function checkTyped(input) {
    const row = input.closest("[data-variant]");
    const err = row && ownAll(row, ".error")[0];
    let problem = "";
    try { typedValue(input.value, flagType(input.closest("form"))); } catch (e) {
      problem = "Not a valid value for this flag type: " + e.message;
    }
    input.setCustomValidity(problem);
    if (problem) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    if (err) { err.textContent = problem; err.hidden = !problem; }
  }
  function operatorChanged(select) {
    const row = select.closest("[data-condition]");
    const op = select.value;
    const list = LIST_OPS.includes(op);
    $("[data-values]", row).hidden = !list;
    $("[data-value]", row).hidden = list;
    const input = own(row, "value");
    input.inputMode = op.startsWith("NUM_") ? "decimal" : "text";
    input.placeholder = op.startsWith("NUM_") ? "42" : op.startsWith("DATE_") ? "2026-01-31T00:00:00Z"
      : op.startsWith("SEMVER_") ? "2.3.0" : op === "REGEX" ? "^user-[0-9]+$" : "";
    checkValue(input);
  }
  function rolloutChanged(range) {
    const out = $("[data-rollout-out]", range.closest(".rollout"));
    if (out) out.textContent = range.value + "%";
    range.setAttribute("aria-valuetext", range.value + " percent");
  }
  function serveModeChanged(select) {
    const serve = select.closest("[data-serve]");
    ownAll(serve, "[data-show]").forEach((el) => { el.hidden = el.dataset.show !== select.value; });
    if (select.value === "split") {
      const list = $("[data-split]", serve);
      if (!list.children.length) {
        const add = $(':scope > [data-add="share"]', list.parentElement);
        addRow(add); addRow(add);
        const rows = ownAll(serve, "[data-share]");
        const selects = rows.map((r) => own(r, "variant"));
        if (selects[1] && selects[1].options.length > 1) selects[1].selectedIndex = 1;
        rows.forEach((r) => { own(r, "weight").value = 50; });
      }
      updateBar(serve);
    }
  }
  function updateBar(serve) {
    if (!serve) return;
    const rows = ownAll(serve, "[data-share]");
    const bar = $("[data-bar]", serve);
    const total = rows.reduce((s, r) => s + (Number(own(r, "weight").value) || 0), 0);
    bar.replaceChildren(...rows.map((r, i) => {
      const seg = document.createElement("span");
      const w = Number(own(r, "weight").value) || 0;
      seg.style.width = (total > 0 ? (w / Math.max(total, 100)) * 100 : 0) + "%";
      seg.className = "s" + (i % 6);
      seg.textContent = own(r, "variant").value + " " + w + "%";
      return seg;
    }));
    const out = $("[data-total]", serve);
    out.textContent = total === 100 ? "Total 100%" : `Total ${total}%: the weights must make 100.`;
    out.classList.toggle("bad", total !== 100);
  }

  // --- the flag editor ----------------------------------------------------------------------------
  function readServe(serve, base) {
    const mode = own(serve, "mode").value;
    if (mode === "variant") return { variant: own(serve, "variant").value };
    if (mode === "split") {
      const split = ownAll(serve, "[data-share]").map((r) => {
        const s = { variant: own(r, "variant").value, weight: Number(own(r, "weight").value) };
        const old = ((base && base.split) || []).find((b) => b.variant === s.variant);
        if (old) for (const k of ["value", "payload_type", "overrides"]) if (old[k] !== undefined) s[k] = old[k];
        return s;
      });
      const total = split.reduce((a, s) => a + s.weight, 0);
      if (total !== 100) throw Object.assign(new Error(`The split's weights make ${total}, not 100.`), { at: serve });
      const out = { split };
      if (base && base.stickiness) out.stickiness = base.stickiness;
      return out;
    }
    return undefined;
  }
  function readFlag(form, base) {
    const env = form.dataset.env;
    const flag = JSON.parse(JSON.stringify(base));
    for (const k of ["key", "version", "archived", "created_at", "updated_at"]) delete flag[k];
    const baseEnv = (base.environments || {})[env] || {};
    const rules = $$("[data-rules] > [data-rule]", form).map((li) => {
      const old = li.dataset.index !== undefined ? (baseEnv.rules || [])[+li.dataset.index] || {} : {};
      const r = Object.assign({}, old);
      const name = own(li, "name").value.trim();
      if (name) r.name = name; else delete r.name;
      r.conditions = readConditions($("[data-conditions]", li));
      if (!r.conditions.length) delete r.conditions;
      const segs = $$("[data-segment]", li).filter((c) => c.checked).map((c) => c.value);
      if (segs.length) r.segments = segs; else delete r.segments;
      const rollout = Number(own(li, "rollout").value);
      if (rollout < 100 || old.rollout !== undefined) r.rollout = rollout; else delete r.rollout;
      const st = own(li, "stickiness").value.trim();
      if (st) r.stickiness = st; else delete r.stickiness;
      const serve = readServe(ownAll(li, "[data-serve]")[0], old.serve);
      if (serve) r.serve = serve; else delete r.serve;
      return r;
    });
    const config = Object.assign({}, baseEnv);
    config.enabled = !!baseEnv.enabled;
    if (rules.length) config.rules = rules; else delete config.rules;
    const def = $$("[data-serve]", form).find((s) => !s.closest("[data-rule]"));
    const d = readServe(def, baseEnv.default);
    if (d) config.default = d; else delete config.default;
    const off = own(form, "off_variant");
    if (off && off.value) config.off_variant = off.value; else delete config.off_variant;
    const deps = $$("[data-deps] > [data-dep]", form).map((row) => {
      const dep = { flag: own(row, "flag").value };
      if (own(row, "enabled").value === "false") dep.enabled = false;
      const vs = fieldValue(own(row, "variants"));
      if (vs && vs.length) dep.variants = vs;
      return dep;
    });
    if (deps.length) config.depends_on = deps; else delete config.depends_on;
    flag.environments = Object.assign({}, flag.environments || {}, { [env]: config });
    const desc = own(form, "description").value.trim();
    if (desc) flag.description = desc; else delete flag.description;
    const tags = fieldValue(own(form, "tags"));
    if (tags.length) flag.tags = tags; else delete flag.tags;
    const variants = readVariants(form, base.variants);
    if (variants.length) flag.variants = variants; else delete flag.variants;
    return flag;
  }
  function comparable(flag) {
    const f = JSON.parse(JSON.stringify(flag));
    for (const k of ["key", "version", "archived", "created_at", "updated_at"]) delete f[k];
    return JSON.stringify(sortKeys(f), null, 2);
  }
  function sortKeys(v) {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
    return v;
  }
  function renderDiff(pre, a, b) {
    const x = a.split("\n"), y = b.split("\n");
    const n = x.length, m = y.length;
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
      L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = [];
    let i = 0, j = 0;
    const line = (tag, text) => { const el = document.createElement(tag); el.textContent = text + "\n"; out.push(el); };
    while (i < n && j < m) {
      if (x[i] === y[j]) { line("span", "  " + x[i]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) line("del", "- " + x[i++]);
      else line("ins", "+ " + y[j++]);
    }
    while (i < n) line("del", "- " + x[i++]);
    while (j < m) line("ins", "+ " + y[j++]);
    pre.replaceChildren(...out);
    return out.some((el) => el.tagName !== "SPAN");
  }
  async function reviewFlag(form) {
    clearErrors(form);
    const base = JSON.parse($("#flag-json").textContent);
    let flag;
    try { flag = readFlag(form, base); } catch (e) {
      const where = e.at ? ownAll(e.at, ".error")[0] : null;
      showError(where || $("[data-form-error]", form), e.message);
      return;
    }
    const dialog = $("#review");
    const changed = renderDiff($("#review-diff"), comparable(base), comparable(flag));
    $("#review-title").textContent = "Review the change";
    const protectedEnv = form.hasAttribute("data-protected");
    $("#review-note").textContent = !changed ? "Nothing changed." :
      `Saving this changes ${form.dataset.key} (version ${base.version})` + (protectedEnv ? ` in ${form.dataset.env}, a protected environment.` : ".");
    const preview = $("#review-preview");
    if (changed) showPreview(preview, form.dataset.key, Object.assign({}, flag, { version: base.version }));
    else preview.replaceChildren();
    const save = $("#review-save");
    save.hidden = !changed;
    save.textContent = "Save";
    save.onclick = async () => {
      save.disabled = true;
      const res = await api("PUT", `/api/v1/flags/${encodeURIComponent(form.dataset.key)}`, Object.assign({}, flag, { version: base.version }));
      save.disabled = false;
      if (res.ok) { dialog.close(); location.reload(); return; }
      if (res.body.code === "approval_required") { dialog.close(); return approvalRequired(form.dataset.key, { flag, version: base.version }, res.body.message); }
      if (res.status === 409) return showConflict(form, base, flag);
      dialog.close();
      showProblems(form, res.body);
    };
    dialog.showModal();
  }
  // The impact preview: the same save with ?preview=true, nothing written.
  async function showPreview(box, key, body) {
    box.replaceChildren(el("p", { class: "hint" }, "Checking the impact on sampled contexts…"));
    const res = await api("PUT", `/api/v1/flags/${encodeURIComponent(key)}?preview=true`, body);
    if (!res.ok) { box.replaceChildren(el("p", { class: "hint" }, "No impact preview: " + (res.body.message || "refused."))); return; }
    const reports = res.body.preview || [];
    if (!reports.length) { box.replaceChildren(el("p", { class: "hint" }, "This change does not change how the flag evaluates in any environment.")); return; }
    const parts = [el("h3", {}, "Impact on sampled contexts")];
    for (const r of reports) parts.push(await renderReport(r));
    box.replaceChildren(...parts);
  }
  async function renderReport(r) {
    const env = r.environment;
    if (!r.sampled) {
      const s = await api("GET", `/api/v1/environments/${encodeURIComponent(env)}/sampling`);
      if (s.ok && !s.body.enabled) {
        return el("p", { "data-preview": env, "data-sampling-off": "" }, `${env}: sampling is off, so there is no preview. `,
          el("a", { href: "/environments#sampling-" + encodeURIComponent(env) }, `Turn sampling on in ${env}`),
          " (admins; or PUT /api/v1/environments/" + env + "/sampling).");
      }
      return el("p", { "data-preview": env }, `${env}: no contexts sampled yet (nothing evaluated there since sampling was turned on).`);
    }
    const pct = ((100 * r.changed) / r.sampled).toFixed(1);
    const side = (o) => (o.enabled ? "on" : "off") + (o.variant ? ` (${o.variant})` : "");
    const variants = Object.entries(r.variants || {});
    return el("div", { "data-preview": env },
      el("p", {}, el("strong", {}, `${env}: ${r.changed} of ${r.sampled} sampled contexts change (${pct}%)`),
        ` — ${r.off_to_on} off→on, ${r.on_to_off} on→off.`),
      variants.length ? el("ul", { "aria-label": `Variant changes in ${env}` }, ...variants.map(([k, n]) => el("li", {}, `${k}: ${n}`))) : null,
      (r.examples || []).length ? el("details", {}, el("summary", {}, "Examples"),
        el("ul", {}, ...r.examples.map((e) => el("li", {}, el("code", {}, JSON.stringify(e.context)), ` ${side(e.before)} → ${side(e.after)}`)))) : null);
  }
  async function showConflict(form, base, mine) {
    const res = await api("GET", `/api/v1/flags/${encodeURIComponent(form.dataset.key)}`);
    const current = res.body;
    $("#review-title").textContent = "Not saved: the flag changed meanwhile";
    $("#review-note").textContent = `Someone saved version ${current.version} after you opened version ${base.version}. ` +
      "Their change is below. Reload to edit the current version (your edits are not kept).";
    renderDiff($("#review-diff"), comparable(base), comparable(current));
    const save = $("#review-save");
    save.textContent = "Reload";
    save.onclick = () => location.reload();
    form.dataset.conflict = JSON.stringify(mine);
  }

  // A change refused because an environment requires approval: review.js offers a change
  // request with the same proposal (`flag` and `version`, or `environment` and `enabled`).
  function approvalRequired(key, proposal, message) {
    document.dispatchEvent(new CustomEvent("flagpole:approval-required", { detail: { key, proposal, message } }));
  }

  // --- switches and buttons ----------------------------------------------------------------------
  async function toggle(button) {
    const on = button.getAttribute("aria-checked") === "true";
    const { key, env } = button.dataset;
    if (button.hasAttribute("data-protected")) {
      const ok = await confirmAction(`${env} is protected. This switches ${key} ${on ? "off" : "on"} in ${env} for everyone` +
        (on ? ": every SDK gets the off value within a second." : ": its rules decide again for every SDK."), on ? `Switch off in ${env}` : `Switch on in ${env}`);
      if (!ok) return;
    }
    const row = button.closest("[data-version]");
    const data = $("#flag-json");
    const version = row ? Number(row.dataset.version) : data ? JSON.parse(data.textContent).version : undefined;
    button.disabled = true;
    const res = await api("POST", `/api/v1/flags/${encodeURIComponent(key)}/environments/${encodeURIComponent(env)}/${on ? "disable" : "enable"}`, { version });
    button.disabled = false;
    if (!res.ok) {
      if (res.body.code === "approval_required") approvalRequired(key, { environment: env, enabled: !on, version }, res.body.message);
      else flash(res.status === 409 ? `${key} changed since this page was loaded; reload to see it.` : res.body.message || "Refused.");
      return;
    }
    if (data) { location.reload(); return; }
    button.setAttribute("aria-checked", String(!on));
    if (row) row.dataset.version = res.body.version;
    flash(`${key} is ${on ? "off" : "on"} in ${env}.`);
  }
  async function simple(button, method, url, body) {
    if (button.dataset.confirm && !(await confirmAction(button.dataset.confirm, button.textContent.trim()))) return;
    button.disabled = true;
    const res = await api(method, url, body);
    button.disabled = false;
    if (!res.ok) { flash(res.body.message || "Refused."); return; }
    location.reload();
  }

  // --- try it --------------------------------------------------------------------------------------
  const RECENT = "flagpole.recent-contexts";
  function recent() { try { return JSON.parse(localStorage.getItem(RECENT)) || []; } catch { return []; } }
  function fillRecent(form) {
    const select = $("[data-recent]", form);
    select.replaceChildren(select.options[0], ...recent().map((c) => {
      const o = document.createElement("option"); o.value = c; o.textContent = c.length > 80 ? c.slice(0, 77) + "..." : c; return o;
    }));
  }
  function pairsFromJson(form) {
    const area = $("[data-context]", form);
    const err = $("[data-json-error]", form);
    let ctx;
    try { ctx = JSON.parse(area.value || "{}"); } catch (e) {
      err.textContent = "Not valid JSON: " + e.message; err.hidden = false; area.setAttribute("aria-invalid", "true"); return;
    }
    err.hidden = true; area.removeAttribute("aria-invalid");
    if (!ctx || typeof ctx !== "object" || Array.isArray(ctx)) { err.textContent = "The context must be a JSON object."; err.hidden = false; return; }
    const flat = Object.assign({}, ctx, ctx.properties || {});
    delete flat.properties;
    const list = $("[data-pairs]", form);
    list.replaceChildren();
    const add = $(':scope > [data-add="pair"]', list.parentElement);
    for (const [k, v] of Object.entries(flat)) {
      if (typeof v === "object") continue;
      addRow(add);
      const row = list.lastElementChild;
      own(row, "key").value = k; own(row, "value").value = String(v);
    }
  }
  const TOP = ["userId", "sessionId", "remoteAddress", "appName", "environment", "currentTime", "targetingKey"];
  function jsonFromPairs(form) {
    const ctx = {};
    $$("[data-pair]", form).forEach((row) => {
      const k = own(row, "key").value.trim(); const v = own(row, "value").value;
      if (!k) return;
      if (TOP.includes(k)) ctx[k] = v; else (ctx.properties = ctx.properties || {})[k] = v;
    });
    $("[data-context]", form).value = JSON.stringify(ctx, null, 2);
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    e.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (typeof c === "object" ? c : String(c))));
    return e;
  }
  function yesNo(ok) { return el("span", { class: ok ? "yes" : "no" }, ok ? "✓ matched" : "✗ no match"); }
  function renderTrace(t) {
    const parts = [];
    parts.push(el("li", {}, "Kill switch: ", el("strong", {}, t.enabled ? "on" : "off"), t.unusable ? " (the flag is unusable: a rule Unleash would refuse)" : ""));
    for (const d of t.dependencies || []) {
      parts.push(el("li", {}, `Depends on ${d.flag} being ${d.required_enabled ? "on" : "off"}` +
        (d.required_variants.length ? ` serving ${d.required_variants.join(" or ")}` : "") +
        `: it is ${d.enabled === null ? "missing" : d.enabled ? "on" : "off"}` + (d.variant ? ` (${d.variant})` : "") + " ", yesNo(d.holds)));
    }
    for (const r of t.rules || []) {
      const conds = el("ul", {}, ...r.conditions.map((c) => el("li", {},
        c.segment ? `[segment ${c.segment}] ` : "", el("code", {}, c.attribute), ` ${c.inverted ? "NOT " : ""}${c.operator} `,
        el("code", {}, c.values.join(", ")), " — context has ", el("code", {}, c.context_value === null ? "nothing" : c.context_value), " ", yesNo(c.matched))));
      const ro = r.rollout ? el("p", {}, `Rollout ${r.rollout.percentage}% by ${r.rollout.stickiness}` +
        (r.rollout.stickiness_value !== null ? ` (${r.rollout.stickiness_value})` : "") +
        `: bucket ${r.rollout.bucket === null ? "none (attribute missing)" : r.rollout.bucket} of 100, threshold ${r.rollout.percentage} `, yesNo(r.rollout.included)) : null;
      parts.push(el("li", { class: r.matched ? "decided" : "" }, el("strong", {}, `Rule ${r.index + 1}${r.name ? " (" + r.name + ")" : ""}`),
        r.never ? " never matches" : "", " ", yesNo(r.matched), conds, ro));
    }
    if (t.serve) {
      const s = t.serve;
      const split = s.split ? el("p", {}, `Split by ${s.split.stickiness}` + (s.split.stickiness_value ? ` (${s.split.stickiness_value})` : "") +
        (s.split.pinned_by ? `: pinned by the override ${s.split.pinned_by}` : `: bucket ${s.split.bucket} of ${s.split.total}`) + "; ranges " +
        s.split.ranges.map((r) => `${r.variant} ${r.from}–${r.to}`).join(", ")) : null;
      parts.push(el("li", {}, `Served ${s.variant} from the ${s.from}`, split));
    }
    return el("ol", { class: "trace" }, ...parts);
  }
  function renderResult(e) {
    return el("article", { class: "card result" },
      el("h3", {}, e.flag),
      el("dl", {},
        el("dt", {}, "Value"), el("dd", {}, el("code", {}, JSON.stringify(e.value))),
        el("dt", {}, "Variant"), el("dd", {}, e.variant || "none"),
        el("dt", {}, "Reason"), el("dd", {}, e.reason + (e.rule ? ` (rule ${e.rule.index + 1}${e.rule.name ? ": " + e.rule.name : ""})` : ""))),
      e.trace ? el("details", { open: "" }, el("summary", {}, "Explain"), renderTrace(e.trace)) : null);
  }
  async function tryIt(form) {
    clearErrors(form);
    const area = $("[data-context]", form);
    let ctx;
    try { ctx = JSON.parse(area.value || "{}"); } catch (e) { return showError($("[data-json-error]", form), "Not valid JSON: " + e.message, area); }
    const env = own(form, "env").value, flag = own(form, "flag").value;
    const url = `/api/v1/environments/${encodeURIComponent(env)}/evaluate` + (flag ? "/" + encodeURIComponent(flag) : "") + "?explain=true";
    const res = await api("POST", url, ctx);
    const out = $("#try-result");
    if (!res.ok) { showProblems(form, res.body); out.replaceChildren(); return; }
    const text = JSON.stringify(ctx);
    localStorage.setItem(RECENT, JSON.stringify([text, ...recent().filter((c) => c !== text)].slice(0, 10)));
    fillRecent(form);
    const results = res.body.flags || [res.body];
    out.replaceChildren(el("h2", {}, `Result in ${env}`), ...results.map(renderResult));
  }

  // --- wiring ------------------------------------------------------------------------------------------
  function wire(root) {
    $$("[data-operator]", root).forEach((s) => s.addEventListener("change", () => operatorChanged(s)));
    $$("[data-checked]", root).forEach((i) => i.addEventListener("input", () => checkValue(i)));
    $$("[data-typed]", root).forEach((i) => i.addEventListener("input", () => checkTyped(i)));
    $$("[data-rollout]", root).forEach((r) => r.addEventListener("input", () => rolloutChanged(r)));
    $$("[data-serve-mode]", root).forEach((s) => s.addEventListener("change", () => serveModeChanged(s)));
  }
  document.addEventListener("click", (ev) => {
    const t = ev.target.closest("button");
    if (!t || t.disabled) return;
    if (t.hasAttribute("data-add")) addRow(t);
    else if (t.hasAttribute("data-remove")) {
      const row = t.closest(ROWS.replace(",form", ""));
      const serve = t.closest("[data-serve]");
      if (row) { const next = row.nextElementSibling || row.previousElementSibling; row.remove(); if (next) ($("button,input", next) || next).focus(); }
      if (serve) updateBar(serve);
    } else if (t.hasAttribute("data-move")) {
      const li = t.closest("[data-rule]");
      const other = t.dataset.move === "-1" ? li.previousElementSibling : li.nextElementSibling;
      if (other) { t.dataset.move === "-1" ? other.before(li) : other.after(li); t.focus(); }
    } else if (t.hasAttribute("data-toggle")) toggle(t);
    else if (t.hasAttribute("data-post")) simple(t, "POST", t.dataset.post, t.dataset.body ? JSON.parse(t.dataset.body) : undefined);
    else if (t.hasAttribute("data-delete")) simple(t, "DELETE", t.dataset.delete);
    else if (t.hasAttribute("data-patch")) {
      const on = t.getAttribute("aria-checked") === "true";
      simple(t, t.dataset.method || "PATCH", t.dataset.patch, { [t.dataset.fieldName]: !on });
    } else if (t.hasAttribute("data-logout")) {
      api("POST", "/api/v1/auth/logout").then(() => { location.href = "/login"; });
    } else if (t.hasAttribute("data-close")) t.closest("dialog").close();
  });
  document.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.matches("[data-patch-select]")) {
      confirmAction(`Change ${t.getAttribute("aria-label")} to ${t.value}?`).then((ok) => {
        if (ok) simple(t, t.dataset.method || "PATCH", t.dataset.patchSelect, { [t.dataset.fieldName]: t.value });
        else location.reload();
      });
    }
    if (t.matches("[data-project-switch]")) t.form.requestSubmit();
    if (t.matches("[data-flag-type]")) $$("[data-typed]", t.form).forEach(checkTyped);
    if (t.matches("[data-recent]") && t.value) { const f = t.closest("form"); $("[data-context]", f).value = JSON.stringify(JSON.parse(t.value), null, 2); pairsFromJson(f); }
    if (t.closest("[data-share]")) updateBar(t.closest("[data-serve]"));
  });
  document.addEventListener("input", (ev) => {
    const t = ev.target;
    if (t.closest("[data-share]")) updateBar(t.closest("[data-serve]"));
    if (t.matches("[data-context]")) pairsFromJson(t.closest("form"));
    if (t.closest("[data-pair]")) jsonFromPairs(t.closest("form"));
  });
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (form.method === "dialog" || form.getAttribute("method") === "get") return;
    if (form.hasAttribute("data-flag-editor")) { ev.preventDefault(); reviewFlag(form); }
    else if (form.hasAttribute("data-try")) { ev.preventDefault(); tryIt(form); }
    else if (form.dataset.api) { ev.preventDefault(); submitForm(form); }
  });
  wire(document);
  refresh(document);
  $$("[data-switch-button]").forEach((b) => { b.hidden = true; });
  const tryForm = $("[data-try]");
  if (tryForm) { fillRecent(tryForm); pairsFromJson(tryForm); }
})();
