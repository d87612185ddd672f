// A running job's page follows its stages: the server streams them from
// the store as server-sent events; the page reloads when the run ends, to
// show its report. Text only: nothing from the stream becomes markup.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var states = { queued: "queued", waiting: "queued", pending: "queued", in_progress: "running", running: "running" };
  function state(status, conclusion) {
    if (states[status]) { return states[status]; }
    return conclusion || "neutral";
  }
  function badge(cell, status, conclusion) {
    var b = cell.querySelector(".badge") || cell.appendChild(document.createElement("span"));
    b.className = "badge " + state(status, conclusion);
    b.textContent = conclusion || status;
  }
  var source = new EventSource(live.getAttribute("data-src"));
  source.addEventListener("stages", function (e) {
    var u = JSON.parse(e.data);
    var body = document.querySelector("#stages tbody");
    (u.Stages || []).forEach(function (s) {
      var row = null;
      body.querySelectorAll("tr[data-stage]").forEach(function (r) { if (r.getAttribute("data-stage") === s.Name) { row = r; } });
      if (!row) {
        row = body.appendChild(document.createElement("tr"));
        row.setAttribute("data-stage", s.Name);
        ["name", "result", "title", "took"].forEach(function (c) { row.appendChild(document.createElement("td")).className = c; });
        row.cells[0].appendChild(document.createElement("code")).textContent = s.Name;
      }
      badge(row.cells[1], s.Status, s.Conclusion);
      row.cells[2].textContent = s.Title;
      row.cells[3].textContent = s.Took;
    });
    var status = document.getElementById("run-status");
    if (status) { status.textContent = u.Status; status.className = "badge " + state(u.Status, ""); }
  });
  source.addEventListener("done", function () {
    source.close();
    live.textContent = "This run ended: loading its report…";
    window.location.reload();
  });
})();
