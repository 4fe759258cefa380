// The reception log's Print button (no inline handlers under the Content-Security-Policy).
(function () {
  "use strict";
  const button = document.querySelector("[data-print]");
  if (button) button.addEventListener("click", () => window.print());
})();
