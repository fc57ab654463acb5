// vendor-mock dashboard: polls the admin API and renders the journal, state and faults.
// Plain JS, no build step. Every piece of data is put in the page with textContent: request
// bodies and headers come from anyone who can reach the mock.
"use strict";

const POLL_MS = 1000;
const SHOWN = 200; // newest journal entries shown
const STATE_PAGE = 20; // records shown: the first page of GET /__admin/state, with every count
const TOKEN_KEY = "vendor-mock-admin-token";

const $ = (id) => document.getElementById(id);
// `signature` is null until the journal was drawn (and after an action, to force a redraw).
const state = { entries: [], selected: null, signature: null, token: null, vendors: [] };

// ----- admin API ---------------------------------------------------------------------------

function loadToken() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
  state.token = sessionStorage.getItem(TOKEN_KEY);
}

class Unauthorized extends Error {}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/__admin" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (response.status === 401) {
    $("token-form").hidden = false;
    throw new Unauthorized("the admin API wants a token");
  }
  $("token-form").hidden = true;
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((json && json.error) || response.status + " " + response.statusText);
  return json;
}

// ----- small DOM helpers -------------------------------------------------------------------

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch (_) {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

function time(at) {
  const t = new Date(at);
  return isNaN(t) ? at : t.toLocaleTimeString([], { hour12: false }) + "." + String(t.getMilliseconds()).padStart(3, "0");
}

// ----- journal -----------------------------------------------------------------------------

/// One line on why a request got its answer.
function summary(outcome) {
  const o = outcome || {};
  switch (o.kind) {
    case "created": return "created";
    case "bulk": return "bulk: " + o.created + " created, " + (o.failed || []).length + " failed";
    case "listed": return "listed " + o.count;
    case "duplicate": return "duplicate " + o.field;
    case "invalid": return "invalid: " + ((o.violations || [])[0] || {}).message;
    case "unauthorized": return "unauthorized: " + o.reason;
    case "forbidden": return "forbidden: " + o.reason;
    case "malformed": return "malformed: " + o.reason;
    case "unrouted": return "unrouted (nearest " + o.nearest + ")";
    case "method_not_allowed": return "method not allowed (" + (o.allowed || []).join(", ") + ")";
    case "fault": return "fault: " + (o.effect || {}).type;
    case "forced": return "forced: " + o.template;
    case "rate_limited": return "rate limited: " + o.limit + " per " + o.window_seconds + " s";
    case "state_full": return "state full: " + o.reason;
    default: return o.kind || "?";
  }
}

/// Every reason, in sentences, for the detail view.
function reasons(entry) {
  const o = entry.outcome || {};
  switch (o.kind) {
    case "created": return ["Created in " + o.collection + " with " + JSON.stringify(o.ids) + "."];
    case "bulk": return ["Created " + o.created + " entries."].concat((o.failed || []).map((f) => "Entry " + f.index + ": " + f.field + " `" + f.value + "` already exists."));
    case "listed": return ["Listed " + o.count + " item(s)."];
    case "duplicate": return [o.field + " `" + o.value + "` already exists (uniqueness rule " + o.rule + ")."];
    case "invalid": return (o.violations || []).map((v) => v.message + " (" + v.field + ")");
    case "unauthorized": case "forbidden": case "malformed": case "state_full": return [o.reason];
    case "too_large": return ["The body is larger than " + o.limit + " bytes."];
    case "timeout": return ["The body did not arrive in time."];
    case "unrouted": return ["No route has this path. Nearest: " + o.nearest];
    case "method_not_allowed": return ["This path takes " + (o.allowed || []).join(", ") + "."];
    case "fault": return ["An injected fault answered: " + JSON.stringify(o.effect)];
    case "forced": return ["The Prefer header (" + o.preference + ") picked the `" + o.template + "` answer; nothing was stored."];
    case "rate_limited": return ["Over the rate limit of " + o.limit + " requests per " + o.window_seconds + " s; retry after " + o.retry_after + " s."];
    default: return [JSON.stringify(o)];
  }
}

function journalQuery() {
  const params = new URLSearchParams({ limit: String(SHOWN) });
  const vendor = $("filter-vendor").value;
  const status = $("filter-status").value.trim();
  const outcome = $("filter-outcome").value.trim();
  if (vendor) params.set("vendor", vendor);
  if (status) params.set("status", status);
  if (outcome) params.set("outcome", outcome);
  return "/requests?" + params.toString();
}

function renderJournal(entries) {
  const signature = entries.map((e) => e.seq).join(",");
  if (signature === state.signature) return;
  state.signature = signature;
  state.entries = entries;
  const body = $("journal").querySelector("tbody");
  clear(body);
  for (const entry of entries.slice().reverse()) {
    const row = el("tr", undefined, "s" + Math.floor(entry.status / 100));
    row.dataset.seq = entry.seq;
    row.appendChild(el("td", entry.seq, "seq"));
    row.appendChild(el("td", time(entry.at), "time"));
    row.appendChild(el("td", entry.vendor || "—", "vendor"));
    row.appendChild(el("td", entry.method + " " + entry.path + (entry.query ? "?" + entry.query : ""), "request"));
    row.appendChild(el("td", entry.status === 0 ? "none" : entry.status, "status"));
    row.appendChild(el("td", summary(entry.outcome), "outcome"));
    row.appendChild(el("td", (entry.duration_us / 1000).toFixed(1), "ms"));
    if (entry.seq === state.selected) row.classList.add("selected");
    row.addEventListener("click", () => select(entry.seq));
    body.appendChild(row);
  }
  $("journal-empty").hidden = entries.length > 0;
  $("journal-count").textContent = entries.length ? "(" + entries.length + (entries.length === SHOWN ? "+" : "") + ")" : "";
  if (state.selected !== null && !entries.some((e) => e.seq === state.selected)) {
    state.selected = null;
    $("detail").hidden = true;
  }
}

function select(seq) {
  state.selected = seq;
  for (const row of $("journal").querySelectorAll("tbody tr")) {
    row.classList.toggle("selected", Number(row.dataset.seq) === seq);
  }
  const entry = state.entries.find((e) => e.seq === seq);
  if (!entry) return;
  $("detail").hidden = false;
  $("detail-seq").textContent = "#" + entry.seq;
  $("detail-line").textContent = entry.method + " " + entry.path + (entry.query ? "?" + entry.query : "") + " " + entry.version + (entry.operation ? "  →  " + entry.vendor + " " + entry.operation : "");
  const why = $("detail-why");
  clear(why);
  for (const reason of reasons(entry)) why.appendChild(el("li", reason));
  if (entry.connection_closed) why.appendChild(el("li", "The connection was closed after this answer: " + entry.connection_closed));
  $("detail-case").textContent = {
    raw: "(names in the case they were sent)",
    lowercase: "(HTTP/2: lowercase by protocol)",
    unavailable: "(original case unknown)",
    unrecorded: "(not recorded: the connection was closed after this answer)",
  }[entry.header_case] || "";
  const headers = $("detail-headers").querySelector("tbody");
  clear(headers);
  for (const [name, value] of entry.headers) {
    const row = el("tr");
    row.appendChild(el("td", name, "mono header-name"));
    row.appendChild(el("td", value, "mono"));
    headers.appendChild(row);
  }
  $("detail-body").textContent = entry.body ? pretty(entry.body) : "(empty)";
  if (entry.truncated && entry.truncated.length) {
    $("detail-body").textContent += "\n\n(cut by the journal: " + entry.truncated.join(", ") + "; the body had " + entry.body_bytes + " bytes)";
  }
  $("detail-status").textContent = entry.status === 0 ? "(connection broken, nothing sent)" : entry.status;
  $("detail-response").textContent = pretty(entry.response);
  $("detail-outcome").textContent = pretty(entry.outcome);
}

// ----- state and faults --------------------------------------------------------------------

function fillVendorSelect(select, vendors) {
  const chosen = select.value;
  const first = select.options[0];
  clear(select);
  select.appendChild(first);
  for (const v of vendors) {
    const option = el("option", v);
    option.setAttribute("value", v);
    select.appendChild(option);
  }
  select.value = chosen;
}

function renderState(vendors, counts) {
  const names = Object.keys(vendors);
  if (names.join() !== state.vendors.join()) {
    state.vendors = names;
    fillVendorSelect($("filter-vendor"), names);
    fillVendorSelect($("fault-vendor"), names);
  }
  const root = $("state");
  const openCollections = new Set(Array.from(root.querySelectorAll("details[open]"), (d) => d.dataset.key));
  clear(root);
  for (const name of names) {
    const collections = vendors[name] || {};
    const counted = (counts && counts[name]) || {};
    const total = Object.values(counted).reduce((n, count) => n + count, 0);
    const box = el("div", undefined, "vendor-state");
    box.dataset.vendor = name;
    box.appendChild(el("strong", name));
    box.appendChild(el("span", " " + total + (total === 1 ? " record" : " records"), "muted count"));
    const resetVendor = el("button", "reset " + name);
    resetVendor.type = "button";
    resetVendor.addEventListener("click", () => act(() => api("POST", "/reset", { vendor: name })));
    box.appendChild(document.createTextNode(" "));
    box.appendChild(resetVendor);
    for (const [collection, count] of Object.entries(counted)) {
      const records = collections[collection] || [];
      const details = el("details");
      details.dataset.key = name + "/" + collection;
      details.open = openCollections.has(details.dataset.key);
      const shown = records.length < count ? ", first " + records.length + " shown" : "";
      details.appendChild(el("summary", collection + " (" + count + shown + ")"));
      details.appendChild(el("pre", JSON.stringify(records, null, 2)));
      box.appendChild(details);
    }
    root.appendChild(box);
  }
}

function describeEffect(effect) {
  switch (effect.type) {
    case "status": return "status " + effect.status;
    case "latency": return "latency " + effect.ms + " ms" + (effect.jitter_ms ? " ± " + effect.jitter_ms : "");
    case "rate_limited": return "429, retry after " + effect.retry_after + " s";
    default: return effect.type;
  }
}

function renderFaults(faults) {
  const body = $("faults").querySelector("tbody");
  clear(body);
  for (const fault of faults) {
    const row = el("tr");
    row.appendChild(el("td", "#" + fault.id));
    row.appendChild(el("td", describeEffect(fault.effect), "effect"));
    const scope = [fault.vendor || "any vendor", fault.path, fault.credential && "credential " + fault.credential].filter(Boolean).join(", ");
    row.appendChild(el("td", scope));
    const when = [fault.times ? fault.times + " more" : "until cleared", fault.probability !== undefined ? "p=" + fault.probability : ""].filter(Boolean).join(", ");
    row.appendChild(el("td", when));
    const cell = el("td");
    const remove = el("button", "remove");
    remove.type = "button";
    remove.addEventListener("click", () => act(() => api("DELETE", "/faults/" + fault.id)));
    cell.appendChild(remove);
    row.appendChild(cell);
    body.appendChild(row);
  }
  $("faults-empty").hidden = faults.length > 0;
}

function faultFromForm() {
  const choice = $("fault-effect").value;
  let effect;
  if (choice.startsWith("status:")) effect = { type: "status", status: Number(choice.slice(7)) };
  else if (choice === "latency") effect = { type: "latency", ms: Number($("fault-ms").value || 0) };
  else effect = { type: choice };
  const fault = { effect };
  const vendor = $("fault-vendor").value;
  const times = $("fault-times").value;
  const probability = $("fault-probability").value;
  const credential = $("fault-credential").value.trim();
  const path = $("fault-path").value.trim();
  if (vendor) fault.vendor = vendor;
  if (times) fault.times = Number(times);
  if (probability) fault.probability = Number(probability);
  if (credential) fault.credential = credential;
  if (path) fault.path = path;
  return fault;
}

// ----- loop --------------------------------------------------------------------------------

async function refresh() {
  const [journal, snapshot, faults] = await Promise.all([api("GET", journalQuery()), api("GET", "/state?limit=" + STATE_PAGE), api("GET", "/faults")]);
  renderJournal(journal.requests);
  renderState(snapshot.vendors, snapshot.counts);
  renderFaults(faults.faults);
  $("status").textContent = "live · updated " + new Date().toLocaleTimeString([], { hour12: false });
}

async function poll() {
  try {
    await refresh();
  } catch (e) {
    $("status").textContent = e instanceof Unauthorized ? "token needed" : "cannot reach the mock: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}

/// Runs an admin action, then refreshes at once so the page shows its effect.
async function act(action) {
  $("fault-error").hidden = true;
  try {
    await action();
    state.signature = null;
    await refresh();
  } catch (e) {
    $("fault-error").textContent = e.message;
    $("fault-error").hidden = false;
  }
}

function start() {
  loadToken();
  $("reset-all").addEventListener("click", () => act(() => api("POST", "/reset")));
  $("clear-journal").addEventListener("click", () => act(() => api("DELETE", "/requests")));
  $("clear-faults").addEventListener("click", () => act(() => api("DELETE", "/faults")));
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api("POST", "/faults", faultFromForm()));
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    act(async () => {});
  });
  for (const id of ["filter-vendor", "filter-status", "filter-outcome"]) {
    $(id).addEventListener("change", () => act(async () => {}));
  }
  poll();
}

start();
