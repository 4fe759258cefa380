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
