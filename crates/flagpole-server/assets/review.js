// Flagpole's change-request script, beside ui.js: approving a change request (now, or
// at a local time sent as UTC), and, when a flag save is refused because the environment
// requires approval (409 approval_required, announced by ui.js as the
// "flagpole:approval-required" event), offering to open a change request with the same
// proposed flag. Every change is a JSON request to /api/v1 with the session cookie.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  async function api(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      let data = {};
      if (text) { try { data = JSON.parse(text); } catch { data = { message: text }; } }
      return { ok: res.ok, status: res.status, body: data };
    } catch (e) {
      return { ok: false, status: 0, body: { message: "The server cannot be reached: " + e.message } };
    }
  }
  function say(where, text) {
    if (!where) return;
    where.textContent = text;
    where.hidden = !text;
  }

  // --- approve, now or at a time -----------------------------------------------------------
  document.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form[data-approve]");
    if (!form) return;
    ev.preventDefault();
    const error = $("[data-form-error]", form);
    say(error, "");
    const at = form.elements.apply_at && form.elements.apply_at.value;
    let body;
    if (at) {
      const when = new Date(at);
      if (isNaN(when.getTime())) return say(error, "Not a time; pick a date and a time, or leave it empty to apply now.");
      body = { apply_at: when.toISOString() };
    }
    const button = $("button[type=submit]", form);
    button.disabled = true;
    const res = await api("POST", form.dataset.approve, body);
    button.disabled = false;
    if (res.ok) { location.reload(); return; }
    say(error, res.body.message || "The approval was refused.");
  });

  // --- a save refused for want of approval -------------------------------------------------------
  function offer(detail) {
    const { key, proposal, message } = detail;
    const env = (message || "").split(" requires approval")[0] || "This environment";
    let box = $("#approval-offer");
    if (!box) {
      box = document.createElement("dialog");
      box.id = "approval-offer";
      box.setAttribute("aria-labelledby", "approval-offer-title");
      box.innerHTML = '<form method="dialog"><h2 id="approval-offer-title">Not saved: approval required</h2>' +
        '<p data-offer-text></p><div class="field"><label for="approval-offer-description">Why (shown to the approver)</label>' +
        '<textarea id="approval-offer-description" rows="2" maxlength="2000"></textarea></div>' +
        '<p class="error" role="alert" data-offer-error hidden></p><div class="actions">' +
        '<button type="submit" value="cancel">Cancel</button>' +
        '<button type="button" class="primary" data-offer-open>Open a change request</button></div></form>';
      document.body.append(box);
    }
    $("[data-offer-text]", box).textContent = `${env} requires approval, so your change to ${key} was not saved. ` +
      "Open a change request with it instead: another user who may change " + env + " approves it, which applies it.";
    say($("[data-offer-error]", box), "");
    const open = $("[data-offer-open]", box);
    open.onclick = async () => {
      open.disabled = true;
      const description = $("#approval-offer-description", box).value.trim();
      const res = await api("POST", "/api/v1/change-requests",
        Object.assign({ key, description: description || undefined }, proposal));
      open.disabled = false;
      if (res.ok) { location.href = "/change-requests/" + res.body.id; return; }
      say($("[data-offer-error]", box), res.body.message || "The change request was refused.");
    };
    box.showModal();
  }
  document.addEventListener("flagpole:approval-required", (ev) => offer(ev.detail));
})();
