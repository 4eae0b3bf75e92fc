/* The customer's signature, drawn with a finger (or a mouse) on a canvas; exported as a PNG data URL. */
(function () {
  "use strict";

  /** Make `canvas` a signature pad; `onStroke()` is called after each finished stroke. */
  function signaturePad(canvas, onStroke) {
    const ctx = canvas.getContext("2d");
    let last = null, signed = false;
    const clear = () => {
      ctx.fillStyle = "#fff"; // white, not transparent: the PNG reads well on any background
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      signed = false;
    };
    // The canvas has a fixed pixel size and is scaled by CSS: map the pointer into its pixels.
    const point = (ev) => {
      const r = canvas.getBoundingClientRect();
      return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
    };
    canvas.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      canvas.setPointerCapture(ev.pointerId);
      last = point(ev);
    });
    canvas.addEventListener("pointermove", (ev) => {
      if (!last) return;
      ev.preventDefault();
      const p = point(ev);
      Object.assign(ctx, { strokeStyle: "#000", lineWidth: 5, lineCap: "round", lineJoin: "round" });
      ctx.beginPath();
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      last = p;
      signed = true;
    });
    const end = () => {
      if (last && signed) onStroke();
      last = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    clear();
    return {
      clear: clear,
      get signed() { return signed; },
      toDataURL: () => canvas.toDataURL("image/png"),
      /** Put back a saved signature (a draft restored after a reload). */
      draw(dataUrl) {
        const img = new Image();
        img.onload = () => { ctx.drawImage(img, 0, 0); signed = true; };
        img.src = dataUrl;
      },
    };
  }

  window.Field = Object.assign(window.Field || {}, { signaturePad: signaturePad });
})();
