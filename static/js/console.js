// The console's own script (the CSP allows no inline script): copy buttons.
// A copy button is rendered hidden and shown here, so without JavaScript no
// button is offered that could do nothing.
(function () {
  "use strict";

  function reveal(root) {
    (root || document).querySelectorAll("button[data-copy], button[data-copy-target]").forEach(function (button) {
      button.hidden = false;
    });
  }

  // navigator.clipboard exists only in secure contexts (https, localhost); plain
  // http on another host falls back to the older selection-based copy.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "position-fixed top-0 start-0 opacity-0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (e) {
      done = false;
    }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function textOf(button) {
    if (button.hasAttribute("data-copy")) {
      return button.getAttribute("data-copy");
    }
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    return target ? target.textContent : "";
  }

  function say(button, label) {
    var text = button.querySelector(".copy-label");
    var original = text.getAttribute("data-label") || text.textContent;
    text.setAttribute("data-label", original);
    text.textContent = label;
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(function () { text.textContent = original; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy], button[data-copy-target]");
    if (!button) {
      return;
    }
    copy(textOf(button)).then(
      function () { say(button, button.getAttribute("data-copied")); },
      function () { say(button, button.getAttribute("data-copy-failed")); }
    );
  });

  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  // Content swapped in by htmx (the route table after a search) brings its own buttons.
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });
})();
