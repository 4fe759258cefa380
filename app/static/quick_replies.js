// Quick replies (常用话术): a picker beside note fields that inserts a supervisor's short text at the cursor.
// Enhances textarea[data-quick-replies]; when the page marks none, every editable textarea of its forms.
(function () {
  "use strict";
  const source = document.getElementById("quick-replies-source");
  if (!source) return;
  let fields = Array.from(document.querySelectorAll("textarea[data-quick-replies]"));
  if (!fields.length) fields = Array.from(document.querySelectorAll("form textarea:not([readonly]):not([disabled])"));
  fields = fields.filter((field) => field.dataset.quickReplies !== "off");
  if (!fields.length) return;

  function insert(field, text) {
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? field.value.length;
    const before = field.value.slice(0, start);
    const glue = /[A-Za-z0-9.,;:!?]$/.test(before) ? " " : "";  // Chinese text needs no space between
    let value = before + glue + text + field.value.slice(end);
    const limit = Number(field.getAttribute("maxlength")) || 0;
    if (limit && value.length > limit) value = value.slice(0, limit);
    field.value = value;
    const caret = Math.min(value.length, start + glue.length + text.length);
    field.focus();
    field.setSelectionRange(caret, caret);
    field.dispatchEvent(new Event("input", {bubbles: true}));  // counters and checks see the change
  }

  function picker(field, replies) {
    const select = document.createElement("select");
    select.className = "form-select form-select-sm mt-1 quick-reply-picker";
    select.setAttribute("aria-label", source.dataset.label);
    select.dataset.for = field.id || field.name;
    const first = document.createElement("option");
    first.value = "";
    first.textContent = source.dataset.label;
    select.append(first);
    for (const reply of replies) {
      const option = document.createElement("option");
      option.value = String(reply.id);
      option.textContent = reply.title;
      option.title = reply.body;
      select.append(option);
    }
    select.addEventListener("change", () => {
      const reply = replies.find((candidate) => String(candidate.id) === select.value);
      if (reply) insert(field, reply.body);
      select.value = "";
    });
    field.after(select);
  }

  fetch(source.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then((response) => (response.ok ? response.json() : {replies: []}))
    .then((data) => {
      const replies = data.replies || [];
      if (!replies.length) return;
      for (const field of fields) picker(field, replies);
    })
    .catch(() => { /* no picker: the fields work without it */ });
})();
