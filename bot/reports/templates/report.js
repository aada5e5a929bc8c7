(function () {
  "use strict";
  var table = document.getElementById("report");
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var searchable = [];
  headers.forEach(function (th, index) { if (th.hasAttribute("data-searchable")) { searchable.push(index); } });
  // one entry per row: the row, its place as served, and the text the filter looks in (lower case)
  var entries = Array.prototype.slice.call(body.rows).map(function (row, index) {
    var text = searchable.map(function (i) { return row.cells[i].textContent.toLowerCase(); }).join("\n");
    return { row: row, index: index, text: text };
  });
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function compare(a, b, column) {
    var x = a.row.cells[column], y = b.row.cells[column];
    var nx = x.getAttribute("data-sort"), ny = y.getAttribute("data-sort");
    if (nx !== null && ny !== null) { return Number(nx) - Number(ny); }
    return collator.compare(x.textContent, y.textContent);
  }

  function isEmpty(entry, column) { return entry.row.cells[column].textContent === ""; }

  function sortBy(column, direction) {
    var sign = direction === "ascending" ? 1 : -1;
    entries.sort(function (a, b) {
      var ea = isEmpty(a, column), eb = isEmpty(b, column);
      if (ea || eb) { return (ea - eb) || (a.index - b.index); }  // empty cells last, either way
      return sign * compare(a, b, column) || (a.index - b.index);
    });
    var fragment = document.createDocumentFragment();
    entries.forEach(function (entry) { fragment.appendChild(entry.row); });
    body.appendChild(fragment);
    headers.forEach(function (th, index) {
      th.setAttribute("aria-sort", index === column ? direction : "none");
    });
  }

  headers.forEach(function (th, column) {
    th.querySelector("button").addEventListener("click", function () {
      var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      sortBy(column, next);
    });
  });

  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var exports = Array.prototype.slice.call(document.querySelectorAll("a.export.filtered"));

  function applyFilter() {
    var term = filter.value.trim().toLowerCase();
    var count = 0;
    entries.forEach(function (entry) {
      var visible = term === "" || entry.text.indexOf(term) !== -1;
      entry.row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count.toLocaleString("en") + " shown";
    if (filter.getAttribute("data-carry") === "yes") {
      var raw = filter.value.trim();
      exports.forEach(function (link) {
        var base = link.getAttribute("data-base");
        link.href = raw === "" ? base : base + "&" + filter.getAttribute("data-param") + "=" + encodeURIComponent(raw);
      });
    }
  }

  // the totals row adds up what is visible: a sum (money with two decimals), a sum only while the visible
  // rows share one unit or currency (data-total="sum-per:<column>"), or that shared value ("same")
  var totals = table.tFoot ? Array.prototype.slice.call(table.tFoot.rows[0].cells) : [];

  function visibleValues(column) {
    return entries.filter(function (entry) { return !entry.row.hidden; }).map(function (entry) {
      return entry.row.cells[column];
    });
  }

  function oneValue(column) {
    var seen = {};
    visibleValues(column).forEach(function (cell) { seen[cell.textContent] = true; });
    var values = Object.keys(seen);
    return values.length === 1 ? values[0] : null;
  }

  function shownNumber(value, column) {
    var money = headers[column].getAttribute("data-kind") === "money";
    return value.toLocaleString("en", money ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : {});
  }

  function applyTotals() {
    totals.forEach(function (cell, column) {
      var rule = cell.getAttribute("data-total") || "";
      if (rule === "same") {
        cell.textContent = oneValue(column) || "";
      } else if (rule === "sum" || rule.indexOf("sum-per:") === 0) {
        var per = rule === "sum" ? null : Number(rule.slice(8));
        if (per !== null && oneValue(per) === null && visibleValues(per).length > 0) {
          cell.textContent = "";
          return;
        }
        var sum = visibleValues(column).reduce(function (total, valueCell) {
          return total + Number(valueCell.getAttribute("data-sort") || 0);
        }, 0);
        cell.textContent = shownNumber(sum, column);
      }
    });
  }

  filter.addEventListener("input", applyFilter);
  filter.addEventListener("input", applyTotals);
  applyFilter();
}());
