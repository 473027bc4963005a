// The settings page: loads GET /api/settings, sends only the changed fields with PUT, and
// stores a Kalshi key with PUT /api/settings/kalshi-key (the key is never read back).
"use strict";
(() => {
  const { api, showMessage } = window.weatherTrader;
  const form = document.getElementById("settings-form");
  const message = document.getElementById("settings-message");
  const keyForm = document.getElementById("key-form");
  const keyMessage = document.getElementById("key-message");
  const MONEY = ["max_order_cost", "max_event_exposure", "max_total_exposure", "daily_loss_limit",
    "kelly_fraction", "min_edge"];
  let loaded = {};

  const fill = (settings) => {
    loaded = settings;
    for (const name of MONEY) form.elements[name].value = settings[name] ?? "";
    form.elements.trading_instants.value = (settings.trading_instants || []).join(", ");
    form.elements.notification_webhook.value = "";
    form.elements.notification_webhook.placeholder = settings.notification_webhook || "off";
    form.elements.kill_switch.checked = !!settings.kill_switch;
    form.elements.manual_approval.checked = !!settings.manual_approval;
    const enabled = new Set(settings.cities_enabled || []);
    for (const box of form.querySelectorAll('input[name="cities_enabled"]')) box.checked = enabled.has(box.value);
    form.dataset.loaded = "true";
  };

  const patch = () => {
    const out = {};
    for (const name of MONEY) {
      const value = form.elements[name].value.trim();
      if (value !== String(loaded[name] ?? "")) out[name] = value;
    }
    const instants = form.elements.trading_instants.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (JSON.stringify(instants) !== JSON.stringify(loaded.trading_instants || [])) out.trading_instants = instants;
    const webhook = form.elements.notification_webhook.value.trim();
    if (webhook) out.notification_webhook = webhook;
    for (const name of ["kill_switch", "manual_approval"]) {
      if (form.elements[name].checked !== !!loaded[name]) out[name] = form.elements[name].checked;
    }
    const cities = [...form.querySelectorAll('input[name="cities_enabled"]:checked')].map((b) => b.value).sort();
    if (JSON.stringify(cities) !== JSON.stringify([...(loaded.cities_enabled || [])].sort())) out.cities_enabled = cities;
    return out;
  };

  const loadAudit = async () => {
    const rows = await api("GET", "/api/settings/audit?limit=20");
    const body = document.querySelector("#audit tbody");
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      for (const v of [r.changed_at.slice(0, 16).replace("T", " "), r.username, r.field,
        JSON.stringify(r.old_value), JSON.stringify(r.new_value)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
  };

  const loadKey = async () => {
    const key = await api("GET", "/api/settings/kalshi-key");
    document.getElementById("kalshi-key-id").textContent = key.configured ? key.key_id : "not set";
    document.getElementById("kalshi-key-fingerprint").textContent = key.configured ? key.fingerprint : "-";
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = patch();
    if (!Object.keys(body).length) { showMessage(message, "nothing changed", true); return; }
    try {
      const result = await api("PUT", "/api/settings", body);
      fill(result.settings);
      showMessage(message, `saved: ${result.changed.join(", ") || "no change"}`, true);
      await loadAudit();
    } catch (err) {
      showMessage(message, err.message, false);
    }
  });

  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { key_id: keyForm.elements.key_id.value.trim(), private_key_pem: keyForm.elements.private_key_pem.value };
    try {
      await api("PUT", "/api/settings/kalshi-key", body);
      keyForm.reset();
      showMessage(keyMessage, "key stored (encrypted)", true);
      await loadKey();
    } catch (err) {
      showMessage(keyMessage, err.message, false);
    }
  });

  api("GET", "/api/settings").then((r) => fill(r.settings)).catch((err) => showMessage(message, err.message, false));
  loadKey().catch(() => {});
  loadAudit().catch(() => {});
})();
