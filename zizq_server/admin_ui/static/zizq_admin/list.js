// The job list: the header checkbox selects the whole page.
(function () {
  var all = document.getElementById("zizq-toggle-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll("input.action-select").forEach(function (box) { box.checked = all.checked; });
  });
})();
