// Sorting and filtering of long tables. The report reads the same without it.
(function () {
  "use strict";
  function cellText(row, i) { return (row.cells[i] && row.cells[i].textContent) || ""; }
  document.querySelectorAll("table.data").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body) { return; }
    Array.prototype.forEach.call(table.tHead ? table.tHead.rows[0].cells : [], function (th, i) {
      th.classList.add("sortable");
      th.title = "sort by this column";
      th.addEventListener("click", function () {
        var asc = th.dataset.sort !== "asc";
        th.dataset.sort = asc ? "asc" : "desc";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellText(a, i), y = cellText(b, i);
          return asc ? x.localeCompare(y, undefined, {numeric: true}) : y.localeCompare(x, undefined, {numeric: true});
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    if (body.rows.length > 20) {
      var input = document.createElement("input");
      input.type = "search";
      input.className = "filter";
      input.placeholder = "filter " + body.rows.length + " rows";
      input.addEventListener("input", function () {
        var q = input.value.toLowerCase();
        Array.prototype.forEach.call(body.rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
      table.parentNode.insertBefore(input, table);
    }
  });
  document.body.dataset.enhanced = "yes";
})();
