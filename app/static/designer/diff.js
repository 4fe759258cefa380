// The difference between two versions on the diagram: the newer one with added and changed elements
// marked, and removed elements marked on the older one (bpmn-js viewer, served locally).
(function () {
  const config = JSON.parse(document.getElementById('diff-config').textContent);
  const canvases = document.querySelectorAll('.diff-canvas');
  let pending = canvases.length;

  function done() {
    pending -= 1;
    if (pending <= 0) {
      document.body.dataset.diffReady = 'true';
    }
  }

  function show(container, xml, changes, kinds) {
    const viewer = new BpmnJS({ container });
    return viewer.importXML(xml).then(() => {
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      canvas.zoom('fit-viewport');
      changes.filter((change) => kinds.includes(change.kind) && registry.get(change.element_id))
        .forEach((change) => canvas.addMarker(change.element_id, `diff-${change.kind}`));
    });
  }

  canvases.forEach((container) => {
    const diagram = config.diagrams[Number(container.dataset.diagram)];
    const removed = diagram.changes.some((change) => change.kind === 'removed');
    const work = [];
    if (diagram.new) {
      work.push(show(container, diagram.new, diagram.changes, [ 'added', 'changed' ]));
    }
    if (diagram.old && (removed || !diagram.new)) {
      const older = document.createElement('div');
      older.className = 'diff-canvas diff-old border rounded mt-2';
      container.after(older);
      work.push(show(older, diagram.old, diagram.changes, [ 'removed' ]));
    }
    Promise.all(work).catch((error) => { container.textContent = error.message; }).finally(done);
  });
  if (!canvases.length) {
    document.body.dataset.diffReady = 'true';
  }
}());
