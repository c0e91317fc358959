// Live updates for the engagement page: metrics announces every committed change on
// its server-sent event stream; the KPI section (marked data-live-kpis) is reloaded
// by htmx, at most once a second. Nothing is stored in the browser.
(function () {
  "use strict";
  function start() {
    if (!document.querySelector("[data-live-kpis]") || !window.EventSource) return;
    var source = new EventSource("/metrics/v1/kpis/stream");
    var timer = null;
    function say(text) {
      var el = document.getElementById("live-status");
      if (el) el.textContent = text;
    }
    source.addEventListener("open", function () { say("Live updates: connected"); });
    source.addEventListener("error", function () { say("Live updates: reconnecting"); });
    source.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { document.body.dispatchEvent(new Event("kpis-changed")); }, 1000);
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
