// The console's only script: draws the ECharts charts described by data-chart attributes
// (server-rendered JSON options; no inline script, so the CSP stays strict) and moves the
// roster upload's progress bar. Everything else is htmx attributes.
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.echarts === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var option;
      try { option = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option, true);
    });
  }

  function resizeCharts() {
    if (typeof window.echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { drawCharts(evt.target); });
  window.addEventListener("resize", resizeCharts);

  // Upload progress: htmx relays the XMLHttpRequest's progress events for the upload and
  // then for the answer under one name; the upload's end (its first loadend) ends the bar.
  function progressBar(form) {
    return form && form.hasAttribute && form.hasAttribute("data-progress")
      ? document.getElementById(form.getAttribute("data-progress")) : null;
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var bar = progressBar(evt.target);
    if (!bar) return;
    evt.target.setAttribute("data-uploading", "1");
    bar.value = 0;
  });
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target;
    var bar = progressBar(form);
    if (!bar || form.getAttribute("data-uploading") !== "1" || !(evt.detail.total > 0)) return;
    bar.max = evt.detail.total;
    bar.value = evt.detail.loaded;
    var label = document.getElementById(bar.id + "-text");
    if (label) label.textContent = Math.round((evt.detail.loaded / evt.detail.total) * 100) + "%";
  });
  document.addEventListener("htmx:xhr:loadend", function (evt) {
    if (progressBar(evt.target)) evt.target.setAttribute("data-uploading", "0");
  });
})();
