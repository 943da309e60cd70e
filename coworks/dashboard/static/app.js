// The CoWorks dashboard: plain JavaScript over the JSON routes under ./api/.
"use strict";

const state = { workflow: null, execution: null, nextToken: null };
const $ = (id) => document.getElementById(id);

function token() {
  return sessionStorage.getItem("coworks-token") || "";
}

function say(text) {
  $("message").textContent = text || "";
}

async function api(path, method = "GET") {
  const headers = {};
  if (token()) headers.Authorization = token();
  const response = await fetch("api" + path, { method, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const text = body.message || response.statusText;
    throw new Error(`${response.status} ${body.error || ""}: ${text}`);
  }
  return body;
}

const REDRIVABLE = ["FAILED", "TIMED_OUT", "ABORTED"];

// Stops or redrives the execution shown, then shows its new status.
async function act(action) {
  const name = state.execution;
  const path = `/workflows/${encodeURIComponent(state.workflow)}/executions/` +
    `${encodeURIComponent(name)}/${action}`;
  for (const id of ["stop", "redrive"]) $(id).disabled = true;
  try {
    const answer = await api(path, "POST");
    await loadExecutions(false);
    await selectExecution(name);
    say(`${name}: ${answer.status}`);
  } finally {
    for (const id of ["stop", "redrive"]) $(id).disabled = false;
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function pretty(value) {
  return value === undefined || value === null ? "" : JSON.stringify(value, null, 2);
}

function shortDate(text) {
  return text ? text.replace("T", " ").replace(/\+00:00$/, "Z") : "";
}

function setHash() {
  const parts = [];
  if (state.workflow) parts.push("workflow=" + encodeURIComponent(state.workflow));
  if ($("status").value) parts.push("status=" + $("status").value);
  if (state.execution) parts.push("execution=" + encodeURIComponent(state.execution));
  history.replaceState(null, "", "#" + parts.join("&"));
}

async function loadWorkflows() {
  const answer = await api("/workflows");
  const list = $("workflows");
  list.textContent = "";
  for (const workflow of answer.workflows) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = "#workflow=" + encodeURIComponent(workflow.name);
    link.textContent = workflow.name;
    link.dataset.workflow = workflow.name;
    link.title = workflow.description || "";
    link.addEventListener("click", (event) => {
      event.preventDefault();
      selectWorkflow(workflow.name);
    });
    item.appendChild(link);
    list.appendChild(item);
  }
  const select = $("status");
  if (select.options.length === 1) {
    for (const status of answer.statuses) {
      const option = document.createElement("option");
      option.value = status;
      option.textContent = status;
      select.appendChild(option);
    }
  }
  return answer.workflows;
}

async function selectWorkflow(name) {
  state.workflow = name;
  state.execution = null;
  setHash();
  for (const link of document.querySelectorAll("#workflows a")) {
    link.classList.toggle("selected", link.dataset.workflow === name);
  }
  const workflow = await api("/workflows/" + encodeURIComponent(name));
  $("workflow-title").textContent = name;
  $("workflow-description").textContent = workflow.description || "";
  $("executions-panel").hidden = false;
  $("execution-panel").hidden = true;
  await loadExecutions(false);
}

async function loadExecutions(more) {
  const status = $("status").value;
  let path = `/workflows/${encodeURIComponent(state.workflow)}/executions?limit=50`;
  if (status) path += "&status=" + status;
  if (more && state.nextToken) path += "&next_token=" + encodeURIComponent(state.nextToken);
  const answer = await api(path);
  const body = $("executions").tBodies[0];
  if (!more) body.textContent = "";
  for (const execution of answer.executions) {
    const row = document.createElement("tr");
    row.className = "clickable";
    row.dataset.name = execution.name;
    cell(row, execution.name);
    cell(row, execution.status, "status status-" + execution.status);
    cell(row, shortDate(execution.start_date));
    cell(row, shortDate(execution.stop_date));
    row.addEventListener("click", () => selectExecution(execution.name));
    body.appendChild(row);
  }
  state.nextToken = answer.next_token;
  $("more").hidden = !answer.next_token;
}

function colourGraph(graph, states) {
  const holder = $("graph");
  holder.innerHTML = graph.svg;
  for (const [id, name] of Object.entries(graph.nodes)) {
    const node = holder.querySelector(`g[id="${CSS.escape(id)}"]`);
    if (!node) continue;
    node.dataset.state = name;
    node.dataset.status = states[name] || "idle";
    if (states[name]) node.classList.add("st-" + states[name]);
  }
}

function eventDetail(event) {
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith("EventDetails") || !value) continue;
    if (value.error) return `${value.error}: ${value.cause || ""}`;
    if (value.output !== undefined) return value.output;
    if (value.input !== undefined) return value.input;
  }
  return "";
}

async function selectExecution(name) {
  state.execution = name;
  setHash();
  for (const row of $("executions").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.name === name);
  }
  const base = "/workflows/" + encodeURIComponent(state.workflow);
  const [workflow, execution] = await Promise.all([
    api(base),
    api(base + "/executions/" + encodeURIComponent(name)),
  ]);
  $("execution-title").textContent = name;
  const summary = $("execution-summary");
  summary.textContent = "";
  const fields = [
    ["Status", execution.status],
    ["Started", shortDate(execution.start_date)],
    ["Stopped", shortDate(execution.stop_date)],
    ["Redrives", execution.redrive_count],
    ["Error", execution.error],
    ["Cause", execution.cause],
    ["ARN", execution.arn],
  ];
  for (const [label, value] of fields) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    if (label === "Status") dd.className = "status status-" + value;
    summary.append(dt, dd);
  }
  $("stop").hidden = execution.status !== "RUNNING";
  $("redrive").hidden = !REDRIVABLE.includes(execution.status);
  $("execution-input").textContent = pretty(execution.input);
  $("execution-output").textContent = pretty(execution.output);
  colourGraph(workflow.graph, execution.states);
  const body = $("history").tBodies[0];
  body.textContent = "";
  let current = "";
  for (const event of execution.events) {
    const entered = event.stateEnteredEventDetails;
    if (entered) current = entered.name;
    const row = document.createElement("tr");
    row.className = "event event-" + event.type;
    cell(row, event.id);
    cell(row, shortDate(event.timestamp));
    cell(row, event.type);
    cell(row, entered ? entered.name : current);
    cell(row, eventDetail(event));
    body.appendChild(row);
  }
  $("execution-panel").hidden = false;
}

// Refreshes the list, and the execution shown while it runs, unless unticked.
async function autoRefresh() {
  if (document.hidden || !$("auto").checked || !state.workflow) return;
  const shown = state.execution;
  const status = $("execution-summary").querySelector(".status");
  await loadExecutions(false);
  if (shown && status && status.textContent === "RUNNING") await selectExecution(shown);
  else if (shown) {
    for (const row of $("executions").tBodies[0].rows) {
      row.classList.toggle("selected", row.dataset.name === shown);
    }
  }
}

// Shows what the URL's hash names, or the first workflow when it names none.
async function fromHash(workflows) {
  const params = new URLSearchParams(location.hash.slice(1));
  const workflow = params.get("workflow") || (workflows[0] || {}).name;
  const execution = params.get("execution");
  if (params.get("status")) $("status").value = params.get("status");
  if (workflow) {
    await selectWorkflow(workflow);
    if (execution) await selectExecution(execution);
  }
}

async function start() {
  const query = new URLSearchParams(location.search);
  if (query.get("token")) sessionStorage.setItem("coworks-token", query.get("token"));
  $("token").value = token();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("coworks-token", $("token").value);
    run(async () => fromHash(await loadWorkflows()));
  });
  $("status").addEventListener("change", () => {
    setHash();
    run(() => loadExecutions(false));
  });
  $("refresh").addEventListener("click", () => run(() => loadExecutions(false)));
  $("more").addEventListener("click", () => run(() => loadExecutions(true)));
  $("stop").addEventListener("click", () => run(() => act("stop")));
  $("redrive").addEventListener("click", () => run(() => act("redrive")));
  await fromHash(await loadWorkflows());
  document.body.dataset.ready = "true";
  setInterval(() => run(autoRefresh), 5000);
}

async function run(step) {
  try {
    say("");
    await step();
  } catch (error) {
    say(error.message);
    document.body.dataset.ready = "error";
  }
}

run(start);
