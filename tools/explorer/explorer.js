/* The gradient-flow explorer (chapters/explorer.html).
 *
 * gradlab computed everything this page shows when the book was built
 * (gradlab.explorer.grid, written into the page by gradlab.explorer.page_data as
 * <script type="application/json" id="explorer-data">). This script only
 * selects the configuration the controls name and draws its numbers: the curves
 * as hand-made SVG, a table of the same values, the diagnosis and the theory
 * line. Nothing is fetched, so the page also works opened from disk.
 *
 * Stored units: log10 of a value times 100 ("s", "g", "ps", "pg"), fractions in
 * thousandths ("f", "pf"); null where there is no value.
 *
 * The address holds the configuration (?act=sigmoid&depth=30&init=normal1): the
 * book's {explore} links open the page with a knob preset, and the address of
 * the page always names what it shows.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var dataNode = document.getElementById("explorer-data");
  var root = document.getElementById("gradient-explorer");
  if (!dataNode || !root) {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var knobs = data.knobs;
  var state = {};
  var ui = {};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // ---------------------------------------------------------------- the book's links

  // The page's own text links every section the knobs and diagnoses name (the table
  // of knobs under the explorer); reuse those links, whose addresses Sphinx wrote.
  function sectionLinks() {
    var links = {};
    document.querySelectorAll("article a.reference.internal[href*='#']").forEach(function (a) {
      var label = a.getAttribute("href").split("#")[1];
      if (label && !links[label]) {
        links[label] = {href: a.getAttribute("href"), text: a.textContent.trim()};
      }
    });
    return links;
  }

  var links = sectionLinks();

  function sectionLink(label) {
    var found = links[label];
    if (!found) {
      return el("span", {}, label);
    }
    return el("a", {href: found.href, "class": "reference internal"}, found.text);
  }

  // ---------------------------------------------------------------- state and address

  function readAddress() {
    var params = new URLSearchParams(window.location.search);
    var ignored = [];
    knobs.forEach(function (knob) {
      var value = params.get(knob.key);
      if (value !== null && knob.values.indexOf(value) >= 0) {
        state[knob.key] = value;
      } else {
        if (value !== null) {
          ignored.push(knob.key + "=" + value);
        }
        state[knob.key] = state[knob.key] || knob.default;
      }
    });
    return ignored;
  }

  function query() {
    return knobs.map(function (knob) { return knob.key + "=" + state[knob.key]; }).join("&");
  }

  function writeAddress() {
    var url = window.location.pathname + "?" + query() + window.location.hash;
    try {
      window.history.replaceState(null, "", url);
    } catch (error) {
      // a browser that refuses to change the address of a file opened from disk:
      // the page still shows the configuration, and the link below names it
    }
  }

  // ---------------------------------------------------------------- controls

  function buildControls() {
    var form = el("form", {"class": "explorer-controls", "aria-label": "Network configuration"});
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    knobs.forEach(function (knob) {
      var id = "explorer-" + knob.key;
      var box = el("div", {"class": "explorer-control"});
      box.appendChild(el("label", {"for": id}, knob.title));
      var select = el("select", {id: id, name: knob.key});
      knob.values.forEach(function (value, i) {
        var option = el("option", {value: value}, knob.labels[i]);
        select.appendChild(option);
      });
      select.value = state[knob.key];
      select.addEventListener("change", function () {
        state[knob.key] = select.value;
        writeAddress();
        render();
      });
      ui[knob.key] = select;
      box.appendChild(select);
      var explained = el("span", {"class": "explorer-explained"}, "See ");
      explained.appendChild(sectionLink(knob.explained[0]));
      box.appendChild(explained);
      form.appendChild(box);
    });
    return form;
  }

  // ---------------------------------------------------------------- numbers for people

  function fromLog(v) {
    return Math.pow(10, v / 100);
  }

  function number(x) {
    if (x === 0) {
      return "0";
    }
    if (Math.abs(x) >= 0.01 && Math.abs(x) < 1000) {
      return x.toPrecision(3);
    }
    return x.toExponential(2).replace("e+", "e");
  }

  function cellLog(v) {
    return v === null || v === undefined ? "—" : number(fromLog(v));
  }

  function cellFraction(v) {
    return v === null || v === undefined ? "—" : (v / 10).toFixed(1) + " %";
  }

  // ---------------------------------------------------------------- plots

  // One panel: series of [layer, value] points (value null = gap), a log or linear
  // axis. Returns the SVG element.
  function panel(spec, width) {
    var height = 200;
    var m = {left: 56, right: 12, top: 32, bottom: 36};
    var w = width - m.left - m.right;
    var h = height - m.top - m.bottom;
    var L = spec.depth;
    var values = [];
    spec.series.forEach(function (s) {
      s.points.forEach(function (p) {
        if (p !== null) {
          values.push(p);
        }
      });
    });
    var lo, hi;
    if (spec.log) {
      lo = Math.floor(Math.min.apply(null, values) / 100);
      hi = Math.ceil(Math.max.apply(null, values) / 100);
      if (hi - lo < 1) {
        hi = lo + 1;
      }
    } else {
      lo = 0;
      hi = 1;
    }
    function x(l) {
      return m.left + (L === 1 ? w / 2 : (l - 1) / (L - 1) * w);
    }
    function y(v) {
      var t = spec.log ? v / 100 : v / 1000;
      return m.top + h - (t - lo) / (hi - lo) * h;
    }
    var node = svg("svg", {
      "class": "explorer-panel", width: width, height: height,
      viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": spec.id + "-title",
    });
    node.appendChild(svg("title", {id: spec.id + "-title"}, spec.title + " (values in the table below)"));
    node.appendChild(svg("text", {x: m.left, y: 15, "class": "explorer-panel-title"}, spec.title));
    var axes = svg("g", {"class": "explorer-axes", "aria-hidden": "true"});
    // y ticks: decades (at most six labels) or 0, 0.5, 1
    var ticks = [];
    if (spec.log) {
      var step = Math.max(1, Math.ceil((hi - lo) / 5));
      for (var k = lo; k <= hi; k += step) {
        ticks.push(k);
      }
    } else {
      ticks = [0, 0.5, 1];
    }
    ticks.forEach(function (t) {
      var ty = m.top + h - (t - lo) / (hi - lo) * h;
      axes.appendChild(svg("line", {x1: m.left, x2: m.left + w, y1: ty, y2: ty, "class": "explorer-grid"}));
      var label = svg("text", {x: m.left - 6, y: ty + 4, "text-anchor": "end"});
      if (spec.log) {
        label.textContent = "10";
        label.appendChild(svg("tspan", {dy: -6, "font-size": "0.75em"}, String(t).replace("-", "−")));
      } else {
        label.textContent = String(t);
      }
      axes.appendChild(label);
    });
    // x ticks: layers 1 .. L
    var xs = [1];
    var xstep = L <= 10 ? 1 : L <= 20 ? 5 : 10;
    for (var l = xstep; l <= L; l += xstep) {
      if (l > 1) {
        xs.push(l);
      }
    }
    xs.forEach(function (l) {
      axes.appendChild(svg("line", {x1: x(l), x2: x(l), y1: m.top + h, y2: m.top + h + 4}));
      axes.appendChild(svg("text", {x: x(l), y: m.top + h + 16, "text-anchor": "middle"}, String(l)));
    });
    axes.appendChild(svg("line", {x1: m.left, x2: m.left + w, y1: m.top + h, y2: m.top + h}));
    axes.appendChild(svg("line", {x1: m.left, x2: m.left, y1: m.top, y2: m.top + h}));
    axes.appendChild(svg("text", {x: m.left + w / 2, y: height - 4, "text-anchor": "middle"}, "hidden layer l"));
    node.appendChild(axes);
    spec.series.forEach(function (s) {
      var d = "";
      var pen = false;
      s.points.forEach(function (p, i) {
        if (p === null) {
          pen = false;
          return;
        }
        d += (pen ? "L" : "M") + x(i + 1).toFixed(1) + "," + y(p).toFixed(1);
        pen = true;
      });
      var g = svg("g", {"class": "explorer-series " + s.cls, "aria-hidden": "true"});
      if (d) {
        g.appendChild(svg("path", {d: d}));
      }
      if (s.markers) {
        s.points.forEach(function (p, i) {
          if (p !== null && (L <= 30 || i % 2 === 0 || i === L - 1)) {
            g.appendChild(svg("circle", {cx: x(i + 1).toFixed(1), cy: y(p).toFixed(1), r: 3}));
          }
        });
      }
      node.appendChild(g);
    });
    return node;
  }

  function legend() {
    var box = el("p", {"class": "explorer-legend"});
    [["explorer-measured", "measured (one network, solid line with dots)", true],
     ["explorer-predicted", "mean-field prediction (dashed line)", false]].forEach(function (item) {
      var key = el("span", {"class": "explorer-key"});
      var icon = svg("svg", {width: 34, height: 12, "aria-hidden": "true", "class": "explorer-series " + item[0]});
      icon.appendChild(svg("path", {d: "M2,6L32,6"}));
      if (item[2]) {
        icon.appendChild(svg("circle", {cx: 17, cy: 6, r: 3}));
      }
      key.appendChild(icon);
      key.appendChild(document.createTextNode(" " + item[1]));
      box.appendChild(key);
    });
    return box;
  }

  // ---------------------------------------------------------------- rendering

  function fractionName() {
    if (state.act === "relu") {
      return "dead";
    }
    return state.act === "sigmoid" || state.act === "tanh" ? "saturated" : null;
  }

  // A record as gradlab.explorer.pack stores it: a list in the order of data.fields,
  // each series as its first value and then differences, the sentences as
  // positions in data.texts. Back to {s: [...], g: [...], ..., d: [kind, text, label, theory]}.
  function sums(steps) {
    if (steps === null) {
      return null;
    }
    var last = 0;
    return steps.map(function (step) {
      if (step === null) {
        return null;
      }
      last += step;
      return last;
    });
  }

  function unpacked(items) {
    var record = {};
    data.fields.forEach(function (field, i) {
      record[field] = field === "d" ? items[i] : sums(items[i]);
    });
    record.d = [record.d[0], data.texts[record.d[1]], record.d[2], data.texts[record.d[3]]];
    return record;
  }

  function render() {
    var record = unpacked(data.configs[query()]);
    var L = Number(state.depth);
    var width = Math.max(280, Math.min(720, Math.floor(ui.figure.clientWidth || root.clientWidth || 360)));

    ui.diagnosis.textContent = "";
    ui.diagnosis.appendChild(el("strong", {}, "Diagnosis. "));
    ui.diagnosis.appendChild(document.createTextNode(record.d[1] + " "));
    var see = el("span", {"class": "explorer-see"}, "See ");
    see.appendChild(sectionLink(record.d[2]));
    see.appendChild(document.createTextNode("."));
    ui.diagnosis.appendChild(see);
    ui.theory.textContent = "";
    ui.theory.appendChild(el("strong", {}, "Theory. "));
    ui.theory.appendChild(document.createTextNode(record.d[3]));

    var frac = fractionName();
    var panels = [
      {id: "explorer-std", title: "Standard deviation of the activations a(l)", log: true,
       series: [{points: record.s, cls: "explorer-measured", markers: true}, {points: record.ps, cls: "explorer-predicted"}]},
      {id: "explorer-grad", title: "Gradient norm ‖∂J/∂z(l)‖", log: true,
       series: [{points: record.g, cls: "explorer-measured", markers: true}, {points: record.pg, cls: "explorer-predicted"}]},
    ];
    if (frac) {
      var series = [{points: record.f, cls: "explorer-measured", markers: true}];
      if (record.pf) {
        series.push({points: record.pf, cls: "explorer-predicted"});
      }
      panels.push({id: "explorer-frac", title: "Fraction of " + frac + " units" + (record.pf ? "" : " (no prediction)"),
                   log: false, series: series});
    }
    ui.figure.textContent = "";
    panels.forEach(function (spec) {
      spec.depth = L;
      ui.figure.appendChild(panel(spec, width));
    });
    if (!frac) {
      ui.figure.appendChild(el("p", {"class": "explorer-note"},
        "SELU units neither saturate (they have no upper asymptote) nor die (their derivative is never zero)."));
    }

    var table = ui.table;
    table.textContent = "";
    var described = knobs.map(function (knob) {
      return knob.labels[knob.values.indexOf(state[knob.key])];
    });
    table.appendChild(el("caption", {}, "Values plotted for: " + described.join(", ") + "."));
    var head = el("thead");
    var row = el("tr");
    var columns = ["Layer l", "Std of a(l), measured", "Std of a(l), predicted",
                   "Gradient norm, measured", "Gradient norm, predicted"];
    if (frac) {
      columns.push("Fraction " + frac + ", measured", "Fraction " + frac + ", predicted");
    }
    columns.forEach(function (c) { row.appendChild(el("th", {scope: "col"}, c)); });
    head.appendChild(row);
    table.appendChild(head);
    var body = el("tbody");
    for (var l = 0; l < L; l++) {
      var tr = el("tr");
      tr.appendChild(el("th", {scope: "row"}, String(l + 1)));
      var cells = [cellLog(record.s[l]), cellLog(record.ps[l]), cellLog(record.g[l]), cellLog(record.pg[l])];
      if (frac) {
        cells.push(cellFraction(record.f[l]), record.pf ? cellFraction(record.pf[l]) : "—");
      }
      cells.forEach(function (c) { tr.appendChild(el("td", {}, c)); });
      body.appendChild(tr);
    }
    table.appendChild(body);

    ui.share.setAttribute("href", "?" + query());
    ui.share.textContent = "?" + query();
  }

  // ---------------------------------------------------------------- start

  var ignored = readAddress();
  root.textContent = "";
  root.appendChild(buildControls());
  if (ignored.length) {
    root.appendChild(el("p", {"class": "explorer-note", role: "status"},
      "The address named values the explorer does not have (" + ignored.join(", ") +
      "); the controls show the defaults instead."));
  }
  ui.diagnosis = el("p", {"class": "explorer-diagnosis", "aria-live": "polite"});
  ui.theory = el("p", {"class": "explorer-theory"});
  root.appendChild(ui.diagnosis);
  root.appendChild(ui.theory);
  root.appendChild(legend());
  ui.figure = el("div", {"class": "explorer-figure"});
  root.appendChild(ui.figure);
  var details = el("details", {"class": "explorer-values"});
  details.appendChild(el("summary", {}, "Table of the plotted values"));
  var scroll = el("div", {"class": "explorer-table-scroll", tabindex: "0", role: "region",
                          "aria-label": "Table of the plotted values"});
  ui.table = el("table", {"class": "table"});
  scroll.appendChild(ui.table);
  details.appendChild(scroll);
  root.appendChild(details);
  var share = el("p", {"class": "explorer-share"}, "This configuration's address: ");
  ui.share = el("a", {href: "?"});
  share.appendChild(ui.share);
  root.appendChild(share);
  render();
  var lastWidth = root.clientWidth;
  window.addEventListener("resize", function () {
    if (root.clientWidth !== lastWidth) {
      lastWidth = root.clientWidth;
      render();
    }
  });
}());
