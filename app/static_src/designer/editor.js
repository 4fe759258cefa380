// The BPMN editor page: bpmn-js Modeler with the properties panel and Kefu's engine settings,
// in Chinese (or English), saving drafts and deploying with every problem shown on its element.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import kefuProvider from './provider';
import spiffworkflow from './spiffworkflow.json';
import { translateModule } from './translate';
import { bindWorkspace } from './workspace';

function start() {
  const config = JSON.parse(document.getElementById('designer-config').textContent);
  const modeler = new BpmnModeler({
    container: '#canvas',
    keyboard: { bindTo: document },
    propertiesPanel: { parent: '#properties', layout: { groups: { kefu: { open: true } } } },
    additionalModules: [ BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, kefuProvider,
      translateModule(config.locale) ],
    moddleExtensions: { spiffworkflow },
    kefu: config
  });
  window.kefuModeler = modeler;
  const workspace = bindWorkspace(config, {
    content: () => modeler.saveXML({ format: true }).then((result) => result.xml),
    showProblems: (problems) => markProblems(modeler, config, problems),
    select: (elementId) => selectElement(modeler, elementId)
  });
  modeler.importXML(config.content).then(({ warnings }) => {
    modeler.get('canvas').zoom('fit-viewport');
    if (warnings.length) {
      workspace.note(config.text.importWarnings.replace('{count}', warnings.length));
    }
    document.body.dataset.editorReady = 'true';
  }).catch((error) => {
    workspace.note(`${config.text.cannotOpen}: ${error.message}`, 'danger');
    document.body.dataset.editorReady = 'error';
  });
  modeler.on('commandStack.changed', () => workspace.changed());
}

function markProblems(modeler, config, problems) {
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  const registry = modeler.get('elementRegistry');
  overlays.remove({ type: 'kefu-problem' });
  registry.getAll().forEach((element) => canvas.removeMarker(element, 'kefu-problem'));
  const shown = new Set();
  problems.filter((problem) => problem.file === config.file && problem.element_id).forEach((problem) => {
    const element = registry.get(problem.element_id);
    if (!element) {
      return;
    }
    canvas.addMarker(element, 'kefu-problem');
    if (shown.has(problem.element_id)) {
      return;
    }
    shown.add(problem.element_id);
    const badge = document.createElement('div');
    badge.className = 'kefu-problem-badge';
    badge.dataset.elementId = problem.element_id;
    badge.title = problems.filter((p) => p.element_id === problem.element_id).map((p) => p.text || p.message).join('\n');
    badge.textContent = '!';
    overlays.add(element, 'kefu-problem', { position: { top: -10, right: 10 }, html: badge });
  });
  return (element_id) => Boolean(registry.get(element_id));
}

function selectElement(modeler, elementId) {
  const element = modeler.get('elementRegistry').get(elementId);
  if (element) {
    modeler.get('selection').select(element);
    modeler.get('canvas').scrollToElement(element);
  }
}

start();
