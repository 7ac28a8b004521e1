// Shows every <time data-ms> in the browser's own time zone.
document.querySelectorAll("time[data-ms]").forEach(function (el) {
  var ms = Number(el.dataset.ms);
  var date = new Date(ms);
  if (!isNaN(date.getTime())) { el.textContent = date.toLocaleString(); el.title = el.dateTime + " UTC"; }
});
