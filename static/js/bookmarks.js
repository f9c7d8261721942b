/* Bookmarks on the meeting page (issue 20), loaded after htmx and live.js.
 *
 * - ☆ on a transcript line, or the key `b` (outside text fields), bookmarks a line: the line
 *   holding the keyboard focus, else the line last clicked, else the latest final line (while
 *   the meeting is live: what was just said). POSTed with htmx to the panel's
 *   `data-create-url` (CSRF header from `hx-headers`); the answer and the live push replace
 *   `#bookmarks` out of band on every watching page.
 * - A bookmark's link scrolls the transcript to its line when the line is on the page (else
 *   the link opens the transcript page that holds it).
 * - Lines with a bookmark get the class `bookmarked` (a filled ★).
 */
(function () {
  "use strict";

  var selected = null; // the transcript line last clicked

  function panel() {
    return document.getElementById("bookmarks");
  }

  function lineOf(element) {
    return element && element.closest ? element.closest("#transcript .segment") : null;
  }

  function latestLine() {
    var finals = document.querySelectorAll("#transcript .segment.final");
    if (finals.length) return finals[finals.length - 1];
    var all = document.querySelectorAll("#transcript .segment");
    return all.length ? all[all.length - 1] : null;
  }

  function bookmark(line) {
    var box = panel();
    if (!box || !line || !window.htmx) return;
    line.classList.add("bookmarking");
    window.htmx.ajax("POST", box.getAttribute("data-create-url"), {
      source: box,
      values: { segment: line.getAttribute("data-pk") },
      swap: "none",
    }).finally(function () {
      line.classList.remove("bookmarking");
    });
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "b" || evt.ctrlKey || evt.metaKey || evt.altKey || evt.repeat) return;
    if (typing(evt.target)) return;
    var line = lineOf(document.activeElement) ||
      (selected && document.contains(selected) ? selected : null) || latestLine();
    if (!line) return;
    evt.preventDefault();
    bookmark(line);
  });

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var button = evt.target.closest("#transcript .bookmark-button");
    if (button) {
      evt.preventDefault();
      bookmark(lineOf(button));
      return;
    }
    var link = evt.target.closest("#bookmarks .bookmark-link[data-segment]");
    if (link) {
      var line = document.getElementById("segment-" + link.getAttribute("data-segment"));
      if (!line) return; // not on this page: follow the link to the transcript page that has it
      evt.preventDefault();
      line.scrollIntoView({ block: "center" });
      line.classList.add("flash");
      window.setTimeout(function () { line.classList.remove("flash"); }, 1500);
      select(line);
      return;
    }
    var clicked = lineOf(evt.target);
    if (clicked) select(clicked);
  });

  function select(line) {
    if (selected && selected !== line) selected.classList.remove("selected");
    selected = line;
    line.classList.add("selected");
  }

  function mark() {
    var marked = {};
    document.querySelectorAll("#bookmarks .bookmark[data-segment]").forEach(function (item) {
      marked[item.getAttribute("data-segment")] = true;
    });
    document.querySelectorAll("#transcript .segment").forEach(function (line) {
      var on = !!marked[line.getAttribute("data-pk")];
      if (line.classList.contains("bookmarked") !== on) line.classList.toggle("bookmarked", on);
      var button = line.querySelector(".bookmark-button");
      if (button && button.getAttribute("aria-pressed") !== String(on)) {
        button.setAttribute("aria-pressed", String(on));
        button.textContent = on ? "★" : "☆";
      }
    });
  }

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(function () {
      scheduled = false;
      mark();
    });
  }

  function start() {
    var root = document.getElementById("meeting-live") || document.body;
    new MutationObserver(schedule).observe(root, { childList: true, subtree: true });
    mark();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
