// The decision-table editor page: dmn-js, with the same draft / deploy toolbar as the diagrams.
import DmnModeler from 'dmn-js/lib/Modeler';
import dmnZh from './dmn-zh';
import { translateModule } from './translate';
import { bindWorkspace } from './workspace';

function start() {
  const config = JSON.parse(document.getElementById('designer-config').textContent);
  // dmn-js gives each view its own additionalModules (the common ones would be overwritten).
  const translated = { additionalModules: [ translateModule(config.locale, dmnZh) ] };
  const modeler = new DmnModeler({
    container: '#canvas', common: { keyboard: { bindTo: document } },
    drd: translated, decisionTable: translated, literalExpression: translated, boxedExpression: translated
  });
  window.kefuModeler = modeler;
  const workspace = bindWorkspace(config, {
    content: () => modeler.saveXML({ format: true }).then((result) => result.xml),
    showProblems: (problems) => markRows(config, problems),
    select: (ruleId) => document.querySelector(`td[data-row-id="${CSS.escape(ruleId)}"]`)?.scrollIntoView({ block: 'center' })
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

// A rule with a problem is tinted by a style rule (the table redraws its cells, so classes would not stay).
function markRows(config, problems) {
  const ids = problems.filter((problem) => problem.file === config.file && problem.element_id)
    .map((problem) => problem.element_id);
  let style = document.getElementById('kefu-problem-rows');
  if (!style) {
    style = document.createElement('style');
    style.id = 'kefu-problem-rows';
    document.head.append(style);
  }
  style.textContent = ids.map((id) => `td[data-row-id="${CSS.escape(id)}"]`).join(',\n')
    + (ids.length ? ' { background: #f8d7da !important; }' : '');
  return (id) => Boolean(document.querySelector(`td[data-row-id="${CSS.escape(id)}"]`));
}

start();
