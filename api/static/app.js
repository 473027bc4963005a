// The dashboard's only script (the CSP allows scripts from 'self' only: nothing inline).
// - Live pages (<body data-live>) follow /ws?batch=true and, after new events, re-render their
//   [data-live-region] elements from a fresh copy of the page; #events gets each event.
// - Buttons and forms that change state call the JSON API with the session's CSRF token.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const detail = data && (data.detail || data.error || data.message);
    const text = typeof detail === "string" ? detail : JSON.stringify(detail || data);
    throw new Error(`${response.status}: ${text}`);
  }
  return data;
}

// --- live updates ------------------------------------------------------------------------------

function renderEvent(list, e) {
  const li = document.createElement("li");
  const meta = document.createElement("span");
  meta.className = "muted";
  meta.textContent = `#${e.id} ${new Date(e.created_at).toISOString().slice(11, 19)} `;
  const topic = document.createElement("b");
  topic.textContent = e.topic;
  li.append(meta, topic, ` ${e.city || ""} ${e.climate_date || ""}`);
  li.title = JSON.stringify(e.payload);
  list.prepend(li);
  while (list.children.length > 200) list.lastElementChild.remove();
}

let refreshTimer = null;
async function refreshRegions() {
  const regions = document.querySelectorAll("[data-live-region]");
  if (!regions.length) return;
  const response = await fetch(location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const region of regions) {
    const replacement = fresh.getElementById(region.id);
    if (replacement) region.replaceWith(document.importNode(replacement, true));
  }
  document.body.dataset.refreshedAt = new Date().toISOString();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refreshRegions().catch(() => {}), 250);
}

function followFeed() {
  const body = document.body;
  if (!("live" in body.dataset)) return;
  const status = document.getElementById("feed-status");
  const list = document.getElementById("events");
  let lastId = Number(body.dataset.lastEventId || 0);
  let delay = 1000;
  const connect = () => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    // batch=true: each frame is a JSON array of events (one frame per page, not per event).
    const ws = new WebSocket(`${proto}://${location.host}/ws?batch=true&last_event_id=${lastId}`);
    ws.onopen = () => { if (status) status.textContent = "live"; delay = 1000; };
    ws.onmessage = (msg) => {
      let fresh = false;
      for (const e of JSON.parse(msg.data)) {
        if (e.id <= lastId) continue;
        lastId = e.id;
        fresh = true;
        if (list) renderEvent(list, e);
      }
      body.dataset.lastEventId = String(lastId);
      if (fresh) scheduleRefresh();
    };
    ws.onclose = () => {
      if (status) status.textContent = "reconnecting...";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  };
  connect();
}

// --- actions -----------------------------------------------------------------------------------

function showMessage(el, text, ok) {
  if (!el) return;
  el.textContent = text;
  el.className = ok ? "message ok" : "message error";
}

function wireActions() {
  // <button data-action="POST /api/proposals/3/approve" data-message="#id">: call, then refresh.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const [method, url] = button.dataset.action.split(" ");
    const message = document.querySelector(button.dataset.message || "#message");
    button.disabled = true;
    try {
      await api(method, url, {});
      showMessage(message, button.dataset.done || "done", true);
      await refreshRegions();
    } catch (err) {
      showMessage(message, err.message, false);
      button.disabled = false;
    }
  });
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await api("POST", "/api/auth/logout"); } finally { location.href = "/login"; }
    });
  }
}

followFeed();
wireActions();
window.weatherTrader = { api, refreshRegions, showMessage };
