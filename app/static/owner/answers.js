// The owner's drawn signature: a signature_pad canvas, sent as a PNG data URL in the hidden input.
(function () {
  "use strict";
  var box = document.getElementById("signature-pad");
  if (!box || typeof SignaturePad === "undefined") { return; }
  var canvas = box.querySelector("canvas");
  var input = document.getElementById(box.dataset.target);
  var pad = new SignaturePad(canvas);
  // Drawn at the screen's pixel density; a resize (the phone turned) clears a canvas, so redraw after it.
  function resize() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.redraw();
  }
  resize();
  var width = canvas.offsetWidth;
  window.addEventListener("resize", function () {
    if (canvas.offsetWidth !== width) { width = canvas.offsetWidth; resize(); }
  });
  document.getElementById("clear-signature").addEventListener("click", function () { pad.clear(); input.value = ""; });
  pad.addEventListener("endStroke", function () { input.value = pad.toDataURL("image/png"); });
  box.closest("form").addEventListener("submit", function () {
    if (!pad.isEmpty()) { input.value = pad.toDataURL("image/png"); }
  });
}());
