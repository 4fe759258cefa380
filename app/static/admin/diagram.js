// The admin's diagram: bpmn-js's NavigatedViewer (served from /static/vendor), marked with where
// instances stand. The page gives its facts in data-config (JSON):
//   xml_url     the BPMN file of a process ("__PROCESS__" replaced by the process id)
//   process_id  the diagram shown first; processes: every process the version can draw
//   elements    process id -> element id -> counts: {completed, active} on an instance page,
//               {waiting, failed} on a version page ("*": failed counts, wherever the element is drawn)
//   failed      an instance's failed element
// A call activity opens the called process's diagram; the path above the diagram goes back.
(() => {
  const box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") { return; }
  const config = JSON.parse(box.dataset.config);
  const viewer = new BpmnJS({ container: box });
  const trail = [];
  const pathNav = document.getElementById("diagram-path");

  const badge = (overlays, elementId, text, kind) => {
    const node = document.createElement("span");
    node.className = `diagram-badge diagram-badge-${kind}`;
    node.dataset.element = elementId;
    node.textContent = text;
    overlays.add(elementId, kind, { position: kind === "failed" ? { bottom: 8, left: -8 } : { top: -10, right: 10 }, html: node });
  };

  const markInstance = (canvas, overlays, registry, states) => {
    Object.entries(states).forEach(([elementId, state]) => {
      if (!registry.get(elementId)) { return; }
      // An expanded sub-process is a frame around other elements: only its border is coloured.
      const frame = registry.get(elementId).type === "bpmn:SubProcess" && registry.get(elementId).collapsed === false;
      const suffix = frame ? "-frame" : "";
      if (state.active) { canvas.addMarker(elementId, `el-active${suffix}`); } else if (state.completed) { canvas.addMarker(elementId, `el-done${suffix}`); }
      const visits = (state.completed || 0) + (state.active || 0);
      if (visits) { badge(overlays, elementId, String(visits), "visits"); }
    });
  };

  const markVersion = (canvas, overlays, registry, states, failed) => {
    Object.entries(states).forEach(([elementId, counts]) => {
      if (!registry.get(elementId) || !counts.waiting) { return; }
      canvas.addMarker(elementId, "el-active");
      badge(overlays, elementId, String(counts.waiting), "waiting");
    });
    Object.entries(failed).forEach(([elementId, counts]) => {
      if (!registry.get(elementId) || !counts.failed) { return; }
      canvas.addMarker(elementId, "el-failed");
      badge(overlays, elementId, `✖ ${counts.failed}`, "failed");
    });
  };

  const mark = (processId) => {
    const canvas = viewer.get("canvas");
    const overlays = viewer.get("overlays");
    const registry = viewer.get("elementRegistry");
    const states = (config.elements || {})[processId] || {};
    if (config.mode === "instance") {
      markInstance(canvas, overlays, registry, states);
      if (config.failed && registry.get(config.failed)) {
        canvas.addMarker(config.failed, "el-failed");
        badge(overlays, config.failed, config.failed_label || "✖", "failed");
      }
    } else {
      markVersion(canvas, overlays, registry, states, (config.elements || {})["*"] || {});
    }
    registry.filter((element) => element.type === "bpmn:CallActivity").forEach((element) => {
      const called = element.businessObject.calledElement;
      if (!(config.processes || []).includes(called)) { return; }
      canvas.addMarker(element.id, "el-call");
      if (config.mode !== "instance") {  // a version page: how many wait inside the called process
        const inside = Object.values((config.elements || {})[called] || {})
          .reduce((sum, counts) => sum + (counts.waiting || 0), 0);
        if (inside) {
          canvas.addMarker(element.id, "el-active");
          badge(overlays, element.id, String(inside), "waiting");
        }
      }
    });
  };

  const renderTrail = () => {
    if (!pathNav) { return; }
    pathNav.replaceChildren();
    trail.forEach((processId, index) => {
      if (index) { pathNav.append(" › "); }
      if (index === trail.length - 1) {
        const current = document.createElement("strong");
        current.textContent = processId;
        pathNav.append(current);
        return;
      }
      const back = document.createElement("button");
      back.type = "button";
      back.className = "btn btn-link btn-sm p-0 align-baseline";
      back.textContent = processId;
      back.addEventListener("click", () => { trail.splice(index + 1); show(processId); });
      pathNav.append(back);
    });
  };

  async function show(processId) {
    box.dataset.state = "loading";
    const response = await fetch(config.xml_url.replace("__PROCESS__", encodeURIComponent(processId)),
      { credentials: "same-origin" });
    if (!response.ok) { box.dataset.state = "missing"; return; }
    try {
      await viewer.importXML(await response.text());
    } catch (error) {
      box.dataset.state = "broken";
      return;
    }
    viewer.get("canvas").zoom("fit-viewport", "auto");
    mark(processId);
    box.dataset.process = processId;
    box.dataset.state = "ready";
    renderTrail();
  }

  viewer.on("element.click", (event) => {
    const called = event.element.businessObject && event.element.businessObject.calledElement;
    if (event.element.type === "bpmn:CallActivity" && (config.processes || []).includes(called)) {
      trail.push(called);
      show(called);
    }
  });
  trail.push(config.process_id);
  show(config.process_id);
})();
