"""The classroom game's page: one HTML document with its own script and style, no file or
library fetched from anywhere (offline classrooms). It asks for a code, then shows the
teacher's view (join codes, who has submitted, play the round, events) or the team's (its
firm's dashboard, its touchpoints, the round's decision form), and everyone's leaderboard and
market chart; it asks the server (`sim.game.server`) for the state every few seconds."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CXM Lab: classroom game</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 1em; }
header { display: flex; justify-content: space-between; align-items: baseline; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border-bottom: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.error { color: #b00020; }
.ok { color: #1b5e20; }
fieldset { display: grid; grid-template-columns: repeat(4, auto); gap: 0.3em 1em; }
svg { width: 100%; max-width: 520px; height: 200px; border: 1px solid #ddd; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.legend span { margin-right: 1em; }
figure { margin: 0; }
figcaption { font-weight: bold; }
label { white-space: nowrap; margin-right: 1em; }
</style>
</head>
<body>
<header><h1>CXM Lab classroom game</h1><span id="who"></span></header>
<section id="login">
  <form id="login-form">
    <label>Your code <input id="code" autocomplete="off" required></label>
    <button type="submit" id="join">Join</button>
  </form>
  <p id="login-error" class="error" role="alert"></p>
</section>
<main id="app" hidden>
  <h2>Round <span id="round"></span> of <span id="rounds"></span></h2>
  <p id="status"></p>
  <section id="teacher" hidden>
    <h2>Teams</h2>
    <table id="codes"></table>
    <button id="advance">Play the round</button>
    <p id="advance-msg" role="status"></p>
    <h3>Events for the next round</h3>
    <label>Privacy incident at <select id="incident-team"></select></label>
    <button id="incident">Trigger</button>
    <label>Market shock: expectations rise by <input id="shock" type="number" step="0.01"
      min="0.01" max="0.2" value="0.03"></label>
    <button id="shock-button">Trigger</button>
    <p id="event-msg" role="status"></p>
    <ul id="events"></ul>
  </section>
  <section id="team" hidden>
    <h2>Your firm: <span id="team-name"></span></h2>
    <form id="decision">
      <p>Budget: <span id="budget"></span> a month across the capabilities
        (spent: <span id="spent">0</span>)</p>
      <fieldset id="allocation"></fieldset>
      <label>Contact-centre agents per hour (or auto)
        <input id="agents" name="agents" value="auto"></label>
      <label>Maturity practices <select id="maturity" name="maturity">
        <option>auto</option><option>reactive</option><option>managed</option>
        <option>proactive</option><option>predictive</option><option>transformative</option>
      </select></label>
      <label>Price (1 = the market's) <input id="price" name="price" type="number"
        step="0.01" value="1.0"></label>
      <label>Advertising per person a month <input id="marketing" name="marketing"
        type="number" step="0.01" value="0.35"></label>
      <button type="submit" id="submit">Submit this round's decision</button>
    </form>
    <p id="decision-msg" role="status"></p>
    <h3>Your firm month by month</h3>
    <div class="charts">
      <figure><figcaption>Active customers</figcaption><svg id="firm-active"></svg></figure>
      <figure><figcaption>NPS (true), points</figcaption><svg id="firm-nps"></svg></figure>
    </div>
    <table id="firm-table"></table>
    <h3>Your touchpoints and contact centre (last month)</h3>
    <table id="touchpoints"></table>
    <table id="capabilities"></table>
  </section>
  <section>
    <h2>Leaderboard</h2>
    <table id="leaderboard"></table>
    <h3>Market share, month by month</h3>
    <svg id="share-chart"></svg>
    <div id="share-legend" class="legend"></div>
  </section>
</main>
<script>
"use strict";
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                 "#e377c2", "#17becf"];
let code = sessionStorage.getItem("cxm-game-code") || "";
let state = null;
let formRound = 0;
const $ = (id) => document.getElementById(id);
const fmt = (x, d = 0) => x === null || x === undefined ? "n/a" :
  Number(x).toLocaleString("en", {maximumFractionDigits: d, minimumFractionDigits: d});

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: {"Authorization": "Bearer " + code, "Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.field = data.field;
    error.status = response.status;
    throw error;
  }
  return data;
}

function cells(tag, values) {
  const row = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement(tag);
    cell.textContent = value;
    row.appendChild(cell);
  }
  return row;
}

function table(id, header, rows) {
  const element = $(id);
  element.replaceChildren(cells("th", header), ...rows.map((r) => cells("td", r)));
}

function chart(id, months, lines, legend) {
  const svg = $(id);
  const width = 500, height = 180, pad = 30;
  const values = Object.values(lines).flat().filter((v) => v !== null);
  svg.setAttribute("viewBox", `0 0 ${width + pad} ${height + pad}`);
  svg.replaceChildren();
  if (!months.length || !values.length) return;
  const low = Math.min(...values), high = Math.max(...values);
  const span = high - low || 1;
  const x = (i) => pad + (months.length > 1 ? i * width / (months.length - 1) : width / 2);
  const y = (v) => height - (v - low) / span * (height - 10);
  const ns = "http://www.w3.org/2000/svg";
  for (const [k, [name, series]] of Object.entries(lines).map((e, i) => [i, e])) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLOURS[k % COLOURS.length]);
    line.setAttribute("stroke-width", "2");
    line.setAttribute("points", series.map((v, i) => `${x(i)},${y(v ?? low)}`).join(" "));
    line.dataset.name = name;
    svg.appendChild(line);
  }
  for (const [v, label] of [[low, fmt(low, 2)], [high, fmt(high, 2)]]) {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", 0);
    text.setAttribute("y", y(v));
    text.setAttribute("font-size", "10");
    text.textContent = label;
    svg.appendChild(text);
  }
  if (legend) {
    $(legend).replaceChildren(...Object.keys(lines).map((name, k) => {
      const span = document.createElement("span");
      span.style.color = COLOURS[k % COLOURS.length];
      span.textContent = "\\u25A0 " + name;
      return span;
    }));
  }
}

function render() {
  $("round").textContent = Math.min(state.round, state.rounds);
  $("rounds").textContent = state.rounds;
  $("status").textContent = state.over ? "The game is over." :
    `Submitted for this round: ${state.submitted.join(", ") || "nobody yet"}.`;
  table("leaderboard", ["rank", "team", "profit NPV", "market share", "NPS", "retention"],
    state.leaderboard.map((r) => [r.rank, r.team, fmt(r.profit_npv),
      fmt(100 * r.market_share, 1) + " %", fmt(r.nps, 1), fmt(100 * r.retention, 2) + " %"]));
  const market = state.market;
  chart("share-chart", market.months, Object.fromEntries(
    Object.entries(market.firms).map(([n, f]) => [n, f.market_share])), "share-legend");
  if (state.role === "teacher") renderTeacher(); else renderTeam();
}

function renderTeacher() {
  $("teacher").hidden = false;
  table("codes", ["team", "join code", "submitted"], state.teams.map((t) =>
    [t, state.codes[t], state.submitted.includes(t) ? "yes" : "no"]));
  const select = $("incident-team");
  if (!select.options.length) {
    select.replaceChildren(...state.teams.map((t) => new Option(t, t)));
  }
  $("events").replaceChildren(...state.events.map((e) => {
    const item = document.createElement("li");
    item.textContent = e.kind === "privacy_incident" ? `privacy incident at ${e.team}` :
      `market shock: expectations +${e.expectation_rise}`;
    return item;
  }));
  $("advance").disabled = state.over;
}

function renderTeam() {
  $("team").hidden = false;
  const firm = state.firm;
  $("team-name").textContent = firm.team;
  $("budget").textContent = fmt(state.budget_per_month);
  if (formRound !== state.round) {
    fillForm(firm.decision);
    formRound = state.round;
  }
  $("submit").disabled = state.over;
  const m = firm.metrics;
  chart("firm-active", firm.months, {"active customers": m.active || []});
  chart("firm-nps", firm.months, {"NPS": m.nps_true || []});
  const last = (name) => (m[name] || []).slice(-1)[0];
  table("firm-table", ["last month", "value"], [
    ["active customers", fmt(last("active"))],
    ["market share", fmt(100 * last("market_share"), 1) + " %"],
    ["acquired", fmt(last("acquired"))], ["churned", fmt(last("churned"))],
    ["won from rivals", fmt(last("switched_in"))], ["lost to rivals", fmt(last("switched_out"))],
    ["revenue", fmt(last("revenue"))], ["profit", fmt(last("profit"))],
    ["profit NPV to date", fmt(last("npv_to_date"))],
    ["NPS (measured)", fmt(last("nps_measured"), 1)],
    ["CSAT 1-5 (measured)", fmt(last("csat_measured"), 2)],
    ["CES 1-7 (measured)", fmt(last("ces_measured"), 2)],
    ["contacts", fmt(last("contacts"))],
    ["service level", fmt(100 * last("service_level"), 1) + " %"],
    ["average wait (s)", fmt(last("asa_seconds"), 1)],
    ["abandoned", fmt(100 * last("abandon_rate"), 1) + " %"],
    ["agents (mean per hour)", fmt(last("agents"), 1)], ["maturity (0-4)", fmt(last("maturity"))],
  ].filter(() => firm.months.length));
  table("touchpoints",
    ["touchpoint", "experiences", "delivered", "perceived", "satisfaction", "problems"],
    firm.touchpoints.map((t) => [t.touchpoint, fmt(t.experiences), fmt(t.delivered_quality, 3),
      fmt(t.perceived_quality, 3), fmt(t.satisfaction, 3), fmt(t.problems)]));
  table("capabilities", ["capability", "level"],
    Object.entries(firm.capabilities).map(([c, v]) => [c, fmt(v, 2)]));
}

function fillForm(decision) {
  const box = $("allocation");
  box.replaceChildren(...state.capabilities.map((c) => {
    const label = document.createElement("label");
    label.textContent = c + " ";
    const input = document.createElement("input");
    input.type = "number"; input.min = "0"; input.step = "1000"; input.id = "alloc-" + c;
    input.value = decision.allocation[c] || 0;
    input.addEventListener("input", updateSpent);
    label.appendChild(input);
    return label;
  }));
  $("agents").value = decision.agents;
  $("maturity").value = decision.maturity;
  $("price").value = decision.price;
  $("marketing").value = decision.marketing_per_person_per_month;
  updateSpent();
}

function updateSpent() {
  const total = state.capabilities.reduce((s, c) => s + Number($("alloc-" + c).value || 0), 0);
  $("spent").textContent = fmt(total);
}

function decisionFromForm() {
  const allocation = {};
  for (const c of state.capabilities) {
    const value = Number($("alloc-" + c).value || 0);
    if (value !== 0) allocation[c] = value;
  }
  const agents = $("agents").value.trim();
  return {allocation, agents: agents === "auto" ? "auto" : Number(agents),
          maturity: $("maturity").value, price: Number($("price").value),
          marketing_per_person_per_month: Number($("marketing").value)};
}

async function refresh() {
  try {
    state = await api("/api/state");
    render();
  } catch (error) {
    if (error.status === 401) { sessionStorage.removeItem("cxm-game-code"); location.reload(); }
  }
}

async function start() {
  try {
    const who = await api("/api/login", {code});
    sessionStorage.setItem("cxm-game-code", code);
    $("who").textContent = who.role === "teacher" ? "teacher" : "team " + who.team;
    $("login").hidden = true;
    $("app").hidden = false;
    await refresh();
    setInterval(refresh, 3000);
  } catch (error) {
    $("login-error").textContent = error.message;
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  code = $("code").value.trim();
  start();
});

$("decision").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("decision-msg");
  try {
    const done = await api(`/api/teams/${encodeURIComponent(state.firm.team)}/decision`,
                           decisionFromForm());
    message.className = "ok";
    message.textContent = `Decision for round ${done.round} submitted.`;
    await refresh();
  } catch (error) {
    message.className = "error";
    message.textContent = (error.field ? error.field + ": " : "") + error.message;
  }
});

$("advance").addEventListener("click", async () => {
  const message = $("advance-msg");
  $("advance").disabled = true;
  message.textContent = "Playing the round…";
  try {
    const done = await api("/api/advance", {});
    message.className = "ok";
    message.textContent = done.over ? "The last round is played." : `Round ${done.round} is open.`;
    await refresh();
  } catch (error) {
    message.className = "error";
    message.textContent = error.message;
  }
});

async function trigger(event) {
  const message = $("event-msg");
  try {
    await api("/api/events", event);
    message.className = "ok";
    message.textContent = "Event set for the next round.";
    await refresh();
  } catch (error) {
    message.className = "error";
    message.textContent = (error.field ? error.field + ": " : "") + error.message;
  }
}
$("incident").addEventListener("click", () =>
  trigger({kind: "privacy_incident", team: $("incident-team").value}));
$("shock-button").addEventListener("click", () =>
  trigger({kind: "market_shock", expectation_rise: Number($("shock").value)}));

if (code) start();
</script>
</body>
</html>
"""
