// The knowledge base beside the intake's description: as the agent types, the matching answers
// (/knowledge/search?q=…) are shown next to the description field, in view while typing.
(function () {
  "use strict";
  const panel = document.getElementById("knowledge-suggestions");
  const description = document.querySelector("textarea[name=description]");
  if (!panel || !description) return;
  // Beside the description, in view while typing: in the intake page's sticky side column when it has one,
  // else right below the description field.
  const side = document.querySelector(".intake-side");
  if (side) {
    side.append(panel);
  } else {
    (description.closest(".field") || description.parentElement).after(panel);
  }
  const list = document.getElementById("knowledge-answers");
  const template = document.getElementById("knowledge-answer-item");
  const status = document.getElementById("knowledge-status");
  let timer = null;
  let asked = "";
  let controller = null;

  function project() {
    const chosen = document.querySelector("[name=project]:checked, select[name=project], input[name=project]");
    return chosen ? chosen.value : "";
  }

  function show(answers) {
    list.replaceChildren();
    for (const answer of answers) {
      const item = template.content.firstElementChild.cloneNode(true);
      item.dataset.answerId = String(answer.id);
      item.querySelector(".knowledge-answer-title").textContent = answer.title;
      item.querySelector(".knowledge-answer-category").textContent = answer.category || "";
      item.querySelector(".knowledge-answer-text").textContent = answer.answer;
      item.querySelector(".knowledge-answer-excerpt").textContent = answer.excerpt;
      item.querySelector(".knowledge-answer-link").href = answer.url;
      item.querySelector("details").addEventListener("toggle", (event) => {
        item.querySelector(".knowledge-answer-excerpt").hidden = event.target.open;
      });
      list.append(item);
    }
    panel.hidden = answers.length === 0;
    status.textContent = answers.length ? status.dataset.found.replace("{count}", String(answers.length)) : "";
  }

  async function search() {
    const text = description.value.trim();
    const key = text + "\u0000" + project();
    if (key === asked) return;
    asked = key;
    if (text.length < 2) { show([]); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const url = panel.dataset.searchUrl + "?" + new URLSearchParams({q: text.slice(0, 500), project: project()});
    try {
      const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"},
        signal: controller.signal});
      if (!response.ok) return;
      show((await response.json()).answers || []);
    } catch (error) {
      /* aborted by a newer keystroke, or offline: the last answers stay */
    }
  }

  description.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  document.addEventListener("change", (event) => {
    if (event.target && event.target.name === "project") search();
  });
  search();
})();
