// New ticket: who is calling (GET /api/v1/callers). As the agent types a phone (4 digits or more, debounced), when
// the phone system's screen-pop brings one (?phone=), or when a unit is picked, the panel beside the form shows who
// it is, their units and their open and recent tickets, and fills the project, unit, name (and, for a unit, the
// owner's phone) when the answer is unambiguous. A field the agent typed in is never overwritten.
(() => {
  const form = document.getElementById("ticket-form");
  const panel = document.getElementById("caller-panel");
  if (!form || !panel) { return; }
  const labels = JSON.parse(document.getElementById("caller-labels").textContent);
  const field = (name) => form.querySelector(`[name="${name}"]`);
  const phone = field("phone");
  const project = field("project");
  const unit = field("unit");
  const callerName = field("caller_name");
  const byId = (id) => document.getElementById(id);
  const status = byId("caller-status");
  const template = byId("caller-ticket");
  // Business time, written 2026-03-02 09:00 like the rest of the console (the Swedish form is ISO-like).
  const localTime = new Intl.DateTimeFormat("sv-SE", {timeZone: form.dataset.timeZone || undefined, year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
  const typedIn = new Set();
  [phone, project, unit, callerName].forEach((input) => {
    if (input) { input.addEventListener("input", () => { typedIn.add(input.name); filled.delete(input.name); }); }
  });
  // What came with the page (the screen-pop's phone, a form sent back with errors) counts as typed.
  [phone, unit, callerName].forEach((input) => { if (input && input.value) { typedIn.add(input.name); } });

  const filled = new Set();  // fields the panel filled: a later answer (the phone corrected) may fill them again
  const fill = (input, value) => {
    if (!input || !value || typedIn.has(input.name) || input.value === value) { return false; }
    if (input.tagName === "SELECT" && ![...input.options].some((option) => option.value === value)) { return false; }
    if (input.tagName !== "SELECT" && input.value && !filled.has(input.name)) { return false; }
    input.value = value;
    filled.add(input.name);
    input.dispatchEvent(new Event("change", {bubbles: true}));  // the unit lookup and the duplicate check listen
    return true;
  };

  const ticketItem = (ticket) => {
    const item = template.content.firstElementChild.cloneNode(true);
    const link = item.querySelector(".caller-ticket-number");
    link.textContent = ticket.number;
    link.href = form.dataset.ticketUrl.replace("NUMBER", encodeURIComponent(ticket.number));
    item.querySelector(".caller-ticket-detail").textContent = [labels.category[ticket.category] || ticket.category,
      ticket.unit, labels.stage[ticket.stage] || ticket.stage || ""].filter(Boolean).join(" · ");
    const due = item.querySelector(".caller-ticket-due");
    if (ticket.closed_at) {
      due.textContent = `${labels.closed} ${localTime.format(new Date(ticket.closed_at))}`;
    } else if (ticket.due_at) {
      due.textContent = `${ticket.overdue ? labels.overdue : labels.due} ${localTime.format(new Date(ticket.due_at))}`;
      due.classList.toggle("text-danger", ticket.overdue);
    }
    item.querySelector(".caller-ticket-problem").textContent = ticket.description || "";
    return item;
  };
  const listOf = (list, tickets) => {
    list.replaceChildren(...(tickets.length ? tickets.map(ticketItem) : [Object.assign(document.createElement("li"),
      {className: "list-group-item px-1 py-1 text-muted", textContent: labels.none})]));
  };

  const show = (caller) => {
    byId("caller-hint").hidden = true;
    byId("caller-who").hidden = false;
    byId("caller-tickets").hidden = false;
    byId("caller-name").textContent = caller.name || caller.phone || "";
    byId("caller-owner").hidden = !caller.is_owner;
    byId("caller-not-owner").hidden = caller.is_owner || !caller.known || !caller.name;
    byId("caller-unknown").hidden = caller.known;
    byId("caller-units").replaceChildren(...caller.units.map((place) => Object.assign(document.createElement("li"), {
      textContent: `${place.project_name} ${place.code}${place.owner_name ? ` · ${place.owner_name}` : ""}`})));
    byId("caller-open-count").textContent = String(caller.open_tickets.length);
    listOf(byId("caller-open"), caller.open_tickets);
    listOf(byId("caller-recent"), caller.recent_tickets);
  };

  let pending = null;
  const lookUp = async (query, {fromUnit}) => {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    status.textContent = labels.looking;
    let caller;
    try {
      const response = await fetch(`${panel.dataset.callersUrl}?${new URLSearchParams(query)}`,
        {signal: pending.signal, credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!response.ok) { status.textContent = labels.failed; return; }
      caller = await response.json();
    } catch (error) {
      if (error.name !== "AbortError") { status.textContent = labels.failed; }
      return;
    }
    status.textContent = "";
    show(caller);
    if (fromUnit) {
      fill(callerName, caller.fill.caller_name);
      fill(phone, caller.fill.phone);
      return;
    }
    fill(project, caller.fill.project);
    fill(unit, caller.fill.unit);
    fill(callerName, caller.fill.caller_name);
  };

  const digits = () => (phone ? phone.value.replace(/[\s()+-]/g, "").replace(/^86(?=1\d{10}$)/, "") : "");
  let waiting = null;
  const phoneChanged = () => {
    clearTimeout(waiting);
    const typed = digits();
    if (!/^\d{4,20}$/.test(typed)) { return; }
    waiting = setTimeout(() => lookUp({phone: typed}, {fromUnit: false}), 250);
  };
  if (phone) { phone.addEventListener("input", phoneChanged); }
  if (unit && project) {
    unit.addEventListener("change", () => {
      if (!unit.value.trim() || !project.value || (phone && typedIn.has("phone") && digits().length >= 7)) { return; }
      lookUp({project: project.value, unit: unit.value.trim()}, {fromUnit: true});
    });
  }
  if (/^\d{4,20}$/.test(digits())) { lookUp({phone: digits()}, {fromUnit: false}); }  // the screen-pop's number
})();
