// The survey results page: one bar chart per question with choices, from the JSON the page carries.
(function () {
  "use strict";
  var source = document.getElementById("survey-charts");
  if (!source || typeof Chart === "undefined") { return; }
  JSON.parse(source.textContent).forEach(function (chart) {
    var canvas = document.getElementById("chart-" + chart.name);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: [{ data: chart.counts, backgroundColor: "#0b6bcb" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, maintainAspectRatio: false }
    });
  });
})();
