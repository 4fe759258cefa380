// The decision-table editor page: dmn-js, with the same draft / deploy toolbar as the diagrams.
import DmnModeler from 'dmn-js/lib/Modeler';
import { bindWorkspace } from './workspace';

function start() {
  const config = JSON.parse(document.getElementById('designer-config').textContent);
  const modeler = new DmnModeler({ container: '#canvas', common: { keyboard: { bindTo: document } } });
  window.kefuModeler = modeler;
  const workspace = bindWorkspace(config, {
    content: () => modeler.saveXML({ format: true }).then((result) => result.xml),
    showProblems: () => null,
    select: () => {}
  });
  modeler.importXML(config.content).then(({ warnings }) => {
    const decision = modeler.getViews().find((view) => view.type === 'decisionTable');
    if (decision) {
      modeler.open(decision);
    }
    if (warnings.length) {
      workspace.note(config.text.importWarnings.replace('{count}', warnings.length));
    }
    document.body.dataset.editorReady = 'true';
  }).catch((error) => {
    workspace.note(`${config.text.cannotOpen}: ${error.message}`, 'danger');
    document.body.dataset.editorReady = 'error';
  });
}

start();
