// A task's form, made for a technician on a phone: the first field (or the first error) in focus,
// conditional asterisks that follow the answers, and live counters on fields with a length limit.
document.querySelectorAll("form[data-task-form]").forEach((form) => {
  const editable = ":is(input:not([type=hidden]), select, textarea):not([disabled]):not([readonly])";

  // After a refused submission the page opens at the first field to correct, else at the first field to fill.
  const firstError = form.querySelector(`.field .is-invalid, .field:has(.field-error) ${editable}`);
  const target = firstError || form.querySelector(`.field ${editable}`);
  if (firstError) {
    firstError.closest(".field").scrollIntoView({block: "center"});
    firstError.focus({preventScroll: true});
  } else if (target && !window.location.hash) {
    target.focus({preventScroll: true});
  }
  // The error banner's links go to the field and put the cursor in it.
  document.querySelectorAll("#form-errors [data-error-field]").forEach((link) => {
    link.addEventListener("click", (event) => {
      const box = form.querySelector(`.field[data-field="${link.dataset.errorField}"]`);
      if (!box) { return; }
      event.preventDefault();
      box.scrollIntoView({block: "center"});
      const input = box.querySelector(editable);
      if (input) { input.focus({preventScroll: true}); }
    });
  });

  // A field's value as its condition reads it: a radio's checked value ("true"/"false" for yes/no), else the input's.
  const valueOf = (name) => {
    const inputs = [...form.querySelectorAll(`[name="${CSS.escape(name)}"]`)];
    if (!inputs.length) { return undefined; }
    if (inputs[0].type === "radio") {
      const checked = inputs.find((input) => input.checked);
      return checked ? checked.value : "";
    }
    return inputs[0].value;
  };
  const same = (value, wanted) => value === String(wanted);
  const holds = (test, value) => {
    if (test !== null && typeof test === "object") {
      if ("$in" in test) { return test.$in.some((wanted) => same(value, wanted)); }
      if ("$not" in test) { return Boolean(value) && !same(value, test.$not); }
      if ("$present" in test) { return Boolean(value); }
      return !value;
    }
    return same(value, test);
  };
  const conditional = [...form.querySelectorAll(".field[data-required-when]")];
  const mark = () => {
    conditional.forEach((box) => {
      const alternatives = JSON.parse(box.dataset.requiredWhen);
      const now = alternatives.some((clauses) => Object.entries(clauses).every(([name, test]) => holds(test, valueOf(name))));
      box.classList.toggle("required-now", now);
    });
  };
  if (conditional.length) {
    form.addEventListener("change", mark);
    mark();
  }

  // Counters: "12 / 4000", warning from nine tenths of the limit.
  form.querySelectorAll("[data-counts]").forEach((counter) => {
    const input = form.querySelector(`#${CSS.escape(counter.dataset.counts)}`);
    const limit = Number(input.getAttribute("maxlength"));
    const count = () => {
      counter.textContent = `${input.value.length} / ${limit}`;
      counter.classList.toggle("text-danger", input.value.length >= limit * 0.9);
    };
    input.addEventListener("input", count);
    count();
  });
});
