// The properties panel's "Kefu engine" group: what our engine reads from a diagram, edited without XML.
// Lanes pick a known role, user tasks a form (or a new one), instructions and narrowing expressions;
// scripts, conditions and timers are Python, checked by the server as you type.
import { h } from '@bpmn-io/properties-panel/preact';
import { useEffect, useState, useCallback } from '@bpmn-io/properties-panel/preact/hooks';
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited,
  isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const FORM_PROPERTY = 'formJsonSchemaFilename';
const TIMER_KINDS = [ 'timeDuration', 'timeDate', 'timeCycle' ];

// ---- reading and writing the spiffworkflow extension elements ----

function extensionValues(bo) {
  const extensions = bo.get('extensionElements');
  return extensions ? extensions.get('values') : [];
}

function findExtension(bo, type) {
  return extensionValues(bo).find((value) => is(value, type));
}

function addExtension(element, bo, item, bpmnFactory, modeling) {
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: extensions });
  }
  item.$parent = extensions;
  modeling.updateModdleProperties(element, extensions, { values: [ ...extensions.get('values'), item ] });
}

function removeExtension(element, bo, item, modeling) {
  const extensions = bo.get('extensionElements');
  modeling.updateModdleProperties(element, extensions, {
    values: extensions.get('values').filter((value) => value !== item)
  });
}

export function getProperty(bo, name) {
  const properties = findExtension(bo, 'spiffworkflow:Properties');
  const found = properties && properties.get('properties').find((property) => property.name === name);
  return found ? found.value : '';
}

function setProperty(element, name, value, services, owner) {
  const { bpmnFactory, modeling } = services;
  const bo = owner || getBusinessObject(element);
  let properties = findExtension(bo, 'spiffworkflow:Properties');
  const found = properties && properties.get('properties').find((property) => property.name === name);
  if (found && !value) {
    modeling.updateModdleProperties(element, properties, {
      properties: properties.get('properties').filter((property) => property !== found)
    });
  } else if (found) {
    modeling.updateModdleProperties(element, found, { value });
  } else if (value) {
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
    if (!properties) {
      properties = bpmnFactory.create('spiffworkflow:Properties', { properties: [ property ] });
      property.$parent = properties;
      addExtension(element, bo, properties, bpmnFactory, modeling);
    } else {
      property.$parent = properties;
      modeling.updateModdleProperties(element, properties, { properties: [ ...properties.get('properties'), property ] });
    }
  }
}

function getBody(bo, type) {
  const found = findExtension(bo, type);
  return found ? found.value || '' : '';
}

function setBody(element, type, value, services) {
  const { bpmnFactory, modeling } = services;
  const bo = getBusinessObject(element);
  const found = findExtension(bo, type);
  if (found && !value) {
    removeExtension(element, bo, found, modeling);
  } else if (found) {
    modeling.updateModdleProperties(element, found, { value });
  } else if (value) {
    addExtension(element, bo, bpmnFactory.create(type, { value }), bpmnFactory, modeling);
  }
}

function useServices() {
  return {
    bpmnFactory: useService('bpmnFactory'),
    modeling: useService('modeling'),
    translate: useService('translate'),
    debounce: useService('debounceInput'),
    config: useService('config').kefu || {}
  };
}

// ---- checking Python as you type ----

const checked = new Map();

function checkOnServer(config, kind, text) {
  const key = `${kind}\u0000${text}`;
  if (checked.has(key)) {
    return Promise.resolve(checked.get(key));
  }
  return fetch(config.checkUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken },
    body: JSON.stringify({ kind, text })
  }).then((response) => response.json()).then((body) => {
    checked.set(key, body.error || null);
    return body.error || null;
  });
}

function CheckedText(props) {
  const { element, id, label, kind, getValue, setValue, rows } = props;
  const services = useServices();
  const [ version, setVersion ] = useState(0);
  const value = getValue(element) || '';
  useEffect(() => {
    if (!value.trim() || checked.has(`${kind}\u0000${value}`)) {
      return undefined;
    }
    const timer = setTimeout(() => {
      checkOnServer(services.config, kind, value).then(() => setVersion((n) => n + 1)).catch(() => {});
    }, 250);
    return () => clearTimeout(timer);
  }, [ value, kind ]);
  const validate = useCallback((text) => checked.get(`${kind}\u0000${text || ''}`) || null, [ version, kind ]);
  return h(TextAreaEntry, {
    element, id, label: services.translate(label), rows: rows || 2, monospace: true,
    debounce: services.debounce, getValue, setValue, validate
  });
}

// ---- the entries ----

function LaneRole(props) {
  const { element, id } = props;
  const services = useServices();
  const { translate } = services;
  const roles = services.config.roles || [];
  const getOptions = () => {
    const current = getBusinessObject(element).name || '';
    const options = [ { value: '', label: '—' } ].concat(roles.map((role) => ({
      value: role.key, label: `${role.name} (${role.key})`
    })));
    if (current && !roles.some((role) => role.key === current || role.name === current)) {
      options.push({ value: current, label: translate('Unknown role: {name}', { name: current }) });
    }
    return options;
  };
  const getValue = () => {
    const current = getBusinessObject(element).name || '';
    const role = roles.find((candidate) => candidate.name === current);
    return role ? role.key : current;
  };
  return h(SelectEntry, {
    element, id, label: translate('Role of the lane'), getValue, getOptions,
    description: translate('The people of this role see the lane\'s tasks.'),
    setValue: (value) => services.modeling.updateProperties(element, { name: value })
  });
}

function FormChoice(props) {
  const { element, id } = props;
  const services = useServices();
  const { translate, config } = services;
  const bo = getBusinessObject(element);
  const getOptions = () => {
    const current = getProperty(bo, FORM_PROPERTY);
    const names = [ ...(config.forms || []) ];
    if (current && !names.includes(current)) {
      names.push(current);
    }
    return [ { value: '', label: translate('No form (an empty submission)') } ]
      .concat(names.sort().map((name) => ({ value: name, label: name })));
  };
  return h(SelectEntry, {
    element, id, label: translate('Form'), getOptions,
    getValue: () => getProperty(bo, FORM_PROPERTY),
    setValue: (value) => setProperty(element, FORM_PROPERTY, value, services)
  });
}

function NewForm(props) {
  const { element, id } = props;
  const services = useServices();
  const { translate, config } = services;
  const [ name, setName ] = useState('');
  const [ message, setMessage ] = useState('');
  const current = getProperty(getBusinessObject(element), FORM_PROPERTY);
  const create = () => {
    const file = name.trim().endsWith('.json') ? name.trim() : `${name.trim()}.json`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*\.json$/.test(file)) {
      setMessage(translate('A form file name ends in .json and uses letters, digits and underscores.'));
      return;
    }
    const title = getBusinessObject(element).name || file;
    fetch(config.newFormUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken },
      body: JSON.stringify({ name: file, title })
    }).then((response) => response.json().then((body) => ({ ok: response.ok, body }))).then(({ ok, body }) => {
      if (!ok) {
        setMessage(body.message || 'error');
        return;
      }
      config.forms = [ ...(config.forms || []).filter((form) => form !== file), file ];
      setProperty(element, FORM_PROPERTY, file, services);
      setName('');
      setMessage(translate('The form {name} was created as a draft.', { name: file }));
    });
  };
  return h('div', { class: 'bio-properties-panel-entry kefu-new-form', 'data-entry-id': id }, [
    h('label', { class: 'bio-properties-panel-label', for: `${id}-name` }, translate('New form file')),
    h('div', { class: 'kefu-inline' }, [
      h('input', { id: `${id}-name`, class: 'bio-properties-panel-input', value: name, placeholder: 'complaint_check.json',
        onInput: (event) => setName(event.target.value) }),
      h('button', { type: 'button', class: 'kefu-button', id: 'kefu-create-form', onClick: create }, translate('New form'))
    ]),
    message ? h('div', { class: 'bio-properties-panel-description kefu-form-message' }, message) : null,
    current ? h('a', { class: 'kefu-edit-form', href: config.fileUrl.replace('__NAME__', current), target: '_blank' },
      `${translate('Edit the form')}: ${current}`) : null
  ]);
}

function Instructions(props) {
  const { element, id } = props;
  const services = useServices();
  return h(TextAreaEntry, {
    element, id, rows: 4, debounce: services.debounce,
    label: services.translate('Instructions (Markdown, {{ field }} shows task data)'),
    getValue: () => getBody(getBusinessObject(element), 'spiffworkflow:InstructionsForEndUser'),
    setValue: (value) => setBody(element, 'spiffworkflow:InstructionsForEndUser', value, services)
  });
}

function Narrowing(props) {
  const { element, id, property, label } = props;
  const services = useServices();
  return h(CheckedText, {
    element, id, label, kind: 'expression', rows: 1,
    getValue: () => getProperty(getBusinessObject(element), property),
    setValue: (value) => setProperty(element, property, value, services)
  });
}

function Department(props) {
  return h(Narrowing, { ...props, property: 'department', label: 'Department (Python expression)' });
}

function Assignee(props) {
  return h(Narrowing, { ...props, property: 'assignee', label: 'Assignee (Python expression)' });
}

function PreScript(props) {
  return h(ExtensionScript, { ...props, type: 'spiffworkflow:PreScript', label: 'Script before the step (Python)' });
}

function PostScript(props) {
  return h(ExtensionScript, { ...props, type: 'spiffworkflow:PostScript', label: 'Script after the step (Python)' });
}

function ExtensionScript(props) {
  const { element, id, type, label } = props;
  const services = useServices();
  return h(CheckedText, {
    element, id, label, kind: 'script', rows: 3,
    getValue: () => getBody(getBusinessObject(element), type),
    setValue: (value) => setBody(element, type, value, services)
  });
}

function Script(props) {
  const { element, id } = props;
  const services = useServices();
  return h(CheckedText, {
    element, id, label: 'Script (Python)', kind: 'script', rows: 6,
    getValue: () => getBusinessObject(element).get('script') || '',
    setValue: (value) => services.modeling.updateProperties(element, { script: value, scriptFormat: 'python' })
  });
}

function Condition(props) {
  const { element, id } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  const setValue = (value) => {
    if (!value) {
      services.modeling.updateProperties(element, { conditionExpression: undefined });
      return;
    }
    const expression = bo.get('conditionExpression');
    if (expression) {
      services.modeling.updateModdleProperties(element, expression, { body: value });
    } else {
      const created = services.bpmnFactory.create('bpmn:FormalExpression', { body: value });
      services.modeling.updateProperties(element, { conditionExpression: created });
    }
  };
  return h(CheckedText, {
    element, id, label: 'Condition (Python expression)', kind: 'condition', rows: 2,
    getValue: () => { const expression = bo.get('conditionExpression'); return expression ? expression.body || '' : ''; },
    setValue
  });
}

function timerDefinition(element) {
  const bo = getBusinessObject(element);
  return (bo.get('eventDefinitions') || []).find((definition) => is(definition, 'bpmn:TimerEventDefinition'));
}

function timerKind(definition) {
  return TIMER_KINDS.find((kind) => definition.get(kind)) || '';
}

function TimerKind(props) {
  const { element, id } = props;
  const services = useServices();
  const definition = timerDefinition(element);
  const setValue = (kind) => {
    const old = timerKind(definition);
    const body = old ? definition.get(old).body : '"PT24H"';
    const expression = services.bpmnFactory.create('bpmn:FormalExpression', { body });
    expression.$parent = definition;
    const changes = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    changes[kind] = expression;
    services.modeling.updateModdleProperties(element, definition, changes);
  };
  return h(SelectEntry, {
    element, id, label: services.translate('Timer kind'), setValue,
    getValue: () => timerKind(definition),
    getOptions: () => [ { value: '', label: '—' }, { value: 'timeDuration', label: services.translate('Duration') },
      { value: 'timeDate', label: services.translate('Date') }, { value: 'timeCycle', label: services.translate('Cycle') } ]
  });
}

function TimerExpression(props) {
  const { element, id } = props;
  const services = useServices();
  const definition = timerDefinition(element);
  const kind = timerKind(definition);
  return h(CheckedText, {
    element, id, label: 'Timer expression (Python giving ISO 8601, e.g. "PT24H")', kind: `timer:${kind}`, rows: 1,
    getValue: () => (kind ? definition.get(kind).body || '' : ''),
    setValue: (value) => services.modeling.updateModdleProperties(element, definition.get(kind), { body: value })
  });
}

function DecisionId(props) {
  const { element, id } = props;
  const services = useServices();
  return h(TextFieldEntry, {
    element, id, debounce: services.debounce, label: services.translate('Decision table (decision id)'),
    getValue: () => getBody(getBusinessObject(element), 'spiffworkflow:CalledDecisionId'),
    setValue: (value) => setBody(element, 'spiffworkflow:CalledDecisionId', value, services)
  });
}

function CalledProcess(props) {
  const { element, id } = props;
  const services = useServices();
  return h(TextFieldEntry, {
    element, id, debounce: services.debounce, label: services.translate('Called process (process id)'),
    getValue: () => getBusinessObject(element).get('calledElement') || '',
    setValue: (value) => services.modeling.updateProperties(element, { calledElement: value })
  });
}

function processOf(element) {
  const bo = getBusinessObject(element);
  return is(bo, 'bpmn:Participant') ? bo.get('processRef') : bo;
}

function StartRoles(props) {
  const { element, id } = props;
  const services = useServices();
  const { translate, config } = services;
  const known = new Set((config.roles || []).flatMap((role) => [ role.key, role.name ]));
  return h(TextFieldEntry, {
    element, id, debounce: services.debounce,
    label: translate('Who may start (role keys, comma-separated; empty: the first lane)'),
    getValue: () => getProperty(processOf(element), 'startRoles'),
    setValue: (value) => setProperty(element, 'startRoles', value, services, processOf(element)),
    validate: (value) => {
      const unknown = (value || '').split(',').map((name) => name.trim()).filter((name) => name && !known.has(name));
      return unknown.length ? translate('Unknown role: {name}', { name: unknown.join(', ') }) : null;
    }
  });
}

function isConditionalFlow(element) {
  if (!is(element, 'bpmn:SequenceFlow')) {
    return false;
  }
  const source = getBusinessObject(element).sourceRef;
  return is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway') || is(source, 'bpmn:Activity');
}

function kefuEntries(element) {
  const entries = [];
  if ((is(element, 'bpmn:Participant') && getBusinessObject(element).get('processRef')) || is(element, 'bpmn:Process')) {
    entries.push({ id: 'kefu-start-roles', component: StartRoles, isEdited: isTextFieldEntryEdited });
  }
  if (is(element, 'bpmn:Lane')) {
    entries.push({ id: 'kefu-lane-role', component: LaneRole, isEdited: isSelectEntryEdited });
  }
  if (is(element, 'bpmn:UserTask')) {
    entries.push({ id: 'kefu-form', component: FormChoice, isEdited: isSelectEntryEdited },
      { id: 'kefu-new-form', component: NewForm },
      { id: 'kefu-instructions', component: Instructions, isEdited: isTextAreaEntryEdited },
      { id: 'kefu-department', component: Department, isEdited: isTextAreaEntryEdited },
      { id: 'kefu-assignee', component: Assignee, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:StartEvent') && !timerDefinition(element)) {
    entries.push({ id: 'kefu-form', component: FormChoice, isEdited: isSelectEntryEdited });
  }
  if (is(element, 'bpmn:ScriptTask')) {
    entries.push({ id: 'kefu-script', component: Script, isEdited: isTextAreaEntryEdited });
  }
  if (isConditionalFlow(element)) {
    entries.push({ id: 'kefu-condition', component: Condition, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:Event') && timerDefinition(element)) {
    entries.push({ id: 'kefu-timer-kind', component: TimerKind, isEdited: isSelectEntryEdited });
    if (timerKind(timerDefinition(element))) {
      entries.push({ id: 'kefu-timer', component: TimerExpression, isEdited: isTextAreaEntryEdited });
    }
  }
  if (is(element, 'bpmn:Activity')) {
    entries.push({ id: 'kefu-pre-script', component: PreScript, isEdited: isTextAreaEntryEdited },
      { id: 'kefu-post-script', component: PostScript, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    entries.push({ id: 'kefu-decision', component: DecisionId, isEdited: isTextFieldEntryEdited });
  }
  if (is(element, 'bpmn:CallActivity')) {
    entries.push({ id: 'kefu-called', component: CalledProcess, isEdited: isTextFieldEntryEdited });
  }
  return entries;
}

class KefuPropertiesProvider {
  constructor(propertiesPanel, translate) {
    propertiesPanel.registerProvider(400, this);
    this._translate = translate;
  }

  getGroups(element) {
    return (groups) => {
      const entries = kefuEntries(element);
      // Our timer entries replace the standard ones (which expect no Python).
      const kept = groups.filter((group) => group.id !== 'timer');
      if (!entries.length) {
        return kept;
      }
      const general = kept.findIndex((group) => group.id === 'general');
      kept.splice(general + 1, 0, { id: 'kefu', label: this._translate('Kefu engine'), entries });
      return kept;
    };
  }
}

KefuPropertiesProvider.$inject = [ 'propertiesPanel', 'translate' ];

export default {
  __init__: [ 'kefuPropertiesProvider' ],
  kefuPropertiesProvider: [ 'type', KefuPropertiesProvider ]
};
