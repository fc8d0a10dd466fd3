// The bell's number of unread notifications, kept current while a page stays open: asked now
// and then (every `data-every` milliseconds), and at once when the page is looked at again.
(function () {
  "use strict";
  var bells = document.querySelectorAll("a.bell[data-every]");
  if (!bells.length) return;
  var every = Math.max(1000, parseInt(bells[0].getAttribute("data-every"), 10) || 60000);
  var shown = null;
  function show(unread) {
    if (unread === shown) return;
    shown = unread;
    bells.forEach(function (bell) {
      var count = bell.querySelector(".count");
      var words = bell.querySelector(".count-words");
      if (count) {
        count.textContent = String(unread);
        count.hidden = unread === 0;
      }
      if (words) words.hidden = unread === 0;
    });
  }
  function ask() {
    if (document.visibilityState === "hidden") return;
    fetch("/api/notifications/unread", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && typeof body.unread === "number") show(body.unread);
      })
      .catch(function () { /* offline for a while: the next turn asks again */ });
  }
  setInterval(ask, every);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") ask();
  });
})();
