/*
 * Boxes marked [data-scroll-region] scroll sideways where their table cannot fit (the page itself
 * never does). Where one scrolls, it becomes a named region in the tab order, so a keyboard can
 * scroll it too (axe-core: scrollable-region-focusable); where it fits, it stays out of the way.
 * Its name is its aria-label or aria-labelledby, set in the template.
 */
(function () {
  "use strict";

  function mark() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-scroll-region]"), function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("role", "region");
        box.setAttribute("tabindex", "0");
      } else {
        box.removeAttribute("role");
        box.removeAttribute("tabindex");
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
  window.addEventListener("resize", mark);
})();
