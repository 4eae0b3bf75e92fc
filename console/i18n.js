/* `_()` for the plain pages' scripts (administration, attendance, the customer's page): the server put this
 * request's catalogue ({English: translation}, empty for English) on <body data-messages>, and translated the
 * page's own HTML already (console/i18n.py, plain_page). A script calls `_("English", {name: value})`, which
 * `pybabel extract` finds; `N_("English")` marks words defined ahead of use.
 */
(function () {
  "use strict";

  let messages = {};
  try { messages = JSON.parse(document.body.dataset.messages || "{}"); } catch (e) { /* English */ }

  /** `message` in the page's language, with `{name}` filled from `params`. */
  function t(message, params) {
    const text = messages[message] || message;
    return params ? text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)) : text;
  }

  window.OutfieldI18n = { t: t, N_: (m) => m, lang: document.documentElement.lang || "en" };
})();
