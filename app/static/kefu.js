// Drawn signatures: a signature_pad canvas per signature field, sent as a PNG data URL on submit.
document.querySelectorAll(".signature-box").forEach((box) => {
  const canvas = box.querySelector("canvas");
  const input = document.getElementById(box.dataset.target);
  const pad = new SignaturePad(canvas);
  // The canvas is drawn at the screen's pixel density; a resize (a phone turned sideways) clears a
  // canvas, so the signature is drawn again afterwards.
  const resize = () => {
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.redraw();
  };
  resize();
  let width = canvas.offsetWidth;
  window.addEventListener("resize", () => {
    if (canvas.offsetWidth !== width) { width = canvas.offsetWidth; resize(); }
  });
  // A signature drawn before the form came back with an error is kept in the hidden input: show it.
  if (input.value.startsWith("data:image/png;base64,")) {
    pad.fromDataURL(input.value, { width: canvas.offsetWidth, height: canvas.offsetHeight });
  }
  box.parentElement.querySelector(".signature-clear").addEventListener("click", () => { pad.clear(); input.value = ""; });
  pad.addEventListener("endStroke", () => { input.value = pad.toDataURL("image/png"); });
  box.closest("form").addEventListener("submit", () => {
    if (!pad.isEmpty()) { input.value = pad.toDataURL("image/png"); }
  });
});

// One press sends a form once: a second tap on a slow connection would find the task already done.
document.querySelectorAll("form[data-submit-once]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
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
document.querySelectorAll("form[data-units-url]").forEach((form) => {
  const unit = form.querySelector("#unit");
  const project = form.querySelector("#project");
  if (!unit || !project) { return; }
  const options = document.createElement("datalist");
  options.id = "unit-options";
  unit.after(options);
  unit.setAttribute("list", options.id);
  unit.setAttribute("autocomplete", "off");
  let pending = null;
  let waiting = null;
  const lookUp = () => {
    if (pending) { pending.abort(); }
    if (!project.value) { options.replaceChildren(); return; }
    pending = new AbortController();
    const query = new URLSearchParams({ project: project.value, q: unit.value.trim() });
    fetch(`${form.dataset.unitsUrl}?${query}`, { signal: pending.signal, headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { items: [] }))
      .then((body) => {
        options.replaceChildren(...body.items.map((found) => {
          const option = document.createElement("option");
          option.value = found.code;
          option.label = found.owner_name ? `${found.code} · ${found.owner_name}` : found.code;
          return option;
        }));
      })
      .catch(() => {});  // a lookup that fails or is overtaken leaves typing as it was
  };
  unit.addEventListener("input", () => { clearTimeout(waiting); waiting = setTimeout(lookUp, 200); });
  project.addEventListener("change", lookUp);
  lookUp();
});


// Duplicate check before dispatch (合并工单): open or recent tickets of the same unit and category,
// with a one-click attach that records the call on that ticket instead of opening a new one.
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
  let asked = "";
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
      item.querySelector(".duplicate-detail").textContent = `${ticket.stage || ""} · ${ticket.received_at.slice(0, 10)}`;
      item.querySelector(".attach-call").addEventListener("click", async () => {
        const call = {caller_name: valueOf("caller_name"), phone: valueOf("phone"), description: valueOf("description"),
                      channel: valueOf("channel")};
        const attached = await fetch(`${form.dataset.duplicatesUrl.replace(/duplicates$/, "")}${encodeURIComponent(ticket.number)}/calls`, {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify({data: call})});
        if (attached.ok) { window.location.href = link.href; }
      });
      list.appendChild(item);
    });
    box.hidden = items.length === 0;
  };
  ["project", "unit", "category"].forEach((name) => form.querySelectorAll(`[name="${name}"]`).forEach(
    (input) => { input.addEventListener("change", check); input.addEventListener("blur", check); }));
  check();
})();
