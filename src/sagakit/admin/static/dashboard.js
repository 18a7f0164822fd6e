// The dashboard's only script. Every piece of data comes from the admin API with the
// admin token the operator typed in; the token stays in this tab's sessionStorage.
"use strict";

const TOKEN_KEY = "sagakit-admin-token";
const POLL_MS = 2000;
const PAGE_SIZE = 50;
const TERMINAL = new Set(["completed", "compensated", "failed"]);

const $ = (selector) => document.querySelector(selector);
// What the application calls whom a saga is for; empty when it names nobody.
const SUBJECT = document.body.dataset.subjectLabel;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function say(text) {
  const message = $("#message");
  message.textContent = text || "";
  message.hidden = !text;
}

function showSignedIn(signedIn) {
  $("#login").hidden = signedIn;
  $("#signed-in").hidden = !signedIn;
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignedIn(false);
    throw new Error("The admin token was refused; sign in again.");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const detail = body.detail && body.detail.message ? body.detail.message : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return response;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

// The step, and what it waits for: an event, or the time of its next attempt.
function waitingStep(saga) {
  if (saga.waiting_for) return `${saga.step} (awaits ${saga.waiting_for} until ${when(saga.waiting_until)})`;
  if (saga.waiting_until) return `${saga.step} (retry ${when(saga.waiting_until)})`;
  return saga.step;
}

function when(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; }

// ---- the list page ---------------------------------------------------------------

let offset = 0;

function filterQuery() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("#filters"))) {
    if (value) params.set(name, value);
  }
  params.set("limit", PAGE_SIZE);
  params.set("offset", offset);
  return params;
}

async function refreshCounts() {
  const { counts, waiting } = await (await api("/admin/counts")).json();
  for (const card of document.querySelectorAll("#counts .count[data-status]")) {
    card.querySelector(".number").textContent = counts[card.dataset.status] || 0;
  }
  // Sagas backing off before retrying a step (a participant down), by that step.
  const steps = Object.entries(waiting || {});
  const card = $("#waiting");
  card.querySelector(".number").textContent = steps.reduce((sum, [, n]) => sum + n, 0);
  card.title = steps.map(([step, n]) => `${n} waiting on ${step}`).join(", ");
}

async function refreshList() {
  const { items, total } = await (await api(`/admin/sagas?${filterQuery()}`)).json();
  const body = $("#sagas tbody");
  body.replaceChildren();
  for (const saga of items) {
    const row = body.insertRow();
    row.dataset.sagaId = saga.id;
    row.dataset.status = saga.status;
    const link = document.createElement("a");
    link.href = `/dashboard/sagas/${encodeURIComponent(saga.id)}`;
    link.textContent = saga.id.slice(0, 8);
    row.insertCell().append(link);
    const waiting = saga.waiting_until ? " · waiting" : "";
    cell(row, saga.status + waiting, `status status-${saga.status}`);
    if (SUBJECT) cell(row, saga.subject);
    cell(row, waitingStep(saga));
    const failure = saga.compensation_failure || saga.failure;
    cell(row, failure ? `${failure.step}: ${failure.code}` : "", "error");
    cell(row, when(saga.created_at));
  }
  const last = Math.min(offset + items.length, total);
  $("#page-info").textContent = total ? `${offset + 1}–${last} of ${total}` : "no sagas";
  $("#previous").disabled = offset === 0;
  $("#next").disabled = last >= total;
}

function startIndex() {
  const query = new URLSearchParams(location.search);
  if (query.get("status")) $("#filters [name=status]").value = query.get("status");
  if (query.get("waiting")) $("#filters [name=waiting]").checked = true;
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    window.refresh();
  });
  $("#previous").addEventListener("click", () => { offset = Math.max(offset - PAGE_SIZE, 0); window.refresh(); });
  $("#next").addEventListener("click", () => { offset += PAGE_SIZE; window.refresh(); });
  return () => Promise.all([refreshCounts(), refreshList()]);
}

// ---- the saga page ---------------------------------------------------------------

function fact(list, name, value) {
  if (value == null || value === "") return;
  const term = document.createElement("dt");
  term.textContent = name;
  const description = document.createElement("dd");
  description.textContent = value;
  list.append(term, description);
}

function describeFailure(failure) {
  return failure ? `${failure.step} (${failure.direction}): ${failure.code}, ${failure.error}` : null;
}

async function refreshSaga(sagaId) {
  const path = `/admin/sagas/${encodeURIComponent(sagaId)}`;
  const saga = await (await api(path)).json();
  const status = $("#status");
  status.textContent = saga.status;
  status.className = `badge status-${saga.status}`;
  document.body.dataset.status = saga.status;
  const facts = $("#facts");
  facts.replaceChildren();
  fact(facts, "Definition", `${saga.name} v${saga.version}`);
  if (SUBJECT) fact(facts, SUBJECT, saga.subject);
  fact(facts, "Created", new Date(saga.created_at).toLocaleString());
  fact(facts, "Why it stopped", describeFailure(saga.failure));
  fact(facts, "Compensation that gave up", describeFailure(saga.compensation_failure));
  if (saga.waiting_for) {
    const until = new Date(saga.waiting_until).toLocaleString();
    fact(facts, "Waiting", `for the event ${saga.waiting_for} until ${until}, ${saga.step} done`);
  } else if (saga.waiting_until) {
    const retry = new Date(saga.waiting_until).toLocaleString();
    fact(facts, "Waiting", `to retry ${saga.step} at ${retry} (its last attempt failed)`);
  }
  $("#retry").disabled = saga.status !== "failed";
  $("#abort").disabled = saga.status !== "running";

  const svg = await (await api(`${path}/timeline.svg`)).text();
  $("#timeline").innerHTML = svg;  // server-rendered, every text escaped there

  const body = $("#attempts tbody");
  body.replaceChildren();
  for (const attempt of saga.attempts) {
    const row = body.insertRow();
    row.className = `direction-${attempt.direction}`;
    cell(row, attempt.step);
    cell(row, attempt.direction);
    cell(row, attempt.attempt);
    cell(row, attempt.status, `status-${attempt.status}`);
    cell(row, when(attempt.started_at));
    cell(row, attempt.duration_seconds == null ? "" : `${(attempt.duration_seconds * 1000).toFixed(0)} ms`);
    cell(row, attempt.error, "error");
    cell(row, attempt.idempotency_key);
  }
  const events = $("#events");
  events.replaceChildren();
  for (const event of saga.events) {
    const item = document.createElement("li");
    item.textContent = `${new Date(event.at).toLocaleString()}: ${event.kind} by ${event.actor}` +
      (event.detail ? ` (${event.detail})` : "");
    events.append(item);
  }
}

async function act(sagaId, action, body) {
  const options = { method: "POST", headers: { "X-Actor": "dashboard" } };
  if (body) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    await api(`/admin/sagas/${encodeURIComponent(sagaId)}/${action}`, options);
    say(`${action} requested`);
  } catch (error) {
    say(error.message);
  }
  await refreshSaga(sagaId);
}

function startSaga() {
  const sagaId = document.body.dataset.sagaId;
  $("#retry").addEventListener("click", () => act(sagaId, "retry"));
  $("#abort").addEventListener("click", () => {
    const reason = prompt("Why abort this saga?", "aborted by an operator");
    if (reason) act(sagaId, "abort", { reason });
  });
  return () => refreshSaga(sagaId);
}

// ---- start -----------------------------------------------------------------------

function main() {
  const refresh = document.body.dataset.page === "saga" ? startSaga() : startIndex();
  window.refresh = async () => {
    if (!token()) return;
    try {
      await refresh();
      if (!$("#message").textContent.includes("requested")) say("");
    } catch (error) {
      say(error.message);
    }
  };
  $("#login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token").value);
    $("#token").value = "";
    showSignedIn(true);
    say("");
    window.refresh();
  });
  $("#sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignedIn(false);
  });
  showSignedIn(Boolean(token()));
  if (!token()) say("Sign in with the admin token to see the sagas.");
  window.refresh();
  setInterval(window.refresh, POLL_MS);
}

main();
