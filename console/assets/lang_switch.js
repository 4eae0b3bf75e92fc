/* The language switch of every Dash page goes back to the page as the reader has it, query included (the day page's
 * ?worker=3&date=…): the server wrote the switch's `next` with the page's path only, since it serves the layout
 * (_dash-layout) without the page's query. */
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("lang-switch")) return;
    form.action = "/lang?" + new URLSearchParams({ next: location.pathname + location.search }).toString();
  }, true);
})();
