/* An order type's service-report form on the phone: fields drawn from the day's `form`, answers
 * collected and checked here as the server checks them (dispatch/forms.py), so the worker sees a
 * missing or wrong answer at once, offline too. Text the office typed (labels, choices) is set as
 * text only. Photo fields queue photos through the page's own photo queue; signature fields use
 * the signature pad (signature.js).
 */
(function () {
  "use strict";

  const SIGNATURE_PREFIX = "data:image/png;base64,";
  const _ = (message, params) => window.Field.t(message, params); // field/i18n.js: the office's catalogue

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  /**
   * Draw `form`'s fields into `box`; returns {collect, fill, check}. `hooks.photo(file)` queues a photo
   * and resolves to its id; `hooks.changed()` is called after every edit.
   */
  function renderForm(box, form, hooks) {
    box.replaceChildren(el("legend", { class: "form-name", text: form.name }));
    const inputs = {};
    for (const f of form.fields) {
      const label = el("span", { class: "ff-label", text: f.label });
      const req = f.required ? [el("span", { class: "ff-req", text: " (required)" })] : [];
      const error = el("span", { class: "ff-error", role: "alert" });
      let wrap;
      if (f.type === "checkbox") {
        const input = el("input", { type: "checkbox", "data-item": f.label, "data-field": f.id });
        wrap = el("label", { class: "check form-field" }, [input, label, ...req, error]);
        inputs[f.id] = { get: () => input.checked, set: (v) => { input.checked = v === true; } };
        input.addEventListener("change", hooks.changed);
      } else if (f.type === "choice") {
        const select = el("select", { class: "ff-input", "data-field": f.id }, [el("option", { value: "", text: "— choose —" })]);
        for (const c of f.choices) select.append(el("option", { value: c, text: c }));
        wrap = el("label", { class: "form-field" }, [label, ...req, select, error]);
        inputs[f.id] = { get: () => select.value || null, set: (v) => { select.value = v == null ? "" : String(v); } };
        select.addEventListener("change", hooks.changed);
      } else if (f.type === "number") {
        const attrs = { type: "number", step: "any", inputmode: "decimal", class: "ff-input", "data-field": f.id };
        if (f.min != null) attrs.min = String(f.min);
        if (f.max != null) attrs.max = String(f.max);
        const input = el("input", attrs);
        wrap = el("label", { class: "form-field" }, [label, ...req, input, error]);
        inputs[f.id] = {
          get: () => (input.value.trim() === "" ? null : Number(input.value)),
          set: (v) => { input.value = v == null ? "" : String(v); },
        };
        input.addEventListener("input", hooks.changed);
      } else if (f.type === "text") {
        const input = el("textarea", { rows: "2", class: "ff-input", "data-field": f.id });
        wrap = el("label", { class: "form-field" }, [label, ...req, input, error]);
        inputs[f.id] = { get: () => input.value.trim() || null, set: (v) => { input.value = v == null ? "" : String(v); } };
        input.addEventListener("input", hooks.changed);
      } else if (f.type === "photo") {
        let ids = [];
        const count = el("span", { class: "ff-photos small" });
        const show = () => { count.textContent = ids.length ? (ids.length === 1 ? _("1 photo attached") : _("{n} photos attached", { n: ids.length })) : _("No photo yet"); };
        const input = el("input", { type: "file", accept: "image/jpeg,image/png,image/webp,image/*", capture: "environment", "data-field": f.id });
        input.addEventListener("change", async (ev) => {
          const files = Array.from(ev.target.files || []);
          ev.target.value = "";
          for (const file of files) ids.push(await hooks.photo(file));
          show();
          hooks.changed();
        });
        wrap = el("div", { class: "form-field" }, [label, ...req,
          el("label", { class: "btn btn-plain file-btn" }, [el("span", { text: _("Take or add a photo") }), input]), count, error]);
        inputs[f.id] = { get: () => (ids.length ? ids.slice() : null), set: (v) => { ids = Array.isArray(v) ? v.slice() : []; show(); } };
        show();
      } else if (f.type === "signature") {
        const canvas = el("canvas", { class: "signature", width: "680", height: "320", "data-field": f.id,
          "aria-label": `${f.label}: sign with your finger` });
        const clear = el("button", { type: "button", class: "btn btn-small", text: _("Clear signature") });
        wrap = el("div", { class: "sign-box form-field" }, [label, ...req, canvas, clear, error]);
        const pad = window.Field.signaturePad(canvas, hooks.changed);
        clear.addEventListener("click", () => { pad.clear(); hooks.changed(); });
        inputs[f.id] = {
          get: () => (pad.signed ? pad.toDataURL() : null),
          set: (v) => { pad.clear(); if (typeof v === "string" && v.startsWith(SIGNATURE_PREFIX)) pad.draw(v); },
        };
      } else continue;
      wrap.dataset.fieldId = f.id;
      wrap.dataset.type = f.type;
      box.append(wrap);
    }

    function collect() {
      const answers = {};
      for (const f of form.fields) {
        const v = inputs[f.id] ? inputs[f.id].get() : null;
        if (v !== null && v !== false) answers[f.id] = v;
        else if (f.type === "checkbox") answers[f.id] = false;
      }
      return answers;
    }

    function fill(answers) {
      for (const f of form.fields) if (inputs[f.id]) inputs[f.id].set((answers || {})[f.id]);
    }

    /** {field id: reason} for every answer the server would refuse; shown next to each field. */
    function check(answers) {
      const problems = {};
      for (const f of form.fields) {
        const v = answers[f.id];
        const blank = v == null || v === "" || (Array.isArray(v) && !v.length);
        let reason = null;
        if (blank || (f.type === "checkbox" && v === false)) reason = f.required ? _("Required") : null;
        else if (f.type === "number") {
          if (!Number.isFinite(v)) reason = _("Enter a number");
          else if (f.min != null && v < f.min) reason = _("At least {n}", { n: f.min });
          else if (f.max != null && v > f.max) reason = _("At most {n}", { n: f.max });
        } else if (f.type === "choice" && !f.choices.includes(v)) reason = _("Choose one of the choices");
        if (reason) problems[f.id] = reason;
      }
      box.querySelectorAll(".form-field").forEach((w) => {
        const reason = problems[w.dataset.fieldId] || "";
        w.querySelector(".ff-error").textContent = reason;
        w.classList.toggle("ff-invalid", !!reason);
      });
      return problems;
    }

    return { collect: collect, fill: fill, check: check, hasRequired: form.fields.some((f) => f.required) };
  }

  window.Field = Object.assign(window.Field || {}, { renderForm: renderForm });
})();
