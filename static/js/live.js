/* Live dashboard glue for htmx 2 + htmx-ext-ws (loaded after them, deferred).
 *
 * 1. Upsert: the swap half of the live-line contract written in meetings/live_lines.py (which
 *    renders the lines and their `<div hx-swap-oob="beforeend:#list">` push wrapper). In a
 *    `[data-live-list]` target the "beforeend" becomes an upsert: an item whose id is on the page
 *    replaces it only if its data-seq is newer (a revised segment replaces itself; a duplicate or
 *    stale copy is dropped); a new item is inserted in (data-sort, data-pk) order
 *    (data-order="asc"|"desc"). A transcript showing a window drops items older than the window.
 * 2. Resume: the `[data-last-seq]` element tracks which changes it holds (a contiguous watermark:
 *    pushes from different producers may arrive out of order). On every socket open it sends
 *    {"resume_after_seq": watermark}; the server replays what came after and ends with
 *    `<!--sync:S-->`. Live messages start with `<!--seq:N-->`.
 * 3. Auto-scroll with a "jump to live" control; ticking durations (`[data-since]`) and the
 *    "Transcript N s behind" line (`#transcript-lag`); the
 *    connection state in `#connection`; on the meetings list, new rows honour the filters and a
 *    reconnect refreshes the rows.
 * Without JavaScript the pages are complete, static HTML.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function num(value) {
    var n = Number(value);
    return isFinite(n) ? n : 0;
  }

  function key(elt) {
    return [num(elt.getAttribute("data-sort")), num(elt.getAttribute("data-pk"))];
  }

  function compare(a, b) {
    return a[0] - b[0] || a[1] - b[1];
  }

  function items(list) {
    return Array.prototype.filter.call(list.children, function (child) {
      return child.hasAttribute("data-sort");
    });
  }

  function insertSorted(list, item) {
    var all = items(list);
    var k = key(item);
    var i;
    if (list.getAttribute("data-order") === "desc") {
      for (i = 0; i < all.length; i++) {
        if (compare(key(all[i]), k) < 0) {
          list.insertBefore(item, all[i]);
          return;
        }
      }
      list.appendChild(item);
      return;
    }
    for (i = all.length - 1; i >= 0; i--) {
      if (compare(key(all[i]), k) <= 0) {
        all[i].after(item);
        return;
      }
    }
    if (all.length) {
      list.insertBefore(item, all[0]);
    } else {
      list.appendChild(item);
    }
  }

  function matchesFilters(list, item) {
    var status = list.getAttribute("data-filter-status");
    var date = list.getAttribute("data-filter-date");
    var q = list.getAttribute("data-filter-q");
    if (status && item.getAttribute("data-status") !== status) return false;
    if (date && item.getAttribute("data-date") !== date) return false;
    if (q && (item.getAttribute("data-topic") || "").indexOf(q) < 0) return false;
    return true;
  }

  /* Returns INSERTED, REPLACED or 0 (dropped). */
  var INSERTED = 2, REPLACED = 1;
  function upsert(list, item) {
    var existing = item.id ? document.getElementById(item.id) : null;
    if (existing) {
      if (num(existing.getAttribute("data-seq")) >= num(item.getAttribute("data-seq")) &&
          existing.hasAttribute("data-seq")) {
        return 0;
      }
      if (compare(key(existing), key(item)) === 0) {
        existing.replaceWith(item);
      } else {
        existing.remove();
        insertSorted(list, item);
      }
      return REPLACED;
    }
    if (!matchesFilters(list, item)) return 0;
    var all = items(list);
    if (all.length && list.querySelector(":scope > .load-earlier") && compare(key(item), key(all[0])) < 0) {
      return 0; // older than the window: "load earlier" will bring it
    }
    list.querySelectorAll(":scope > .empty-transcript").forEach(function (e) { e.remove(); });
    insertSorted(list, item);
    return INSERTED;
  }

  function nearBottom(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd(list) {
    list.scrollTop = list.scrollHeight;
  }

  var unseen = 0;

  function jumpButton() {
    return document.getElementById("jump-to-live");
  }

  function setUnseen(count) {
    unseen = count;
    var button = jumpButton();
    if (!button) return;
    button.classList.toggle("visible", count > 0);
    var label = button.querySelector(".new-count");
    if (label) label.textContent = count > 0 ? " (" + count + " new)" : "";
  }

  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var list = evt.detail.target;
    if (!list || !list.hasAttribute || !list.hasAttribute("data-live-list")) return;
    evt.detail.shouldSwap = false;
    var follow = nearBottom(list);
    var added = 0, inserted = 0;
    Array.prototype.slice.call(evt.detail.fragment.children).forEach(function (item) {
      var outcome = upsert(list, item);
      if (outcome) {
        added += 1;
        if (outcome === INSERTED) inserted += 1;
        if (window.htmx) window.htmx.process(item);
      }
    });
    var total = list.id === "transcript" && document.getElementById("segment-total");
    if (total && inserted) total.textContent = String(num(total.textContent) + inserted);
    if (!added || list.getAttribute("data-order") === "desc") return;
    if (follow) {
      scrollToEnd(list);
    } else if (list.id === "transcript") {
      setUnseen(unseen + added);
    }
  });

  /* --- seq tracking and resume ------------------------------------------------------------- */

  function liveState(elt) {
    if (!elt._live) {
      elt._live = { watermark: num(elt.getAttribute("data-last-seq")), pending: new Set(), opened: 0 };
    }
    return elt._live;
  }

  function advance(elt, state) {
    while (state.pending.has(state.watermark + 1)) {
      state.watermark += 1;
      state.pending.delete(state.watermark);
    }
    elt.setAttribute("data-last-seq", String(state.watermark));
  }

  function sawSeq(elt, seq) {
    var state = liveState(elt);
    if (seq > state.watermark) state.pending.add(seq);
    advance(elt, state);
  }

  function synced(elt, seq) {
    var state = liveState(elt);
    if (seq > state.watermark) state.watermark = seq;
    state.pending.forEach(function (s) { if (s <= state.watermark) state.pending.delete(s); });
    advance(elt, state);
    elt.setAttribute("data-synced", "true");
  }

  function setConnection(elt, text, state) {
    elt.setAttribute("data-ws", state);
    var badge = elt.querySelector("#connection");
    if (badge) badge.textContent = text;
  }

  document.addEventListener("htmx:wsOpen", function (evt) {
    var elt = evt.target;
    setConnection(elt, "live updates on", "open");
    if (elt.hasAttribute("data-last-seq")) {
      var state = liveState(elt);
      state.opened += 1;
      evt.detail.socketWrapper.send(JSON.stringify({ resume_after_seq: state.watermark }));
    } else if (elt.hasAttribute("data-refresh-on-reconnect")) {
      var opened = (elt._opened = (elt._opened || 0) + 1);
      if (opened > 1 && window.htmx) {
        window.htmx.ajax("GET", window.location.href, { target: "#meeting-rows", select: "#meeting-rows", swap: "outerHTML" });
      }
    }
  });

  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail.event && evt.detail.event.code;
    if (code === 4403) {
      setConnection(evt.target, "no access to live updates", "refused");
    } else {
      setConnection(evt.target, "reconnecting…", "closed");
    }
  });

  document.addEventListener("htmx:wsAfterMessage", function (evt) {
    var elt = evt.target;
    if (!elt.hasAttribute("data-last-seq")) return;
    var match = /^<!--(seq|sync):(\d+)-->/.exec(evt.detail.message || "");
    if (!match) return;
    if (match[1] === "sync") {
      synced(elt, num(match[2]));
    } else {
      sawSeq(elt, num(match[2]));
    }
  });

  /* --- jump to live, ticking durations ------------------------------------------------------ */

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("#jump-to-live");
    if (!button) return;
    var transcript = document.getElementById("transcript");
    if (!transcript) return;
    evt.preventDefault();
    scrollToEnd(transcript);
    setUnseen(0);
  });

  document.addEventListener("scroll", function (evt) {
    if (evt.target && evt.target.id === "transcript" && nearBottom(evt.target)) setUnseen(0);
  }, true);

  function formatDuration(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    function pad(n) { return n < 10 ? "0" + n : String(n); }
    if (h) return h + " h " + pad(m) + " min";
    if (m) return m + " min " + pad(s) + " s";
    return s + " s";
  }

  /* "Transcript N s behind" (#transcript-lag, replaced on each push): shown from data-visible-ms
   * on; while shown it counts up from the pushed lag (the server pushes again when the oldest
   * pending audio is transcribed, possibly lag 0, which hides it). */
  function tickLag(now) {
    var elt = document.getElementById("transcript-lag");
    if (!elt) return;
    var lag = num(elt.getAttribute("data-lag-ms"));
    if (elt._receivedAt === undefined) elt._receivedAt = now;
    var visibleFrom = num(elt.getAttribute("data-visible-ms"));
    if (lag < visibleFrom) {
      elt.hidden = true;
      return;
    }
    var seconds = elt.querySelector(".lag-seconds");
    if (seconds) seconds.textContent = String(Math.round((lag + now - elt._receivedAt) / 1000));
    elt.hidden = false;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (elt) {
      var since = Date.parse(elt.getAttribute("data-since"));
      if (!isNaN(since)) elt.textContent = formatDuration(now - since);
    });
    tickLag(now);
  }

  function start() {
    var transcript = document.getElementById("transcript");
    if (transcript) scrollToEnd(transcript);
    var chat = document.getElementById("chat");
    if (chat) scrollToEnd(chat);
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
