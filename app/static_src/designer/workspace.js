// The editor pages' shared toolbar: save the draft, deploy every draft, download, list the problems.

export function post(config, url, body) {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken },
    body: JSON.stringify(body)
  }).then((response) => response.json().catch(() => ({ message: response.statusText }))
    .then((payload) => ({ ok: response.ok, status: response.status, body: payload })));
}

export function bindWorkspace(config, editor) {
  const status = document.getElementById('designer-status');
  const list = document.getElementById('problem-list');
  const count = document.getElementById('problem-count');
  const text = config.text;

  function note(message, kind = 'info') {
    status.className = `alert alert-${kind} py-1 px-2 mb-2`;
    status.dataset.state = kind;
    status.textContent = message;
    status.hidden = false;
  }

  function showProblems(problems) {
    const onThisFile = editor.showProblems(problems) || (() => false);
    list.replaceChildren();
    problems.forEach((problem) => {
      const item = document.createElement('li');
      item.className = 'list-group-item small problem';
      item.dataset.file = problem.file;
      item.dataset.elementId = problem.element_id || '';
      const here = problem.file === config.file;
      const where = document.createElement(here && problem.element_id && onThisFile(problem.element_id) ? 'button'
        : here ? 'span' : 'a');
      where.className = where.tagName === 'SPAN' ? 'me-1 text-muted' : 'btn btn-link btn-sm p-0 me-1 align-baseline';
      where.textContent = `${problem.file}${problem.element_id ? ' · ' + problem.element_id : ''}`;
      if (where.tagName === 'A') {
        where.href = config.fileUrl.replace('__NAME__', encodeURIComponent(problem.file));
        where.target = '_blank';
      }
      if (where.tagName === 'BUTTON') {
        where.type = 'button';
        where.addEventListener('click', () => editor.select(problem.element_id));
      }
      const message = document.createElement('span');
      message.className = 'problem-text';
      message.textContent = problem.text || problem.message;
      message.title = problem.message;
      item.append(where, message);
      list.append(item);
    });
    count.textContent = String(problems.length);
    count.className = `badge ${problems.length ? 'text-bg-danger' : 'text-bg-success'}`;
  }

  async function save() {
    note(text.saving);
    const response = await post(config, config.saveUrl, { content: await editor.content(), revision: config.revision });
    if (!response.ok) {
      note(response.body.message || text.failed, 'danger');
      return false;
    }
    config.revision = response.body.revision;
    const problems = response.body.problems || [];
    showProblems(problems);
    note(problems.length ? text.savedWithProblems.replace('{count}', problems.length) : text.saved,
      problems.length ? 'warning' : 'success');
    return true;
  }

  async function deploy() {
    if (!(await save())) {
      return;
    }
    note(text.deploying);
    const response = await post(config, config.deployUrl, {});
    if (response.ok) {
      showProblems([]);
      const versions = (response.body.versions || []).map((v) => `${v.title} v${v.version}`).join(', ');
      note(versions ? `${text.deployed} ${versions}` : text.nothingChanged, 'success');
      document.getElementById('draft-badge')?.setAttribute('hidden', '');
      document.getElementById('draft-saved-by')?.setAttribute('hidden', '');
    } else {
      showProblems(response.body.problems || []);
      note(response.body.message || text.failed, 'danger');
    }
  }

  async function download() {
    const type = config.kind === 'form' ? 'application/json' : 'application/xml';
    const blob = new Blob([ await editor.content() ], { type });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = config.file;
    link.click();
    URL.revokeObjectURL(link.href);
  }

  document.getElementById('save-draft').addEventListener('click', save);
  document.getElementById('deploy').addEventListener('click', deploy);
  document.getElementById('download-file')?.addEventListener('click', download);
  if (config.problems && config.problems.length) {
    setTimeout(() => showProblems(config.problems), 0);
  }
  return {
    note,
    showProblems,
    changed() {
      status.dataset.state = 'changed';
    }
  };
}
