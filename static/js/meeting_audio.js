/* Click-to-play on the meeting page (issue 20): a line's time plays the recording from that line.
 *
 * `#audio-player` holds the <audio> element and `data-cue-url` (GET ?segment=<pk> → {url,
 * offset_ms, kind, recording_id}: the mixed recording covering the line, else the speaker's own
 * track). Clicking (or Enter/Space on) `.segment .at` asks for the cue, loads that recording if
 * another one is loaded, seeks to the line's start and plays. The server answers Range requests,
 * so seeking does not download the file. Lines added live get the same behaviour (delegation).
 */
(function () {
  "use strict";
  var player = document.getElementById("audio-player");
  if (!player) return;
  var audio = player.querySelector("audio");
  var status = player.querySelector(".audio-status");
  var cueUrl = player.getAttribute("data-cue-url");
  var transcript = document.getElementById("transcript");
  document.documentElement.classList.add("audio-replay");

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function decorate(root) {
    root.querySelectorAll(".segment .at:not([tabindex])").forEach(function (time) {
      time.tabIndex = 0;
      time.setAttribute("role", "button");
      time.setAttribute("title", "Play from here");
    });
  }

  function seekAndPlay(seconds) {
    // Before its metadata is known (preload="none", or a new src) the element cannot seek:
    // seek as soon as it can, and call play() now, while the click still counts as a gesture.
    if (audio.readyState >= 1) audio.currentTime = seconds;
    else {
      audio.addEventListener("loadedmetadata", function () {
        audio.currentTime = seconds;
      }, { once: true });
    }
    var played = audio.play();
    if (played && played.catch) {
      played.catch(function (error) {
        status.textContent = "Press play to listen (" + error.name + ").";
      });
    }
  }

  function play(segment) {
    var pk = segment.getAttribute("data-pk");
    status.textContent = "Loading…";
    fetch(cueUrl + "?segment=" + encodeURIComponent(pk), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(function (cue) {
        if (audio.getAttribute("data-recording-id") !== String(cue.recording_id)) {
          audio.setAttribute("data-recording-id", String(cue.recording_id));
          audio.src = cue.url;
        }
        var playing = document.querySelector(".segment.playing");
        if (playing) playing.classList.remove("playing");
        segment.classList.add("playing");
        player.setAttribute("data-segment", pk);
        player.setAttribute("data-offset-ms", String(cue.offset_ms));
        var at = segment.querySelector(".at");
        var speaker = segment.querySelector(".speaker");
        status.textContent =
          "Playing " + (speaker ? speaker.textContent + " at " : "from ") + (at ? at.textContent : "") + " (" +
          (cue.kind === "mixed" ? "recording of everyone" : "the speaker's own track") + ", " +
          clock(cue.offset_ms / 1000) + " into it).";
        seekAndPlay(cue.offset_ms / 1000);
      })
      .catch(function (code) {
        status.textContent = code === 404 ? "No recording covers this line." : "Could not load the recording.";
      });
  }

  function target(event) {
    var time = event.target.closest && event.target.closest(".segment .at");
    return time && transcript && transcript.contains(time) ? time.closest(".segment") : null;
  }

  document.addEventListener("click", function (event) {
    var segment = target(event);
    if (!segment) return;
    event.preventDefault();
    play(segment);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    var segment = target(event);
    if (!segment) return;
    event.preventDefault();
    play(segment);
  });

  if (transcript) {
    decorate(transcript);
    new MutationObserver(function () {
      decorate(transcript);
    }).observe(transcript, { childList: true, subtree: true });
  }
})();
