// Draws the dashboard's charts from the figures the page carries (#dashboard-data), with Chart.js.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") { return; }
  const data = JSON.parse(source.textContent);
  const text = data.text;
  const charts = [];
  const palette = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997", "#6c757d", "#ffc107",
                   "#0dcaf0", "#d63384"];
  const percentAxis = { beginAtZero: true, max: 100, ticks: { callback: (value) => value + "%" } };

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) { return; }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts.push(new Chart(canvas, config));
  }

  draw("chart-daily", {
    type: "bar",
    data: {
      labels: data.daily.labels,
      datasets: [
        { label: text.received, data: data.daily.received, backgroundColor: palette[0], yAxisID: "y" },
        { label: text.closed, data: data.daily.closed, backgroundColor: palette[1], yAxisID: "y" },
        { type: "line", label: text.timeliness, data: data.daily.timeliness, borderColor: palette[3],
          backgroundColor: palette[3], yAxisID: "rate", spanGaps: true },
        { type: "line", label: text.timeliness_target, data: data.daily.labels.map(() => data.targets.timeliness_rate),
          borderColor: palette[2], borderDash: [6, 4], pointRadius: 0, yAxisID: "rate" },
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: text.tickets } },
                         rate: Object.assign({ position: "right", grid: { drawOnChartArea: false } }, percentAxis) } },
  });
  draw("chart-categories", {
    type: "doughnut",
    data: { labels: data.categories.labels, datasets: [{ data: data.categories.received, backgroundColor: palette }] },
  });
  draw("chart-departments", {
    type: "bar",
    data: {
      labels: data.departments.labels,
      datasets: ["completion_rate", "timeliness_rate", "satisfaction_rate", "first_time_rate", "callback_rate"].map(
        (rate, n) => ({ label: text[rate], data: data.departments[rate], backgroundColor: palette[n] })),
    },
    options: { scales: { y: percentAxis } },
  });
  draw("chart-hot-spots", {
    type: "bar",
    data: { labels: data.hot_spots.labels,
            datasets: [{ label: text.tickets, data: data.hot_spots.received, backgroundColor: palette[2] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
  draw("chart-stages", {
    type: "bar",
    data: { labels: data.stages.labels,
            datasets: [{ label: text.hours, data: data.stages.hours, backgroundColor: palette[4] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
  window.kefuCharts = charts;  // what the browser test (and a curious admin's console) can look at
})();
