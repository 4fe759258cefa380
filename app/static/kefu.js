// One press sends a form once: a second tap on a slow connection would find the task already done.
document.querySelectorAll("form[data-submit-once]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
  });
});
// Ctrl+Enter (Cmd+Enter on a Mac) sends a task or a new ticket from any field, as the button next to it says.
document.querySelectorAll("form[data-submit-once]").forEach((form) => {
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.defaultPrevented) { return; }
    event.preventDefault();
    form.requestSubmit(form.querySelector("button[type=submit]") || undefined);
  });
});
// Back to a page kept by the browser's back/forward cache: its forms may be sent again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) { return; }
  document.querySelectorAll("form[data-submit-once]").forEach((form) => {
    delete form.dataset.submitted;
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = false; });
  });
});

// New ticket: the chosen project's units, offered as the agent types a unit code or the owner's name.
// A combobox (WAI-ARIA): ArrowDown/ArrowUp move through the suggestions, Enter takes one, Escape closes.
document.querySelectorAll("form[data-units-url]").forEach((form) => {
  const unit = form.querySelector("#unit");
  const project = form.querySelector("#project");
  if (!unit || !project) { return; }
  const list = document.createElement("ul");
  list.id = "unit-options";
  list.className = "list-group unit-options shadow-sm";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  unit.after(list);
  unit.parentElement.classList.add("position-relative");
  Object.entries({role: "combobox", "aria-autocomplete": "list", "aria-controls": list.id, "aria-expanded": "false",
                  autocomplete: "off"}).forEach(([name, value]) => unit.setAttribute(name, value));
  let active = -1;
  const options = () => [...list.querySelectorAll("[role=option]")];
  const show = (open) => {
    list.hidden = !open || options().length === 0;
    unit.setAttribute("aria-expanded", String(!list.hidden));
    if (list.hidden) { highlight(-1); }
  };
  const highlight = (index) => {
    active = index;
    options().forEach((option, i) => {
      option.classList.toggle("active", i === index);
      option.setAttribute("aria-selected", String(i === index));
    });
    const current = options()[index];
    if (current) { unit.setAttribute("aria-activedescendant", current.id); current.scrollIntoView({block: "nearest"}); }
    else { unit.removeAttribute("aria-activedescendant"); }
  };
  const take = (option) => {
    unit.value = option.dataset.value;
    show(false);
    unit.dispatchEvent(new Event("change", {bubbles: true}));  // the duplicate check listens
  };
  let pending = null;
  let waiting = null;
  const lookUp = (open) => {
    if (pending) { pending.abort(); }
    if (!project.value) { list.replaceChildren(); show(false); return; }
    pending = new AbortController();
    const query = new URLSearchParams({project: project.value, q: unit.value.trim()});
    fetch(`${form.dataset.unitsUrl}?${query}`, {signal: pending.signal, headers: {Accept: "application/json"}})
      .then((response) => (response.ok ? response.json() : {items: []}))
      .then((body) => {
        list.replaceChildren(...body.items.map((found, index) => {
          const option = document.createElement("li");
          option.id = `unit-option-${index}`;
          option.className = "list-group-item list-group-item-action py-1";
          option.setAttribute("role", "option");
          option.setAttribute("aria-selected", "false");
          option.dataset.value = found.code;
          option.textContent = found.owner_name ? `${found.code} · ${found.owner_name}` : found.code;
          option.addEventListener("mousedown", (event) => { event.preventDefault(); take(option); });
          return option;
        }));
        active = -1;
        show(open && document.activeElement === unit);
      })
      .catch(() => {});  // a lookup that fails or is overtaken leaves typing as it was
  };
  unit.addEventListener("input", () => { clearTimeout(waiting); waiting = setTimeout(() => lookUp(true), 200); });
  unit.addEventListener("keydown", (event) => {
    const count = options().length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!count) { return; }
      event.preventDefault();
      if (list.hidden) { show(true); highlight(event.key === "ArrowDown" ? 0 : count - 1); return; }
      highlight((active + (event.key === "ArrowDown" ? 1 : count - 1)) % count);
    } else if (event.key === "Enter" && !list.hidden && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      if (active >= 0) { take(options()[active]); } else { show(false); }
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      show(false);
    }
  });
  unit.addEventListener("blur", () => show(false));
  project.addEventListener("change", () => lookUp(false));
  lookUp(false);
});


// New ticket, made for an agent on the phone: focus starts in the first field to fill, Enter never sends
// a half-typed call, Ctrl+Enter saves, number keys choose the category, fields of other categories stay out
// of the way (and out of the tab order).
document.querySelectorAll("form[data-intake]").forEach((form) => {
  const onlyFor = JSON.parse(form.dataset.onlyFor || "{}");
  const checkedCategory = () => (form.querySelector('[name="category"]:checked') || {}).value
    || (form.querySelector('select[name="category"]') || {}).value || "";
  const showFieldsOf = (category) => {
    Object.entries(onlyFor).forEach(([name, categories]) => {
      const box = form.querySelector(`.field[data-field="${name}"]`);
      if (!box) { return; }
      const shown = categories.includes(category);
      box.hidden = !shown;
      box.querySelectorAll("input, select, textarea").forEach((input) => { input.disabled = !shown; });
    });
  };
  showFieldsOf(checkedCategory());
  form.querySelectorAll('[name="category"]').forEach((input) => {
    input.addEventListener("change", () => showFieldsOf(checkedCategory()));
  });

  const picker = form.querySelector(".category-picker");
  if (picker) {
    picker.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.altKey || event.metaKey) { return; }
      const choice = picker.querySelector(`input[data-key="${event.key}"]`);
      if (!choice) { return; }
      event.preventDefault();
      choice.checked = true;
      choice.focus();
      choice.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.defaultPrevented && !event.ctrlKey && !event.metaKey
        && event.target instanceof HTMLInputElement && event.target.type !== "submit") {
      event.preventDefault();  // Enter in a field would send the call before it is complete
    }
  });

  const fillable = [...form.querySelectorAll(".field")].filter((box) => !box.hidden).map((box) => {
    const inputs = [...box.querySelectorAll("input:not([type=hidden]):not([disabled]), select, textarea")];
    const invalid = box.querySelector(".is-invalid") !== null || box.querySelector(".field-error") !== null;
    const empty = inputs.every((input) => (["radio", "checkbox"].includes(input.type) ? !input.checked : !input.value));
    const target = inputs.find((input) => input.checked) || inputs[0];
    return {target, invalid, empty};
  }).filter((entry) => entry.target);
  const first = fillable.find((entry) => entry.invalid) || fillable.find((entry) => entry.empty);
  if (first) { first.target.focus(); }
});


// Duplicate check before dispatch (合并工单): open or recent tickets of the same unit and category,
// with a one-click (or Enter) attach that records the call on that ticket instead of opening a new one.
(() => {
  const form = document.getElementById("ticket-form");
  const box = document.getElementById("duplicates");
  if (!form || !box || !form.dataset.duplicatesUrl) { return; }
  const field = (name) => form.querySelector(`[name="${name}"]`);
  const valueOf = (name) => {
    const checked = form.querySelector(`[name="${name}"]:checked`);
    return (checked ? checked.value : (field(name) || {}).value || "").trim();
  };
  const csrf = form.querySelector('[name="csrf_token"]').value;
  const list = document.getElementById("duplicate-list");
  const template = document.getElementById("duplicate-item");
  const status = document.getElementById("duplicates-status");
  const failed = document.getElementById("attach-failed");
  const stageLabels = JSON.parse(form.dataset.stageLabels || "{}");
  // Business time, written 2026-03-02 09:00 like the rest of the console (the Swedish form is ISO-like).
  const localTime = new Intl.DateTimeFormat("sv-SE", {timeZone: form.dataset.timeZone || undefined, year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
  let asked = "";
  const attach = async (ticket, link, button) => {
    const call = {caller_name: valueOf("caller_name"), phone: valueOf("phone"), description: valueOf("description"),
                  channel: valueOf("channel")};
    button.disabled = true;
    failed.hidden = true;
    const attached = await fetch(`${form.dataset.duplicatesUrl.replace(/duplicates$/, "")}${encodeURIComponent(ticket.number)}/calls`, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify({data: call})})
      .catch(() => null);
    // The ticket page then confirms the attach and the chase count, for the agent to read to the caller.
    if (attached && attached.ok) { window.location.href = `${link.href}?attached=1`; return; }
    button.disabled = false;
    failed.hidden = false;
  };
  const check = async () => {
    const query = new URLSearchParams({project: valueOf("project"), unit: valueOf("unit"), category: valueOf("category")});
    if (!query.get("project") || !query.get("unit") || !query.get("category") || query.toString() === asked) { return; }
    asked = query.toString();
    const response = await fetch(`${form.dataset.duplicatesUrl}?${query}`, {credentials: "same-origin"});
    if (!response.ok) { return; }
    const items = (await response.json()).items;
    list.replaceChildren();
    items.forEach((ticket) => {
      const item = template.content.firstElementChild.cloneNode(true);
      const link = item.querySelector(".duplicate-number");
      link.textContent = ticket.number;
      link.href = form.dataset.ticketUrl.replace("NUMBER", encodeURIComponent(ticket.number));
      const received = ticket.received_at ? localTime.format(new Date(ticket.received_at)) : "";
      item.querySelector(".duplicate-detail").textContent = `${stageLabels[ticket.stage] || ticket.stage || ""} · ${received}`;
      const button = item.querySelector(".attach-call");
      button.setAttribute("aria-describedby", `duplicate-${ticket.number}`);
      link.id = `duplicate-${ticket.number}`;
      button.addEventListener("click", () => attach(ticket, link, button));
      list.appendChild(item);
    });
    box.hidden = items.length === 0;
    status.textContent = items.length ? document.getElementById("duplicates-title").textContent + `: ${items.length}` : "";
  };
  ["project", "unit", "category"].forEach((name) => form.querySelectorAll(`[name="${name}"]`).forEach(
    (input) => { input.addEventListener("change", check); input.addEventListener("blur", check); }));
  check();
})();
