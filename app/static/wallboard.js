// The supervisor's wallboard: draws the figures from #wallboard-data, then fetches them again every
// data-refresh-seconds (a short poll of the JSON endpoint) and redraws. Also: the dark theme, kept per screen.
(function () {
  "use strict";
  const board = document.getElementById("wallboard");
  if (!board) return;
  const url = board.dataset.url;
  const seconds = Math.max(2, Number(board.dataset.refreshSeconds) || 30);
  const chasesWord = document.getElementById("wb-chases-word").textContent;

  function setText(id, value) {
    const element = document.getElementById(id);
    if (element) element.textContent = String(value);
  }

  function drawLines(id, lines, empty) {
    const list = document.getElementById(id);
    const template = document.getElementById("wb-line");
    const kind = list.dataset.time;
    list.replaceChildren();
    if (!lines.length) {
      const none = document.createElement("li");
      none.className = "line-none";
      none.textContent = empty;
      list.append(none);
      return;
    }
    for (const line of lines) {
      const item = template.content.firstElementChild.cloneNode(true);
      const number = item.querySelector(".line-number");
      number.textContent = line.number;
      number.href = line.url;
      item.querySelector(".line-place").textContent = line.place;
      item.querySelector(".line-stage").textContent = line.stage;
      item.querySelector(".line-time").textContent =
        kind === "chases" ? line.chases + " " + chasesWord : line[kind];
      list.append(item);
    }
  }

  function drawStages(stages, empty) {
    const list = document.getElementById("wb-stages");
    const most = Math.max(1, ...stages.map((stage) => stage.count));
    list.replaceChildren();
    if (!stages.length) {
      const none = document.createElement("li");
      none.className = "line-none";
      none.textContent = empty;
      list.append(none);
    }
    for (const stage of stages) {
      const item = document.createElement("li");
      item.dataset.stage = stage.stage;
      const label = document.createElement("span");
      label.className = "stage-label";
      label.textContent = stage.label;
      const bar = document.createElement("span");
      bar.className = "stage-bar";
      bar.style.setProperty("--share", String(stage.count / most));
      const count = document.createElement("span");
      count.className = "stage-count";
      count.textContent = String(stage.count);
      item.append(label, bar, count);
      list.append(item);
    }
  }

  function drawAgents(agents, empty) {
    const body = document.getElementById("wb-agents");
    body.replaceChildren();
    for (const person of agents) {
      const row = document.createElement("tr");
      for (const value of [person.name, person.recorded, person.tasks_done]) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.append(cell);
      }
      body.append(row);
    }
    if (!agents.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 3;
      cell.className = "line-none";
      cell.textContent = empty;
      row.append(cell);
      body.append(row);
    }
  }

  function draw(data) {
    setText("wallboard-day", data.day);
    setText("wallboard-updated", data.updated);
    const counts = {"wb-calls": data.calls, "wb-new-tickets": data.new_tickets,
      "wb-attached-calls": data.attached_calls, "wb-chases": data.chases, "wb-open-total": data.open_total, "wb-overdue": data.overdue,
      "wb-soon-due": data.soon_due, "wb-night-holds": data.night_holds};
    for (const [id, value] of Object.entries(counts)) setText(id, value);
    for (const tile of document.querySelectorAll("[data-alarm-when]")) {
      tile.classList.toggle("is-on", Number(counts[tile.dataset.alarmWhen]) > 0);
    }
    drawStages(data.stages, data.empty);
    drawLines("wb-overdue-list", data.overdue_list, data.empty);
    drawLines("wb-soon-due-list", data.soon_due_list, data.empty);
    drawLines("wb-night-hold-list", data.night_hold_list, data.empty);
    drawLines("wb-chased-list", data.chased_list, data.empty);
    drawAgents(data.agents, data.empty);
    board.dataset.drawnAt = data.updated;
  }

  async function refresh() {
    const stale = document.getElementById("wallboard-stale");
    try {
      const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) throw new Error("not the figures");
      draw(await response.json());
      stale.hidden = true;
    } catch (error) {
      stale.hidden = false;  // the last figures stay; the next poll tries again
    }
  }

  draw(JSON.parse(document.getElementById("wallboard-data").textContent));
  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });

  const select = document.querySelector("[data-submit-on-change]");
  if (select) select.addEventListener("change", () => select.form.submit());

  const root = document.documentElement;
  const themeButton = document.getElementById("wallboard-theme");
  function setTheme(dark) {
    root.dataset.bsTheme = dark ? "dark" : "light";
    themeButton.setAttribute("aria-pressed", dark ? "true" : "false");
    try { window.localStorage.setItem("kefu-wallboard-theme", dark ? "dark" : "light"); } catch (error) { /* private mode */ }
  }
  let saved = null;
  try { saved = window.localStorage.getItem("kefu-wallboard-theme"); } catch (error) { /* private mode */ }
  setTheme(saved === "dark" || (saved === null && new URLSearchParams(window.location.search).get("theme") === "dark"));
  themeButton.addEventListener("click", () => setTheme(root.dataset.bsTheme !== "dark"));
})();
