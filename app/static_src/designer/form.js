// The form editor page: the JSON Schema, a field list that edits it without JSON (add a field, its
// Chinese label, required, choices), and a live preview drawn by the server's own form renderer.
import { bindWorkspace, post } from './workspace';

const config = JSON.parse(document.getElementById('designer-config').textContent);
const texts = JSON.parse(document.getElementById('form-texts').textContent);
const source = document.getElementById('schema-text');
const rows = document.querySelector('#field-list tbody');
const preview = document.getElementById('form-preview');
const errorList = document.getElementById('schema-errors');
let schema = null;
let previewTimer = null;

// The preview is a form to look at, never to send (a listener: the page's CSP refuses inline handlers).
preview.addEventListener('submit', (event) => event.preventDefault());

const TYPES = {
  text: { type: 'string' },
  textarea: { type: 'string', 'x-widget': 'textarea' },
  number: { type: 'number' },
  money: { type: 'number', multipleOf: 0.01, minimum: 0, 'x-widget': 'money' },
  boolean: { type: 'boolean' },
  date: { type: 'string', format: 'date' },
  datetime: { type: 'string', format: 'date-time' },
  phone: { type: 'string', 'x-widget': 'phone' },
  photo: { type: 'string', 'x-widget': 'photo' },
  signature: { type: 'string', 'x-widget': 'signature' },
  user: { type: 'string', 'x-widget': 'user', 'x-role': 'technician' },
  choice: { type: 'string', oneOf: [ { const: 'a', title: '选项一 / Option one' } ] }
};

function typeOf(spec) {
  if (spec.oneOf || spec.enum) return 'choice';
  if (spec['x-widget'] === 'textarea') return 'textarea';
  if (spec['x-widget'] === 'money') return 'money';
  if ([ 'phone', 'photo', 'signature', 'user' ].includes(spec['x-widget'])) return spec['x-widget'];
  if (spec['x-widget']) return 'other';
  if (spec.type === 'boolean') return 'boolean';
  if (spec.type === 'number' || spec.type === 'integer') return 'number';
  if (spec.format === 'date') return 'date';
  if (spec.format === 'date-time') return 'datetime';
  return spec.type === 'string' || !spec.type ? 'text' : 'other';
}

function splitLabel(title) {
  const [ zh, ...rest ] = String(title || '').split(' / ');
  return [ zh, rest.join(' / ') ];
}

function joinLabel(zh, en) {
  return en ? `${zh} / ${en}` : zh;
}

function choicesText(spec) {
  if (spec.oneOf) return spec.oneOf.map((choice) => `${choice.const}=${choice.title || choice.const}`).join('\n');
  if (spec.enum) return spec.enum.join('\n');
  return '';
}

function parseChoices(text) {
  return text.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const [ value, ...label ] = line.split('=');
    return { const: value.trim(), title: (label.join('=') || value).trim() };
  });
}

function writeSource() {
  source.value = `${JSON.stringify(schema, null, 2)}\n`;
  schedulePreview();
}

function input(value, onChange, attributes = {}) {
  const element = document.createElement(attributes.multiline ? 'textarea' : 'input');
  element.className = 'form-control form-control-sm';
  element.value = value;
  Object.entries(attributes).filter(([ key ]) => key !== 'multiline')
    .forEach(([ key, attribute ]) => element.setAttribute(key, attribute));
  element.addEventListener('change', () => onChange(element.value));
  return element;
}

function cell(...children) {
  const td = document.createElement('td');
  td.append(...children.filter(Boolean));
  return td;
}

function fieldRow(name, spec) {
  const tr = document.createElement('tr');
  tr.dataset.field = name;
  const [ zh, en ] = splitLabel(spec.title);
  const required = new Set(schema.required || []);
  const update = (change) => { change(); writeSource(); };

  const requiredBox = document.createElement('input');
  requiredBox.type = 'checkbox';
  requiredBox.className = 'form-check-input field-required';
  requiredBox.checked = required.has(name);
  requiredBox.setAttribute('aria-label', `${name} required`);
  requiredBox.addEventListener('change', () => update(() => {
    const names = (schema.required || []).filter((other) => other !== name);
    schema.required = requiredBox.checked ? [ ...names, name ] : names;
  }));

  const kind = typeOf(spec);
  const typeSelect = document.createElement('select');
  typeSelect.className = 'form-select form-select-sm field-type';
  texts.types.forEach(([ key, label ]) => {
    if (key === 'other' && kind !== 'other') return;
    typeSelect.append(new Option(label, key, false, key === kind));
  });
  typeSelect.addEventListener('change', () => update(() => {
    if (typeSelect.value !== 'other') {
      schema.properties[name] = { title: spec.title, ...TYPES[typeSelect.value],
        ...(spec.description ? { description: spec.description } : {}) };
    }
    renderFields();
  }));

  let choices = kind === 'choice' ? input(choicesText(spec), (value) => update(() => {
    delete spec.enum;
    spec.oneOf = parseChoices(value);
  }), { multiline: true, rows: 3, class: 'form-control form-control-sm field-choices', title: texts.choicesHelp,
    placeholder: texts.choicesHelp, 'aria-label': `${name} choices` }) : null;
  if (kind === 'user') {
    choices = roleSelect(spec['x-role'], (role) => update(() => { spec['x-role'] = role; }), name);
  }

  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'btn btn-sm btn-outline-danger field-remove';
  remove.textContent = texts.remove;
  remove.addEventListener('click', () => update(() => {
    delete schema.properties[name];
    schema.required = (schema.required || []).filter((other) => other !== name);
    renderFields();
  }));

  const code = document.createElement('code');
  code.textContent = name;
  tr.append(
    cell(code),
    cell(input(zh, (value) => update(() => { spec.title = joinLabel(value, splitLabel(spec.title)[1]); }),
      { class: 'form-control form-control-sm field-label-zh', 'aria-label': `${name} 中文` })),
    cell(input(en, (value) => update(() => { spec.title = joinLabel(splitLabel(spec.title)[0], value); }),
      { class: 'form-control form-control-sm field-label-en', 'aria-label': `${name} English` })),
    cell(typeSelect), cell(requiredBox), cell(choices), cell(remove));
  return tr;
}

function roleSelect(current, onChange, name) {
  const select = document.createElement('select');
  select.className = 'form-select form-select-sm field-role';
  select.setAttribute('aria-label', `${name} role`);
  (config.roles || []).forEach((role) => select.append(new Option(role.name, role.key, false, role.key === current)));
  select.addEventListener('change', () => onChange(select.value));
  return select;
}

function renderFields() {
  rows.replaceChildren();
  if (!schema) return;
  Object.entries(schema.properties || {}).forEach(([ name, spec ]) => {
    if (spec && typeof spec === 'object') rows.append(fieldRow(name, spec));
  });
}

function addField() {
  const name = document.getElementById('new-field-name').value.trim();
  const label = document.getElementById('new-field-label').value.trim();
  const kind = document.getElementById('new-field-type').value;
  const error = document.getElementById('add-field-error');
  if (!schema || !/^[a-z][a-z0-9_]*$/.test(name) || (schema.properties || {})[name]) {
    error.textContent = texts.badName;
    return;
  }
  error.textContent = '';
  schema.properties = { ...(schema.properties || {}), [name]: { title: label || name, ...TYPES[kind] } };
  document.getElementById('new-field-name').value = '';
  document.getElementById('new-field-label').value = '';
  renderFields();
  writeSource();
}

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(refreshPreview, 200);
}

async function refreshPreview() {
  const response = await post(config, config.previewUrl, { content: source.value });
  preview.innerHTML = response.body.html || '';  // rendered and escaped by the server's form template
  errorList.replaceChildren(...(response.body.errors || []).map((error) => {
    const item = document.createElement('li');
    item.className = 'schema-error';
    item.textContent = `${error.path ? error.path + ': ' : ''}${error.message}`;
    return item;
  }));
  errorList.dataset.state = (response.body.errors || []).length ? 'invalid' : 'valid';
  document.body.dataset.previewReady = 'true';
}

source.value = config.content;
try {
  schema = JSON.parse(config.content);
} catch (error) {
  schema = null;
}
texts.types.filter(([ key ]) => key !== 'other')
  .forEach(([ key, label ]) => document.getElementById('new-field-type').append(new Option(label, key)));
document.getElementById('add-field-button').addEventListener('click', addField);
source.addEventListener('input', () => {
  try {
    schema = JSON.parse(source.value);
    renderFields();
  } catch (error) {
    // keep the last good field list; the preview lists the JSON error
  }
  schedulePreview();
});
bindWorkspace(config, {
  content: () => Promise.resolve(source.value),
  showProblems: () => null,
  select: () => {}
});
renderFields();
refreshPreview();
document.body.dataset.editorReady = 'true';
