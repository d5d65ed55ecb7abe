/*
 * Officials' live dashboards: plain JavaScript, no framework, no network but this origin.
 *
 * Every element with [data-poll][data-ws] is one poll: it is drawn at once from the snapshot the
 * page embeds, then from every {"type": "tally"} message on its WebSocket. Each message carries
 * the full state, so drawing is always "replace everything" and a lost message does no harm.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var MAX_BACKOFF_MS = 30000;
  var KEEPALIVE_MS = 60000; // ask for a fresh snapshot now and then: heals a lost last message
  var COLORS = [
    "#0b5fff", "#e4572e", "#17a673", "#f2a900", "#8e44ad",
    "#00a6c8", "#d6336c", "#5f6b7a", "#6c8f00", "#b35c00"
  ];

  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var snapshots = JSON.parse(document.getElementById("dashboard-snapshots").textContent) || {};
  var S = config.strings;
  var lang = S.lang || document.documentElement.lang || "ko";
  var numbers = new Intl.NumberFormat(lang);
  var percent = new Intl.NumberFormat(lang, {
    style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1
  });
  var timeOfDay = new Intl.DateTimeFormat(lang, {
    hour: "2-digit", minute: "2-digit", second: "2-digit"
  });
  // The screen's clock may be wrong; count down on the server's.
  var clockOffset = (Date.parse(config.server_now) - Date.now()) || 0;

  function now() { return Date.now() + clockOffset; }

  function interpolate(template, values) {
    // Django's named placeholders: %(name)s and %(name)d.
    return String(template).replace(/%\((\w+)\)[sd]/g, function (_m, key) {
      return key in values ? values[key] : "";
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function count(n) { return n === null || n === undefined ? "—" : numbers.format(n); }
  function share(s) { return s === null || s === undefined ? "—" : percent.format(s); }
  function color(index) { return COLORS[index % COLORS.length]; }

  /* About how wide ``text`` is at ``size``: Hangul and other wide characters a full em, the
     rest a little over half of one (voting/chart_svg.py's text_width); used where the browser
     cannot measure (an SVG not rendered yet). */
  function estimateWidth(text, size) {
    var width = 0;
    for (var i = 0; i < text.length; i++) {
      var code = text.charCodeAt(i);
      var wide = (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
        (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
        (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
        (code >= 0xffe0 && code <= 0xffe6);
      width += wide ? size : size * 0.62;
    }
    return width;
  }

  /* ``text`` in at most ``lines`` lines no wider than ``max`` (as ``measure`` says), broken at
     spaces (Korean has them between words) and inside a word only where it is wider than a
     line; where text is left out the last line ends in "…" (the bar's <title> holds it all). */
  function wrapText(text, max, lines, measure) {
    var out = [];
    var line = "";
    String(text).split(/\s+/).filter(Boolean).forEach(function (word) {
      var candidate = line ? line + " " + word : word;
      if (measure(candidate) <= max) { line = candidate; return; }
      if (line) { out.push(line); }
      while (word.length > 1 && measure(word) > max) {
        var cut = word.length - 1;
        while (cut > 1 && measure(word.slice(0, cut)) > max) { cut -= 1; }
        out.push(word.slice(0, cut));
        word = word.slice(cut);
      }
      line = word;
    });
    if (line) { out.push(line); }
    if (out.length <= lines) { return out.length ? out : [""]; }
    var kept = out.slice(0, lines);
    var last = kept[lines - 1];
    while (last && measure(last + "…") > max) { last = last.slice(0, -1); }
    kept[lines - 1] = last.replace(/\s+$/, "") + "…";
    return kept;
  }

  /* A function measuring text as ``chart`` draws its labels: the browser's own measure of a
     probe element, or the estimate where the chart is not rendered (a hidden tab). */
  function labelMeasure(chart, size) {
    var probe = svg("text", { "class": "bar__label", "font-size": size, x: 0, y: -1000 });
    chart.appendChild(probe);
    return function (text) {
      probe.textContent = text;
      var width = 0;
      try { width = probe.getComputedTextLength(); } catch (_error) { width = 0; }
      return width || estimateWidth(text, size);
    };
  }

  function two(n) { return n < 10 ? "0" + n : String(n); }

  function duration(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    var days = Math.floor(seconds / 86400);
    var rest = seconds % 86400;
    var clock = two(Math.floor(rest / 3600)) + ":" + two(Math.floor(rest % 3600 / 60)) + ":" +
      two(rest % 60);
    return days > 0 ? interpolate(S.days, { n: numbers.format(days) }) + " " + clock : clock;
  }

  // --- Labels of breakdown cells, in the page's language (the message's depend on the sender) ---

  function cellLabel(dimension, cell) {
    if (dimension === "gu") {
      if (!cell.code) { return S.unknown; }
      return config.gu_names[cell.code] || cell.name || cell.code;
    }
    if (dimension === "age_band") {
      if (cell.band === null || cell.band === undefined) { return S.unknown; }
      return interpolate(cell.band >= 80 ? S.age_band_oldest : S.age_band, { band: cell.band });
    }
    if (dimension === "gender") {
      return S.gender[cell.gender] || S.unknown;
    }
    if (dimension === "channel") {
      return S.channel[cell.channel] || S.unknown;
    }
    return "";
  }

  // --- One poll on the page ------------------------------------------------------------------

  function PollView(root) {
    this.root = root;
    this.pollId = root.getAttribute("data-poll");
    this.compact = root.getAttribute("data-size") === "compact";
    this.state = null;
    this.askedAtDeadline = null;
    this.field = function (name) { return root.querySelector('[data-field="' + name + '"]'); };
  }

  PollView.prototype.render = function (message) {
    this.state = message;
    var title = this.field("title");
    if (title && message.title) { title.textContent = message.title; }
    this.renderStatus(message);
    this.field("total").textContent = count(message.total);
    var note = this.field("note");
    if (note) {
      // The message's note is in the server's language; the page says it in its own.
      note.textContent = message.withheld ? interpolate(S.withheld, { k: message.batch_min }) : "";
      note.hidden = !message.withheld;
    }
    this.renderCaption(message);
    this.renderChart(message);
    this.renderTable(message);
    if (!this.compact) {
      this.renderRanked(message);
      this.renderScores(message);
      this.renderBreakdowns(message);
      var updated = this.field("updated");
      if (updated) {
        updated.textContent = interpolate(S.updated, { time: timeOfDay.format(new Date()) });
      }
    }
    this.tick();
  };

  PollView.prototype.renderStatus = function (message) {
    var badge = this.field("status");
    badge.textContent = S.status[message.status] || message.status;
    badge.className = "badge badge--" + message.status;
    var published = this.field("published");
    if (published) {
      published.hidden = !message.results_published;
      published.textContent = S.results_published;
    }
  };

  /* The bars of a ranked question are its first preferences (a ballot counts once, for the
     option it ranks first), not the ballots naming each option anywhere. */
  function barsOf(message) {
    if (message.kind !== "ranked" || !message.ranked) { return message.options || []; }
    var labels = labelsOf(message);
    return message.ranked.first_preferences.map(function (row) {
      return { id: row.id, label: labels[row.id] || String(row.id), votes: row.votes, share: row.share };
    });
  }

  PollView.prototype.renderCaption = function (message) {
    var caption = this.field("chart-caption");
    if (!caption) { return; }
    var words = message.kind === "ranked" || message.kind === "score"
      ? caption.getAttribute("data-" + message.kind) : "";
    caption.textContent = words || "";
    caption.hidden = !words;
  };

  /* Horizontal bars: label above (wrapped onto as many lines as it needs, up to a limit), bar
     below, count and share at the right. A label longer than the limit ends in "…"; its full
     text is in the hidden table and the bar's SVG <title> (a tooltip). */
  PollView.prototype.renderChart = function (message) {
    var chart = this.field("chart");
    var compact = this.compact;
    // Compact cards are narrow: fewer user units across, so the text stays large on screen.
    var width = compact ? 520 : 1000;
    var rowHeight = compact ? 66 : 104;
    var labelSize = compact ? 24 : 34;
    var barHeight = compact ? 22 : 42;
    var valueWidth = compact ? 170 : 340;
    var barMax = width - valueWidth - (compact ? 10 : 20);
    var lineStep = Math.round(labelSize * 1.25);
    var maxLines = compact ? 3 : 2;
    var options = barsOf(message);
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    var measure = labelMeasure(chart, labelSize);
    var wrapped = options.map(function (option) {
      return wrapText(option.label, width, maxLines, measure);
    });
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    var y = 0;
    options.forEach(function (option, index) {
      var lines = wrapped[index];
      var fraction = message.total ? Math.min(1, (option.votes || 0) / message.total) : 0;
      var group = svg("g", { "class": "bar", transform: "translate(0," + y + ")" });
      group.appendChild(svg("title", {}, option.label));
      var label = svg("text", { "class": "bar__label", x: 0, y: labelSize, "font-size": labelSize });
      lines.forEach(function (line, n) {
        label.appendChild(svg("tspan", { x: 0, y: labelSize + n * lineStep }, line));
      });
      group.appendChild(label);
      var top = labelSize + (lines.length - 1) * lineStep + 10;
      group.appendChild(svg("rect", {
        "class": "bar__track", x: 0, y: top, width: barMax, height: barHeight, rx: 6
      }));
      group.appendChild(svg("rect", {
        "class": "bar__fill", x: 0, y: top, height: barHeight, rx: 6, fill: color(index),
        width: Math.max(fraction > 0 ? 4 : 0, Math.round(barMax * fraction))
      }));
      group.appendChild(svg("text", {
        "class": "bar__value", x: width, y: top + barHeight * 0.8,
        "font-size": compact ? 24 : 44, "text-anchor": "end"
      }, count(option.votes) + " · " + share(option.share)));
      chart.appendChild(group);
      y += top + barHeight + (rowHeight - labelSize - 10 - barHeight);
    });
    chart.setAttribute("viewBox", "0 0 " + width + " " + Math.max(1, y));
    chart.setAttribute("preserveAspectRatio", "xMinYMin meet");
  };

  PollView.prototype.renderTable = function (message) {
    var body = this.field("chart-table").tBodies[0];
    body.textContent = "";
    barsOf(message).forEach(function (option) {
      var row = el("tr");
      row.appendChild(el("th", { scope: "row" }, option.label));
      row.appendChild(el("td", {}, count(option.votes)));
      row.appendChild(el("td", {}, share(option.share)));
      body.appendChild(row);
    });
  };

  /* Short labels ("찬성", "반대") head the breakdowns' columns as they are; long ones would make
     the tables wider than their panels, so the columns are numbered and a legend above the
     tables gives each number its colour and full label. */
  var SHORT_LABEL = 8;

  function optionHeading(option, index, numbered) {
    var th = el("th", { scope: "col", title: option.label, "class": "cells__option" });
    var swatch = el("span", { "class": "swatch", "aria-hidden": "true" });
    swatch.style.background = color(index);
    th.appendChild(swatch);
    if (numbered) {
      th.appendChild(el("span", { "aria-hidden": "true" }, String(index + 1)));
      th.appendChild(el("span", { "class": "visually-hidden" }, option.label));
    } else {
      th.appendChild(el("span", { "class": "cells__option-label" }, option.label));
    }
    return th;
  }

  PollView.prototype.renderLegend = function (options, shown) {
    var legend = this.field("legend");
    if (!legend) { return; }
    var list = legend.querySelector("ol");
    list.textContent = "";
    options.forEach(function (option, index) {
      var item = el("li", { "class": "legend__item" });
      var swatch = el("span", { "class": "swatch", "aria-hidden": "true" });
      swatch.style.background = color(index);
      item.appendChild(swatch);
      item.appendChild(el("span", { "class": "legend__number", "aria-hidden": "true" },
        String(index + 1)));
      item.appendChild(el("span", { "class": "legend__label" }, option.label));
      list.appendChild(item);
    });
    legend.hidden = !shown;
  };

  /* A table wider than its panel scrolls inside it (never the page): such a panel is then a
     named region in the tab order, so a keyboard can scroll it too. */
  function markScrollable(body) {
    var heading = body.parentNode.querySelector("h2");
    if (body.scrollWidth > body.clientWidth + 1) {
      body.setAttribute("role", "region");
      body.setAttribute("tabindex", "0");
      body.setAttribute("aria-label", heading ? heading.textContent : "");
    } else {
      body.removeAttribute("role");
      body.removeAttribute("tabindex");
      body.removeAttribute("aria-label");
    }
  }

  PollView.prototype.markScrollables = function () {
    Array.prototype.forEach.call(this.root.querySelectorAll(".breakdown__body"), markScrollable);
  };

  /* One table per dimension: the cell, its participants (with a bar), then each option's votes.
     Withheld numbers arrive as null with "suppressed": true and are shown as "—". */
  PollView.prototype.renderBreakdowns = function (message) {
    var root = this.root;
    var options = message.options || [];
    var breakdown = message.breakdown || {};
    var numbered = options.some(function (option) {
      return String(option.label).length > SHORT_LABEL;
    });
    var anyCells = false;
    ["gu", "age_band", "gender", "channel"].forEach(function (dimension) {
      var container = root.querySelector('[data-breakdown="' + dimension + '"] .breakdown__body');
      if (!container) { return; }
      var cells = breakdown[dimension] || [];
      container.textContent = "";
      if (!cells.length) {
        container.appendChild(el("p", { "class": "breakdown__empty" }, "—"));
        return;
      }
      anyCells = true;
      var table = el("table", { "class": "cells" });
      var head = el("tr");
      head.appendChild(el("th", { scope: "col", "class": "cells__name" }, ""));
      head.appendChild(el("th", { scope: "col", "class": "cells__total" }, S.participants));
      options.forEach(function (option, index) {
        head.appendChild(optionHeading(option, index, numbered));
      });
      table.appendChild(el("thead")).appendChild(head);
      var body = table.appendChild(el("tbody"));
      var largest = 0;
      cells.forEach(function (cell) { largest = Math.max(largest, cell.total || 0); });
      cells.forEach(function (cell) {
        var row = el("tr", cell.suppressed ? { "class": "is-suppressed" } : {});
        row.appendChild(el("th", { scope: "row" }, cellLabel(dimension, cell)));
        var total = el("td", { "class": "cells__total" });
        var bar = el("span", { "class": "minibar", "aria-hidden": "true" });
        bar.style.width = (cell.total && largest ? Math.round(100 * cell.total / largest) : 0) + "%";
        total.appendChild(bar);
        total.appendChild(withheld(cell.total, cell.suppressed));
        row.appendChild(total);
        (cell.options || []).forEach(function (entry) {
          var td = el("td");
          td.appendChild(withheld(entry.votes, entry.suppressed));
          row.appendChild(td);
        });
        body.appendChild(row);
      });
      container.appendChild(table);
    });
    this.renderLegend(options, numbered && anyCells);
    this.markScrollables();
  };

  /* A row of a meter table: the option, a bar of ``fraction`` of the track, and its figures. */
  function meterRow(label, fraction, figures, index) {
    var row = el("tr");
    row.appendChild(el("th", { scope: "row", title: label }, label));
    var cell = el("td", { "class": "meter" });
    var track = el("span", { "class": "meter__track", "aria-hidden": "true" });
    var fill = el("span", { "class": "meter__fill" });
    fill.style.width = Math.max(0, Math.min(100, Math.round(fraction * 1000) / 10)) + "%";
    fill.style.background = color(index);
    track.appendChild(fill);
    cell.appendChild(track);
    row.appendChild(cell);
    row.appendChild(el("td", { "class": "meter__figures" }, figures));
    return row;
  }

  function labelsOf(message) {
    var labels = {};
    (message.options || []).forEach(function (option) { labels[option.id] = option.label; });
    return labels;
  }

  function indexOf(message) {
    var index = {};
    (message.options || []).forEach(function (option, i) { index[option.id] = i; });
    return index;
  }

  /* Ranked questions (their first preferences are the bars above): the instant runoff on what
     is counted so far — who wins it (or won it, once the poll is closed), each round in a line. */
  PollView.prototype.renderRanked = function (message) {
    var panel = this.field("ranked");
    if (!panel) { return; }
    var ranked = message.ranked;
    panel.hidden = message.kind !== "ranked";
    if (panel.hidden) { return; }
    var text = function (name) { return panel.getAttribute("data-" + name); };
    var labels = labelsOf(message);
    var winner = this.field("ranked-winner");
    var list = this.field("ranked-rounds");
    list.textContent = "";
    if (!ranked) {
      winner.textContent = message.withheld ? interpolate(S.withheld, { k: message.batch_min }) : "";
      return;
    }
    if (ranked.winner === null || ranked.winner === undefined) {
      winner.textContent = text("no-winner");
    } else {
      var template = message.status === "closed" ? text("elected") : text("leading");
      winner.textContent = interpolate(template, { option: labels[ranked.winner] || ranked.winner });
    }
    ranked.rounds.forEach(function (round) {
      var item = el("li", { "class": "rounds__round" });
      item.appendChild(el("span", { "class": "rounds__name" }, interpolate(text("round"), { n: round.round })));
      var tallies = round.tallies.map(function (row) {
        return (labels[row.id] || row.id) + " " + count(row.votes);
      }).join(" · ");
      item.appendChild(el("span", { "class": "rounds__tallies" }, tallies));
      if (round.exhausted) {
        item.appendChild(el("span", { "class": "rounds__exhausted" },
          interpolate(text("exhausted"), { n: count(round.exhausted) })));
      }
      (round.eliminated || []).forEach(function (id) {
        item.appendChild(el("span", { "class": "rounds__out" },
          "✕ " + interpolate(text("out"), { option: labels[id] || id })));
      });
      if (round.elected !== null && round.elected !== undefined) {
        item.appendChild(el("span", { "class": "rounds__elected" }, "★ " + (labels[round.elected] || round.elected)));
      }
      list.appendChild(item);
    });
  };

  /* Score questions: each option's mean on the poll's scale, with its median and raters. */
  PollView.prototype.renderScores = function (message) {
    var panel = this.field("scores");
    if (!panel) { return; }
    var scores = message.scores;
    panel.hidden = message.kind !== "score";
    if (panel.hidden) { return; }
    var labels = labelsOf(message);
    var index = indexOf(message);
    var body = this.field("scores-table").tBodies[0];
    body.textContent = "";
    if (!scores) { return; }
    var title = this.field("scores-title");
    title.textContent = interpolate(title.getAttribute("data-title"), { min: scores.min, max: scores.max });
    var decimals = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
    var span = Math.max(1, scores.max - scores.min);
    scores.options.forEach(function (row) {
      var figures = row.mean === null || row.mean === undefined
        ? panel.getAttribute("data-none")
        : interpolate(panel.getAttribute("data-summary"), {
          mean: decimals.format(row.mean), median: decimals.format(row.median),
          raters: count(row.raters)
        });
      var fraction = row.mean === null || row.mean === undefined ? 0 : (row.mean - scores.min) / span;
      body.appendChild(meterRow(labels[row.id] || String(row.id), fraction, figures, index[row.id] || 0));
    });
  };

  function withheld(value, suppressed) {
    if (suppressed || value === null || value === undefined) {
      return el("span", { "class": "withheld", title: S.suppressed, "aria-label": S.suppressed }, "—");
    }
    return el("span", { "class": "num" }, numbers.format(value));
  }

  /* Once a second: the countdown to closing (or opening). When a deadline passes, the status
     changes on the server without a message; ask for a fresh snapshot then. */
  PollView.prototype.tick = function () {
    var message = this.state;
    if (!message) { return; }
    var label = this.field("clock-label");
    var clock = this.field("clock");
    var deadline = null;
    if (message.status === "open") {
      label.textContent = S.time_left;
      deadline = Date.parse(message.closes_at);
    } else if (message.status === "upcoming") {
      label.textContent = S.opens_in;
      deadline = Date.parse(message.opens_at);
    } else {
      label.textContent = S.time_left;
      clock.textContent = message.status === "closed" ? S.ended : "–";
      clock.classList.toggle("is-ended", message.status === "closed");
      return;
    }
    clock.classList.remove("is-ended");
    var left = deadline - now();
    clock.textContent = duration(left);
    if (left <= 0 && this.socket && this.askedAtDeadline !== deadline) {
      this.askedAtDeadline = deadline;
      var socket = this.socket;
      window.setTimeout(function () { socket.refresh(); }, 1000);
    }
  };

  PollView.prototype.showConnection = function (state) {
    var node = this.field("connection");
    this.root.setAttribute("data-connection", state);
    node.className = "conn conn--" + state;
    node.textContent = S[state] || state;
  };

  // --- The socket: reconnects by itself, with exponential backoff and jitter --------------------

  function LiveSocket(path, view) {
    this.path = path;
    this.view = view;
    this.ws = null;
    this.attempts = 0;
    this.everOpened = false;
    this.timer = null;
    this.keepalive = null;
    view.socket = this;
  }

  LiveSocket.prototype.url = function () {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + this.path;
  };

  LiveSocket.prototype.connect = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = null;
    this.view.showConnection(this.everOpened ? "reconnecting" : "connecting");
    var ws;
    try {
      ws = new WebSocket(this.url());
    } catch (_error) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = function () {
      var reconnected = self.everOpened;
      self.everOpened = true;
      self.attempts = 0;
      self.view.showConnection("live");
      // The server sends a snapshot on connect; ask again after a reconnect all the same.
      if (reconnected) { self.send({ type: "refresh" }); }
      window.clearInterval(self.keepalive);
      self.keepalive = window.setInterval(function () { self.send({ type: "refresh" }); },
        KEEPALIVE_MS);
    };
    ws.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (_error) { return; }
      if (message && message.type === "tally" && String(message.poll) === self.view.pollId) {
        self.view.render(message);
      }
    };
    ws.onclose = function () {
      if (self.ws !== ws) { return; }
      self.ws = null;
      window.clearInterval(self.keepalive);
      self.retry();
    };
    ws.onerror = function () { /* onclose follows */ };
  };

  LiveSocket.prototype.retry = function () {
    var self = this;
    var base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, this.attempts));
    var delay = base / 2 + Math.random() * base / 2;
    this.attempts += 1;
    this.view.showConnection(this.everOpened ? "reconnecting" : "connecting");
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.connect(); }, delay);
  };

  LiveSocket.prototype.send = function (data) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(data));
      return true;
    }
    return false;
  };

  /* Back on screen, back online, or at a deadline: a fresh snapshot, reconnecting if need be. */
  LiveSocket.prototype.refresh = function () {
    if (this.send({ type: "refresh" })) { return; }
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) { return; }
    this.attempts = 0;
    this.connect();
  };

  // --- Start ----------------------------------------------------------------------------------

  var views = [];
  Array.prototype.forEach.call(document.querySelectorAll("[data-poll][data-ws]"), function (root) {
    var view = new PollView(root);
    var socket = new LiveSocket(root.getAttribute("data-ws"), view);
    if (snapshots[view.pollId]) { view.render(snapshots[view.pollId]); }
    socket.connect();
    views.push(view);
  });

  window.setInterval(function () {
    views.forEach(function (view) { view.tick(); });
  }, 1000);
  window.addEventListener("resize", function () {
    views.forEach(function (view) { view.markScrollables(); });
  });

  /* Projector mode: larger type for a meeting room's screen, remembered on this device. */
  var PROJECTOR_KEY = "mvoting-dashboard-projector";
  var projector = document.querySelector('[data-action="projector"]');
  function setProjector(on) {
    document.documentElement.classList.toggle("projector", on);
    if (projector) { projector.setAttribute("aria-pressed", on ? "true" : "false"); }
    try { window.localStorage.setItem(PROJECTOR_KEY, on ? "1" : ""); } catch (_error) { /* private */ }
    views.forEach(function (view) { view.markScrollables(); });
  }
  if (projector) {
    var remembered = "";
    try { remembered = window.localStorage.getItem(PROJECTOR_KEY) || ""; } catch (_error) { /* private */ }
    setProjector(remembered === "1");
    projector.addEventListener("click", function () {
      setProjector(projector.getAttribute("aria-pressed") !== "true");
    });
  }

  /* The overview: when the set of open polls changes (one opened, was published, closed early),
     reload to show the new set. Checked every 30 s and just after the next known opening. */
  function checkOpenPolls() {
    if (!config.poll_list_url || !window.fetch) { return; }
    var shown = Object.keys(config.polls || {}).sort().join(",");
    window.fetch(config.poll_list_url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        var open = body.polls.map(String).sort().join(",");
        if (open !== shown) { window.location.reload(); }
      })
      .catch(function () { /* offline: the next check tries again */ });
  }
  if (config.poll_list_url) {
    window.setInterval(checkOpenPolls, 30000);
    if (config.next_opening_at) {
      var untilOpening = Date.parse(config.next_opening_at) - now() + 1000;
      if (untilOpening > 0 && untilOpening < 2147483647) {
        window.setTimeout(checkOpenPolls, untilOpening);
      }
    }
  }

  function wake() {
    checkOpenPolls();
    views.forEach(function (view) { view.socket.refresh(); });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { wake(); }
  });
  window.addEventListener("online", wake);
})();
