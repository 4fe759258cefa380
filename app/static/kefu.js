// Drawn signatures: a signature_pad canvas per signature field, sent as a PNG data URL on submit.
document.querySelectorAll(".signature-box").forEach((box) => {
  const canvas = box.querySelector("canvas");
  const input = document.getElementById(box.dataset.target);
  const resize = () => {
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
  };
  resize();
  const pad = new SignaturePad(canvas);
  box.parentElement.querySelector(".signature-clear").addEventListener("click", () => { pad.clear(); input.value = ""; });
  box.closest("form").addEventListener("submit", () => {
    if (!pad.isEmpty()) { input.value = pad.toDataURL("image/png"); }
  });
});
