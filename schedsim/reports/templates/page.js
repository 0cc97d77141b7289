// schedsim's page: it only looks things up in the embedded data (the JSON
// report and the explored state graph); it never works out a step itself.
"use strict";
const D = JSON.parse(document.getElementById("schedsim-data").textContent);
const R = D.report;
const STATUS_WORDS = {finished: "finished", runs_forever: "runs forever", violation: "VIOLATION",
                      deadlock: "DEADLOCK", error: "ERROR", unfinished: "unfinished"};
const SVG = "http://www.w3.org/2000/svg";
const trace = {path: [0], cursor: 0, title: "", goal: null};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function byId(id) { return document.getElementById(id); }
function node(n) { return D.nodes[String(n)]; }
function finalText(values) {
  return D.shared.map((name, j) => `${name}=${values[j]}`).join(" ") || "(no shared variables)";
}
function statement(index) {
  const [line, text, action] = D.instructions[index];
  return {line, text, action};
}

// The nodes a schedule of thread names passes through, from the initial state.
function follow(schedule) {
  const path = [0];
  for (const name of schedule) {
    const tid = D.threads.indexOf(name);
    const edge = node(path[path.length - 1]).e.find(([mover]) => mover === tid);
    if (!edge || !node(edge[1])) break;
    path.push(edge[1]);
  }
  return path;
}

function moverBetween(source, target) {
  return node(source).e.find(([, t]) => t === target)[0];
}

// -- header, source, outcomes ------------------------------------------------

function renderHeader() {
  byId("title").textContent = `scenario ${R.scenario}`;
  byId("description").textContent = R.description || "";
  const total = R.interleavings === null ? "infinitely many" : R.interleavings.toLocaleString("en");
  byId("counts").textContent = `${R.states.toLocaleString("en")} states, ` +
    `${R.transitions.toLocaleString("en")} transitions, ${total} interleavings` +
    (R.complete ? "" : " (PARTIAL: the exploration stopped; counts are lower bounds)");
  const lines = D.text.trim().split("\n");
  byId("verdict").textContent = lines[lines.length - 1];
  byId("text-report").textContent = D.text;
}

function renderSource() {
  byId("shared-initial").append(el("p", {class: "shared-line"},
    D.shared.length ? "shared: " + D.shared.map((name, j) => `${name} = ${D.initial[j]}`).join(", ") : ""));
  D.threads.forEach((name, tid) => {
    const [first, last] = D.source.spans[tid];
    const box = el("div", {class: "thread-src"}, el("h3", {}, `thread ${name}`));
    for (let line = first; line <= last; line++) {
      box.append(el("div", {class: "src", id: `src-${tid}-${line}`},
        el("span", {class: "num"}, String(line)), D.source.lines[line - 1] || ""));
    }
    byId("source").append(box);
  });
}

function probabilityCell(outcome) {
  if (outcome.probability === null) return el("td", {}, "not computed");
  const width = Math.max(0, Math.min(100, outcome.probability * 100));
  const label = outcome.probability_exact !== null
    ? `${outcome.probability_exact} (${outcome.probability.toPrecision(4)})`
    : `${outcome.probability.toPrecision(6)} (floating point)`;
  return el("td", {}, el("span", {class: "bar-box"}, el("span", {class: "bar", style: `width:${width}%`})), label);
}

function outcomeEnd(index) {
  const found = D.traces.find(t => t.outcome === index);
  const path = follow(found.schedule);
  return node(path[path.length - 1]);
}

function renderOutcomes() {
  const body = byId("outcomes").querySelector("tbody");
  R.outcomes.forEach((outcome, index) => {
    const count = outcome.interleavings === null ? "∞" : outcome.interleavings.toLocaleString("en");
    const traceIndex = D.traces.findIndex(t => t.outcome === index);
    const row = el("tr", {class: "outcome", "data-outcome": String(index + 1), onclick: () => loadTrace(traceIndex)},
      el("td", {}, String(index + 1)),
      el("td", {class: `status-${outcome.status}`}, STATUS_WORDS[outcome.status] + (outcome.message ? `: ${outcome.message}` : "")),
      el("td", {class: "val"}, finalText(outcomeEnd(index).v)),
      el("td", {class: "val"}, outcome.output.join(" | ")),
      probabilityCell(outcome),
      el("td", {}, count),
      el("td", {}, String(outcome.schedule.length)),
      el("td", {}, el("a", {href: `#goal=${index + 1}`, class: "challenge", onclick: e => e.stopPropagation()}, "challenge link")));
    body.append(row);
  });
  const findings = D.traces.map((t, i) => [t, i]).filter(([t]) => t.outcome === null);
  if (findings.length) byId("findings").append(el("h3", {}, "Findings"));
  for (const [t, i] of findings) {
    byId("findings").append(el("div", {class: "finding", "data-trace": String(i), onclick: () => loadTrace(i)},
      `${t.label} (${t.schedule.length} steps)`));
  }
}

// -- the step table and the scheduler ----------------------------------------

function loadTrace(index) {
  const t = D.traces[index];
  trace.path = follow(t.schedule);
  trace.cursor = trace.path.length - 1;
  trace.title = `Showing ${t.label}: ${t.schedule.join(",") || "(no steps)"}. Move through it with the keys, or pick a thread to go another way.`;
  document.querySelectorAll(".selected").forEach(x => x.classList.remove("selected"));
  const selected = t.outcome !== null ? document.querySelector(`tr.outcome[data-outcome="${t.outcome + 1}"]`)
                                      : document.querySelector(`.finding[data-trace="${index}"]`);
  if (selected) selected.classList.add("selected");
  renderTrace();
  byId("trace-section").scrollIntoView();
}

function restart() {
  trace.path = [0];
  trace.cursor = 0;
  trace.title = "Be the scheduler: pick the thread that runs next.";
  renderTrace();
}

function choose(tid) {
  const edge = node(trace.path[trace.cursor]).e.find(([mover]) => mover === tid);
  if (!edge || !node(edge[1])) return;
  trace.path = trace.path.slice(0, trace.cursor + 1);
  trace.path.push(edge[1]);
  trace.cursor = trace.path.length - 1;
  renderTrace();
}

function undo() {
  if (trace.path.length < 2) return;
  trace.path.pop();
  trace.cursor = trace.path.length - 1;
  renderTrace();
}

function moveCursor(by) {
  trace.cursor = Math.max(0, Math.min(trace.path.length - 1, trace.cursor + by));
  renderTrace();
}

function renderTrace() {
  byId("trace-title").textContent = trace.title;
  renderStepTable();
  renderChoices();
  renderStatus();
  highlightSource();
  highlightGraph();
}

function renderStepTable() {
  const table = byId("step-table");
  const head = el("tr", {}, el("th", {}, "step"), ...D.threads.map(n => el("th", {}, n)),
                  ...D.shared.map(n => el("th", {}, n)), el("th", {}, "printed"));
  table.querySelector("thead").replaceChildren(head);
  const rows = trace.path.map((n, k) => {
    const here = node(n);
    const cells = [el("td", {}, k === 0 ? "start" : String(k))];
    const mover = k === 0 ? -1 : moverBetween(trace.path[k - 1], n);
    D.threads.forEach((name, tid) => {
      if (tid !== mover) { cells.push(el("td", {class: "stmt"})); return; }
      const s = statement(node(trace.path[k - 1]).n[tid]);
      cells.push(el("td", {class: "stmt"}, `L${s.line} ${s.text} `, el("span", {class: "action"}, s.action)));
    });
    const before = k === 0 ? null : node(trace.path[k - 1]);
    here.v.forEach((value, j) => cells.push(el("td", {class: "val" + (before && before.v[j] !== value ? " changed" : "")}, value)));
    const printed = before && before.o !== here.o ? D.outputs[here.o][1] : "";
    cells.push(el("td", {class: "val"}, printed));
    return el("tr", {class: k === trace.cursor ? "cursor" : "", "data-step": String(k),
                     onclick: () => { trace.cursor = k; renderTrace(); }}, ...cells);
  });
  table.querySelector("tbody").replaceChildren(...rows);
}

function renderChoices() {
  const box = byId("choices");
  box.replaceChildren();
  const here = node(trace.path[trace.cursor]);
  if (here.f) {
    box.append(el("p", {class: "waiting"}, "The exploration stopped before this state's steps were found."));
    return;
  }
  if (!here.s) here.e.forEach(([tid, target], i) => {
    const s = statement(here.n[tid]);
    const attrs = {type: "button", class: "choose", "data-thread": D.threads[tid], onclick: () => choose(tid)};
    if (!node(target)) { attrs.disabled = "disabled"; attrs.title = "this step leaves the states embedded in the page"; }
    box.append(el("button", attrs, `${i + 1}. run ${D.threads[tid]}: L${s.line} ${s.text}`));
  });
  for (const [tid, why] of Object.entries(here.w || {})) {
    box.append(el("div", {class: "waiting"}, `${D.threads[Number(tid)]} ${why}`));
  }
}

function describeOutcome(index) {
  const outcome = R.outcomes[index];
  return `outcome ${index + 1} (${STATUS_WORDS[outcome.status]}, ${finalText(outcomeEnd(index).v)})`;
}

function renderStatus() {
  const box = byId("play-status");
  const here = node(trace.path[trace.cursor]);
  const steps = trace.cursor;
  box.className = "";
  if (!here.s) {
    box.textContent = steps === trace.path.length - 1
      ? `After ${steps} step${steps === 1 ? "" : "s"}: pick the thread that runs next.`
      : `Step ${steps} of ${trace.path.length - 1}.`;
    return;
  }
  box.classList.add("ended");
  const message = here.m ? ` ${here.m}.` : "";
  if (here.k === null || here.k === undefined) {
    box.textContent = `The run ended: ${STATUS_WORDS[here.s]}.${message} (${steps} steps)`;
    return;
  }
  const shortest = R.outcomes[here.k].schedule.length;
  const found = `You found ${describeOutcome(here.k)} in ${steps} step${steps === 1 ? "" : "s"}; ` +
                `the shortest schedule takes ${shortest}.${message}`;
  if (trace.goal === null) { box.textContent = `The run ended. ${found}`; return; }
  if (here.k === trace.goal) {
    box.classList.add("goal-reached");
    box.textContent = `Goal reached! ${found}`;
  } else {
    box.classList.add("goal-missed");
    box.textContent = `Not the goal: the run ended in ${describeOutcome(here.k)}. Undo (u) and try another thread.`;
  }
}

function highlightSource() {
  document.querySelectorAll(".src.current, .src.next").forEach(x => x.classList.remove("current", "next"));
  const k = trace.cursor;
  const here = node(trace.path[k]);
  if (!here.s) {
    for (const [tid] of here.e) {
      const line = statement(here.n[tid]).line;
      const row = byId(`src-${tid}-${line}`);
      if (row) row.classList.add("next");
    }
  }
  if (k > 0) {
    const mover = moverBetween(trace.path[k - 1], trace.path[k]);
    const row = byId(`src-${mover}-${statement(node(trace.path[k - 1]).n[mover]).line}`);
    if (row) row.classList.add("current");
  }
}

// -- goals from the URL fragment ---------------------------------------------

function readGoal() {
  const match = /goal=(\d+)/.exec(location.hash);
  const index = match ? Number(match[1]) - 1 : null;
  trace.goal = index !== null && index >= 0 && index < R.outcomes.length ? index : null;
  const box = byId("goal");
  box.hidden = trace.goal === null;
  if (trace.goal !== null) {
    box.textContent = `Challenge: be the scheduler and make the run end in ${describeOutcome(trace.goal)}. ` +
                      `It can be done in ${R.outcomes[trace.goal].schedule.length} steps.`;
    restart();
    byId("trace-section").scrollIntoView();
  }
}

function onKey(event) {
  if (event.target.tagName === "INPUT" || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  if (key === "ArrowDown" || key === "j") moveCursor(1);
  else if (key === "ArrowUp" || key === "k") moveCursor(-1);
  else if (key === "u" || key === "Backspace") undo();
  else if (/^[1-9]$/.test(key)) {
    const edge = node(trace.path[trace.cursor]).e[Number(key) - 1];
    if (edge && !node(trace.path[trace.cursor]).s) choose(edge[0]);
  } else return;
  event.preventDefault();
}

// -- the state graph: layers by BFS depth ------------------------------------

const graphParts = {circles: new Map(), lines: new Map()};

function renderGraph() {
  const drawn = new Set(D.drawn);
  const layers = new Map();
  for (const n of D.drawn) {
    const depth = node(n).d;
    if (!layers.has(depth)) layers.set(depth, []);
    layers.get(depth).push(n);
  }
  const widest = Math.max(1, ...[...layers.values()].map(l => l.length));
  const gap = Math.max(10, Math.min(28, 1200 / widest)), rowGap = 56, radius = Math.min(6, gap / 2.5);
  const place = new Map();
  for (const [depth, members] of layers) {
    const offset = (widest - members.length) * gap / 2;
    members.forEach((n, i) => place.set(n, [offset + (i + 0.5) * gap, depth * rowGap + 16]));
  }
  const deepest = Math.max(0, ...layers.keys());
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", String(widest * gap));
  svg.setAttribute("height", String(deepest * rowGap + 32));
  for (const n of D.drawn) {
    for (const [, target] of node(n).e) {
      if (!drawn.has(target)) continue;
      const [x1, y1] = place.get(n), [x2, y2] = place.get(target);
      const line = document.createElementNS(SVG, "line");
      Object.entries({x1, y1, x2, y2}).forEach(([k, v]) => line.setAttribute(k, String(v)));
      svg.append(line);
      graphParts.lines.set(`${n}-${target}`, line);
    }
  }
  for (const n of D.drawn) {
    const here = node(n);
    const [cx, cy] = place.get(n);
    const circle = document.createElementNS(SVG, "circle");
    Object.entries({cx, cy, r: radius}).forEach(([k, v]) => circle.setAttribute(k, String(v)));
    circle.setAttribute("class", here.s ? `end-${here.s}` : "");
    circle.setAttribute("data-node", String(n));
    const title = document.createElementNS(SVG, "title");
    title.textContent = `state ${n}: ${finalText(here.v)}` + (here.s ? ` (${STATUS_WORDS[here.s]})` : "");
    circle.append(title);
    svg.append(circle);
    graphParts.circles.set(n, circle);
  }
  byId("graph").append(svg);
  const note = D.all_drawn ? `All ${R.states.toLocaleString("en")} states, one row per BFS depth; ` +
                             "green ends finish, red ones go wrong; the red path is the schedule shown above."
    : `The graph has ${R.states.toLocaleString("en")} states, too many to draw: only the ${D.drawn.length} states ` +
      "on the outcomes' and findings' schedules are drawn.";
  const embedded = D.all_embedded ? "" : " Only those states are in this page (a graph of more than " +
    `${D.embed_limit.toLocaleString("en")} states is not embedded whole), so the scheduler offers just the steps that stay on them.`;
  byId("graph-note").textContent = note + embedded;
}

function highlightGraph() {
  document.querySelectorAll("#graph .on-path, #graph .here").forEach(x => x.classList.remove("on-path", "here"));
  trace.path.forEach((n, k) => {
    const circle = graphParts.circles.get(n);
    if (circle) circle.classList.add("on-path");
    if (k > 0) {
      const line = graphParts.lines.get(`${trace.path[k - 1]}-${n}`);
      if (line) line.classList.add("on-path");
    }
  });
  const here = graphParts.circles.get(trace.path[trace.cursor]);
  if (here) here.classList.add("here");
}

// -- predict, then reveal ----------------------------------------------------

function normal(text) { return String(text).replace(/\s+/g, "").replace(/"/g, "'"); }

function renderPredict() {
  const P = D.predict;
  if (!P) { byId("predict-note").textContent = "No seeded run could be made for this scenario."; return; }
  byId("predict-note").textContent = `One run, picked at random from seed ${P.seed} (as schedsim run --predict ` +
    `--seed ${P.seed} prints it). Work out each shared variable after every step and what is printed, ` +
    "then check; the outcome is withheld until you reveal it.";
  const head = el("tr", {}, el("th", {}, "step"), el("th", {}, "thread"), el("th", {}, "statement"),
                  ...D.shared.map(n => el("th", {}, `${n} after`)), el("th", {}, "printed"));
  byId("predict-table").querySelector("thead").append(head);
  const body = byId("predict-table").querySelector("tbody");
  P.steps.forEach((s, k) => {
    const cells = [el("td", {}, String(k + 1))];
    cells.push(el("td", {}, s.thread), el("td", {class: "stmt"}, `L${s.line} ${s.text} `, el("span", {class: "action"}, s.action)));
    s.shared.forEach((value, j) => cells.push(el("td", {}, el("input", {"data-answer": value, "aria-label": `${D.shared[j]} after step ${k + 1}`}))));
    cells.push(el("td", {}, s.printed === null ? "" : el("input", {"data-answer": s.printed, "aria-label": `printed at step ${k + 1}`})));
    body.append(el("tr", {}, ...cells));
  });
  byId("predict-check").addEventListener("click", checkPredictions);
  byId("predict-reveal").addEventListener("click", revealPredictions);
}

function checkPredictions() {
  const inputs = [...document.querySelectorAll("#predict-table input")];
  let right = 0;
  for (const input of inputs) {
    const ok = normal(input.value) === normal(input.dataset.answer);
    input.classList.toggle("right", ok);
    input.classList.toggle("wrong", !ok);
    if (ok) right++;
  }
  byId("predict-result").textContent = `${right} of ${inputs.length} right.`;
}

function revealPredictions() {
  const P = D.predict;
  for (const input of document.querySelectorAll("#predict-table input")) input.value = input.dataset.answer;
  checkPredictions();
  const output = P.output.length ? ` Output: ${P.output.join(" | ")}.` : "";
  byId("predict-result").textContent = `The run ends: ${STATUS_WORDS[P.status] || P.status}` +
    (P.message ? `: ${P.message}` : "") + `.${output}`;
}

renderHeader();
renderSource();
renderOutcomes();
renderGraph();
renderPredict();
document.addEventListener("keydown", onKey);
byId("undo").addEventListener("click", undo);
byId("restart").addEventListener("click", () => { trace.goal = null; byId("goal").hidden = true; restart(); });
window.addEventListener("hashchange", readGoal);
restart();
readGoal();
