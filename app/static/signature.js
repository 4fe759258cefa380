// Drawn signatures, on the staff's task page and the owner's sign page: every `.signature-box` holds a
// signature_pad canvas (static/vendor, loaded before this file); its `data-target` names the hidden input
// that carries the drawing as a PNG data URL, and a `.signature-clear` button beside the box wipes it.
(() => {
  if (typeof SignaturePad === "undefined") { return; }
  document.querySelectorAll(".signature-box").forEach((box) => {
    const canvas = box.querySelector("canvas");
    const input = document.getElementById(box.dataset.target);
    const pad = new SignaturePad(canvas);
    // The canvas is drawn at the screen's pixel density; a resize (a phone turned sideways) clears a
    // canvas, so the signature is drawn again afterwards.
    const resize = () => {
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.redraw();
    };
    resize();
    let width = canvas.offsetWidth;
    window.addEventListener("resize", () => {
      if (canvas.offsetWidth !== width) { width = canvas.offsetWidth; resize(); }
    });
    // A signature drawn before the form came back with an error is kept in the hidden input: show it.
    if (input.value.startsWith("data:image/png;base64,")) {
      pad.fromDataURL(input.value, { width: canvas.offsetWidth, height: canvas.offsetHeight });
    }
    box.parentElement.querySelector(".signature-clear").addEventListener("click", () => { pad.clear(); input.value = ""; });
    pad.addEventListener("endStroke", () => { input.value = pad.toDataURL("image/png"); });
    box.closest("form").addEventListener("submit", () => {
      if (!pad.isEmpty()) { input.value = pad.toDataURL("image/png"); }
    });
  });
})();
