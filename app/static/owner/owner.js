// The owners' pages: a photo taken on the phone is made smaller in the browser before it is sent
// (longest side data-resize pixels, JPEG), so a report goes through on a slow mobile connection.
// The server still checks the type and size. Without canvas or DataTransfer the original file is sent.
(function () {
  "use strict";

  function resize(input) {
    var file = input.files && input.files[0];
    var limit = parseInt(input.getAttribute("data-resize"), 10) || 1600;
    if (!file || !/^image\//.test(file.type) || typeof DataTransfer === "undefined") { return; }
    var image = new Image();
    image.onload = function () {
      var scale = Math.min(1, limit / Math.max(image.naturalWidth, image.naturalHeight));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob) { return; }
        var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], name, { type: "image/jpeg" }));
        input.files = transfer.files;
        input.setAttribute("data-resized", "1");
        preview(input, canvas.toDataURL("image/jpeg", 0.6));
      }, "image/jpeg", 0.85);
    };
    // Read as a data: URL: the pages' Content-Security-Policy allows data: images, not blob: ones.
    var reader = new FileReader();
    reader.onload = function () { image.src = reader.result; };
    reader.readAsDataURL(file);
  }

  function preview(input, dataUrl) {
    var target = document.getElementById(input.id + "-preview");
    if (target) { target.src = dataUrl; target.hidden = false; }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.matches && input.matches("input[type=file][data-resize]")) {
      input.removeAttribute("data-resized");
      resize(input);
    }
  });

  // One tap sends a form once (a slow network tempts a second tap).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button:not([type=button])");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
}());
