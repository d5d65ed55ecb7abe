/* The guided poll form (voting/admin/polls.py, change_form.html): the description's Markdown
 * preview, the live audience estimate, the fields each question kind uses, and the options'
 * order (drag by the handle, or the arrow buttons; the hidden position follows the order).
 * Everything here is a convenience: the server validates the form as before. */
"use strict";
(function () {
  const AUDIENCE_FIELDS = [
    "districts", "groups", "private", "min_age", "max_age", "min_verification", "onsite_only",
  ];
  // Which of the question's fields each kind uses (voting/forms.py PollForm.clean).
  const KIND_FIELDS = {
    single: [],
    multiple: ["min_choices", "max_choices"],
    ranked: ["min_choices", "max_choices"],
    score: ["score_min", "score_max", "score_abstain"],
  };
  const KIND_DEPENDENT = ["min_choices", "max_choices", "score_min", "score_max", "score_abstain"];

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function post(url, form, data) {
    const token = form.querySelector("[name=csrfmiddlewaretoken]");
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "" },
    });
  }

  function setUpPreview(form, config, textareaId, previewId) {
    const textarea = document.getElementById(textareaId);
    const preview = document.getElementById(previewId);
    if (!textarea || !preview) return;
    let sent = 0;
    const update = debounce(function () {
      const ticket = ++sent;
      const data = new FormData();
      data.append("text", textarea.value);
      post(config.previewUrl, form, data)
        .then(function (response) { return response.text().then(function (body) { return [response.ok, body]; }); })
        .then(function (result) {
          if (ticket !== sent) return; // an older answer arriving late
          if (result[0]) {
            preview.innerHTML = result[1]; // sanitized by the server (core/markdown.py)
          } else {
            preview.textContent = result[1];
          }
        })
        .catch(function () {});
    }, 300);
    textarea.addEventListener("input", update);
  }

  function audienceData(form, config) {
    const data = new FormData();
    AUDIENCE_FIELDS.forEach(function (name) {
      const field = form.elements[name];
      if (!field) return;
      if (field.type === "select-multiple") {
        Array.from(field.selectedOptions).forEach(function (option) { data.append(name, option.value); });
      } else if (field.type === "checkbox") {
        if (field.checked) data.append(name, "on");
      } else {
        data.append(name, field.value);
      }
    });
    if (config.poll) data.append("poll", config.poll);
    return data;
  }

  function setUpEstimate(form, config) {
    const live = document.getElementById("audience-estimate-live");
    // A poll with ballots shows its audience read-only: its saved estimate is the answer.
    if (!live || !form.elements.districts) return;
    let sent = 0;
    const update = debounce(function () {
      const ticket = ++sent;
      post(config.estimateUrl, form, audienceData(form, config))
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (ticket === sent && body && body.text) live.textContent = body.text;
        })
        .catch(function () {});
    }, 250);
    const selector = AUDIENCE_FIELDS.map(function (name) { return "[name=" + name + "]"; }).join(",");
    // Through jQuery: select2 (the district and group pickers) announces changes as jQuery events.
    window.django.jQuery(form).on("change input", selector, update);
    update();
  }

  function setUpKind(form) {
    const kind = form.elements.kind;
    if (!kind) return;
    function show() {
      const used = KIND_FIELDS[kind.value] || [];
      KIND_DEPENDENT.forEach(function (name) {
        const row = form.querySelector(".form-row.field-" + name);
        if (!row) return;
        // A field with an error stays in view, whatever the kind.
        row.hidden = used.indexOf(name) === -1 && !row.classList.contains("errors");
      });
    }
    kind.addEventListener("change", show);
    show();
  }

  // The admin's select2 pickers (districts, groups): their search box gets its field's label, and
  // the list of chosen items, which also holds that box, is not announced as a list (axe-core's
  // "label" and "list" rules). select2 redraws them on every change: watched, not set once.
  function labelPickers(form) {
    function fix() {
      form.querySelectorAll(".select2-container").forEach(function (container) {
        const select = container.previousElementSibling;
        const label = select && select.id ? form.querySelector("label[for='" + select.id + "']") : null;
        const name = label ? label.textContent.replace(/[:：]\s*$/, "").trim() : "";
        container.querySelectorAll(".select2-search__field").forEach(function (input) {
          if (name && input.getAttribute("aria-label") !== name) input.setAttribute("aria-label", name);
        });
        container.querySelectorAll("ul.select2-selection__rendered, ul.select2-selection__rendered > li").forEach(function (element) {
          if (element.getAttribute("role") !== "none") element.setAttribute("role", "none");
        });
      });
    }
    new MutationObserver(fix).observe(form, { childList: true, subtree: true });
    fix();
  }

  // --- Options: order by drag and drop or arrow buttons ---

  function rowsOf(container) {
    return Array.from(container.querySelectorAll(":scope > .option-row:not(.empty-form)"));
  }

  function isBlank(row) {
    const id = row.querySelector("input[name$='-id']");
    if (id && id.value) return false;
    return !Array.from(row.querySelectorAll("input, textarea")).some(function (el) {
      if (el.type === "hidden" || el.type === "checkbox") return false;
      if (el.type === "file") return el.files && el.files.length > 0;
      return el.value.trim() !== "";
    });
  }

  function renumber(container) {
    let position = 0;
    rowsOf(container).forEach(function (row, index) {
      const number = row.querySelector(".option-number");
      if (number) number.textContent = "#" + (index + 1);
      const input = row.querySelector("input[data-position]");
      // A blank new row keeps its position: it stays unchanged, so the server skips it.
      if (input && !isBlank(row)) input.value = String(position++);
    });
  }

  function announce(container, text) {
    let status = container.parentNode.querySelector(".option-order-status");
    if (!status) {
      status = document.createElement("p");
      status.className = "option-order-status visually-hidden";
      status.setAttribute("aria-live", "polite");
      container.parentNode.appendChild(status);
    }
    status.textContent = text;
  }

  function setUpOptions(form, config) {
    const container = form.querySelector(".option-inline .option-rows");
    if (!container) return;
    container.addEventListener("click", function (event) {
      const button = event.target.closest("button.option-move");
      if (!button) return;
      const row = button.closest(".option-row");
      const rows = rowsOf(container);
      const index = rows.indexOf(row);
      const target = button.dataset.move === "up" ? index - 1 : index + 1;
      if (index < 0 || target < 0 || target >= rows.length) return;
      if (button.dataset.move === "up") {
        container.insertBefore(row, rows[target]);
      } else {
        container.insertBefore(row, rows[target].nextSibling);
      }
      renumber(container);
      button.focus();
      announce(container, (config.moved || "").replace("%(n)s", String(target + 1)));
    });

    let dragged = null;
    container.addEventListener("mousedown", function (event) {
      const handle = event.target.closest(".option-handle");
      if (handle) handle.closest(".option-row").draggable = true;
    });
    container.addEventListener("dragstart", function (event) {
      dragged = event.target.closest(".option-row");
      if (!dragged) return;
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.id);
    });
    container.addEventListener("dragover", function (event) {
      const over = event.target.closest(".option-row");
      if (!dragged || !over || over === dragged || over.classList.contains("empty-form")) return;
      event.preventDefault();
      const box = over.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      container.insertBefore(dragged, after ? over.nextSibling : over);
    });
    container.addEventListener("drop", function (event) {
      if (dragged) event.preventDefault();
    });
    container.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged.draggable = false;
      dragged = null;
      renumber(container);
    });

    document.addEventListener("formset:added", function (event) {
      if (!event.detail || event.detail.formsetName !== "options") return;
      const row = event.target;
      const index = row.id.split("-").pop();
      // Django's inline script renames ids and names, not the help texts' references.
      row.querySelectorAll("[aria-describedby*='__prefix__']").forEach(function (el) {
        el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").replace("__prefix__", index));
      });
      const input = row.querySelector("input[data-position]");
      if (input) input.value = String(rowsOf(container).length - 1);
      renumber(container);
    });
    document.addEventListener("formset:removed", function (event) {
      if (event.detail && event.detail.formsetName === "options") renumber(container);
    });
    form.addEventListener("submit", function () { renumber(container); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const configElement = document.getElementById("poll-form-config");
    const form = document.getElementById("poll_form");
    if (!configElement || !form) return;
    const config = {
      previewUrl: configElement.dataset.previewUrl,
      estimateUrl: configElement.dataset.estimateUrl,
      poll: configElement.dataset.poll,
      moved: configElement.dataset.moved,
    };
    setUpPreview(form, config, "id_description", "markdown-preview");
    setUpPreview(form, config, "id_description_en", "markdown-preview-en");
    setUpKind(form);
    setUpEstimate(form, config);
    setUpOptions(form, config);
    labelPickers(form);
  });
})();
