/* Speaker names on the meeting page (issue 20), loaded after htmx and live.js.
 *
 * `#speaker-names` holds the renamed speakers as JSON {participant pk: name}; the server replaces
 * it (out of band) on every rename and at the end of every catch-up. Every `.speaker` element with
 * `data-participant` (transcript lines, chat senders, bookmarks) shows its participant's custom
 * name, else its `data-zoom-name` (the name Zoom gave it). Applied whenever the page changes, so
 * a line rendered just before a rename, or pushed by another process in between, shows the new
 * name too. Also: "Cancel" in the rename form empties `#speaker-rename`.
 * Without JavaScript every page is rendered with the current names by the server.
 */
(function () {
  "use strict";

  function names() {
    var element = document.getElementById("speaker-names");
    if (!element) return {};
    try {
      return JSON.parse(element.textContent) || {};
    } catch (e) {
      return {};
    }
  }

  function apply() {
    var map = names();
    document.querySelectorAll(".speaker[data-participant]").forEach(function (element) {
      var name = map[element.getAttribute("data-participant")] || element.getAttribute("data-zoom-name");
      if (name && element.textContent !== name) element.textContent = name;
    });
  }

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(function () {
      scheduled = false;
      apply();
    });
  }

  document.addEventListener("click", function (evt) {
    var cancel = evt.target.closest && evt.target.closest("#speaker-rename .rename-cancel");
    if (!cancel) return;
    evt.preventDefault();
    document.getElementById("speaker-rename").innerHTML = "";
  });

  function start() {
    var root = document.getElementById("meeting-live") || document.body;
    new MutationObserver(schedule).observe(root, { childList: true, subtree: true });
    apply();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
