// Countdowns (还剩 3 小时 / 已超时 2 小时): every <time class="countdown" datetime="…"> ticks each minute.
// The page carries the server's clock (data-now), so the countdown agrees with the times the server shows.
(() => {
  const clocks = document.querySelectorAll("time.countdown[datetime]");
  if (!clocks.length) { return; }
  const span = (milliseconds, units) => {
    // Time left counts a started minute as a whole one (9:59:30 left reads 10 hours); time overdue, whole minutes.
    const minutes = milliseconds >= 0 ? Math.ceil(milliseconds / 60000) : Math.floor(-milliseconds / 60000);
    const [days, hours, mins] = units;
    if (minutes >= 24 * 60) { return `${Math.floor(minutes / (24 * 60))} ${days}`; }
    if (minutes >= 60) { return `${Math.floor(minutes / 60)} ${hours}`; }
    return `${minutes} ${mins}`;
  };
  const tick = () => clocks.forEach((clock) => {
    const offset = Number(clock.dataset.offset);
    const left = new Date(clock.getAttribute("datetime")).getTime() - (Date.now() + offset);
    const units = (clock.dataset.units || "d|h|min").split("|");
    const words = left >= 0 ? clock.dataset.left : clock.dataset.overdue;
    clock.textContent = (words || "{time}").replace("{time}", span(left, units));
    clock.classList.toggle("text-bg-danger", left < 0);
    clock.classList.toggle("text-bg-light", left >= 0);
  });
  clocks.forEach((clock) => {
    const serverNow = clock.dataset.now ? new Date(clock.dataset.now).getTime() : Date.now();
    clock.dataset.offset = String(serverNow - Date.now());
  });
  tick();
  window.setInterval(tick, 30000);
})();
