// Plain status page: keeps a session alive and shows platform health.
// The charting app replaces this page once it is built into frontend/dist.
const HEARTBEAT_MS = 60_000;
const HEALTH_MS = 10_000;
const $ = (id) => document.getElementById(id);
let session = null;

async function initiate() {
  const res = await fetch("/utils/session/initiate");
  if (!res.ok) throw new Error(`session initiate failed (${res.status})`);
  session = await res.json();
  sessionStorage.setItem("session_token", session.session_token);
  showSession();
}

async function heartbeat() {
  if (!session) return initiate();
  const res = await fetch("/utils/session/heartbeat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session_token: session.session_token }),
  });
  if (res.status === 404 || res.status === 422) return initiate();
  if (!res.ok) throw new Error(`heartbeat failed (${res.status}), retrying`);
  session = await res.json();
  showSession();
}

function showSession() {
  const t = session.session_token;
  $("session-token").textContent = `${t.slice(0, 6)}…${t.slice(-4)}`;
  $("session-expiry").textContent = `${session.expires_in} s`;
  $("session-heartbeat").textContent = new Date().toLocaleTimeString();
}

async function refreshHealth() {
  const res = await fetch("/health");
  const h = await res.json();
  const status = $("health-status");
  status.textContent = h.status;
  status.className = h.status === "ok" ? "ok" : "bad";
  $("health-redis").textContent =
    `${h.redis.reachable ? "reachable" : "unreachable"} (${h.redis.embedded ? "embedded" : "external"})`;
  $("health-sessions").textContent = h.sessions.live ?? "–";
  $("health-janitor").textContent = h.janitor
    ? `${h.janitor.runs} sweeps, ${h.janitor.sessions_deleted} sessions expired`
    : "not reachable";
}

async function guarded(fn) {
  try { await fn(); $("message").textContent = ""; }
  catch (err) { $("message").textContent = err.message; }
}

const saved = sessionStorage.getItem("session_token");
if (saved) session = { session_token: saved, expires_in: 0 };
guarded(heartbeat);
guarded(refreshHealth);
setInterval(() => guarded(heartbeat), HEARTBEAT_MS);
setInterval(() => guarded(refreshHealth), HEALTH_MS);
