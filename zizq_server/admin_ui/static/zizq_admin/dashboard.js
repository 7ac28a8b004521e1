// The dashboard's live parts: polls throughput.json every 5 s, redraws the
// chart and refreshes the per-queue counts, without reloading the page.
(function () {
  var root = document.getElementById("zizq-dashboard");
  if (!root) return;
  var canvas = document.getElementById("zizq-chart");
  var colours = { enqueued: "#417690", completed: "#2e8b57", failed: "#ba2121" };
  var statuses = ["ready", "scheduled", "in_flight", "completed", "dead"];

  function draw(minutes) {
    var ctx = canvas.getContext("2d");
    var w = canvas.width, h = canvas.height, pad = 30;
    ctx.clearRect(0, 0, w, h);
    var top = 1;
    minutes.forEach(function (m) { top = Math.max(top, m.enqueued, m.completed, m.failed); });
    ctx.fillStyle = "#888"; ctx.font = "11px sans-serif";
    ctx.fillText(String(top), 2, 12); ctx.fillText("0", 2, h - pad + 4);
    ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(pad, h - pad); ctx.lineTo(w, h - pad); ctx.stroke();
    ctx.fillText("-60 min", pad, h - 8); ctx.fillText("now", w - 24, h - 8);
    Object.keys(colours).forEach(function (key) {
      ctx.strokeStyle = colours[key]; ctx.lineWidth = 2; ctx.beginPath();
      minutes.forEach(function (m, i) {
        var x = pad + (w - pad) * i / Math.max(1, minutes.length - 1);
        var y = h - pad - (h - pad - 10) * m[key] / top;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
    var last = minutes[minutes.length - 1];
    if (last) document.getElementById("zizq-last-minute").textContent =
      " this minute: " + last.enqueued + " enqueued, " + last.completed + " completed, " + last.failed + " failed";
  }

  function cell(row, status, count, queue) {
    var link = document.createElement("a");
    link.href = root.dataset.list + "?queue=" + encodeURIComponent(queue) + "&status=" + status;
    link.textContent = count;
    var td = document.createElement("td");
    td.dataset.status = status; td.appendChild(link); row.appendChild(td);
  }

  function counts(overview) {
    var body = document.querySelector("#zizq-queues tbody");
    body.textContent = "";
    Object.keys(overview.queues).forEach(function (queue) {
      var row = document.createElement("tr"); row.dataset.queue = queue;
      var th = document.createElement("th"); var a = document.createElement("a");
      a.href = root.dataset.list + "?queue=" + encodeURIComponent(queue); a.textContent = queue;
      th.appendChild(a); row.appendChild(th);
      statuses.forEach(function (s) { cell(row, s, overview.queues[queue][s], queue); });
      body.appendChild(row);
    });
    document.getElementById("zizq-workers").textContent = overview.workers;
    document.getElementById("zizq-in-flight").textContent = overview.totals.in_flight;
    document.getElementById("zizq-uptime").textContent = overview.uptime_s + " s";
  }

  function poll() {
    fetch(root.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { draw(data.minutes); counts(data.overview); } })
      .catch(function () {});
  }
  poll();
  setInterval(poll, 5000);
})();
