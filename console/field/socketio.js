/* A minimal Socket.IO client over a plain WebSocket: no library to vendor, nothing from a CDN.
 *
 * It speaks the part of Engine.IO v4 / Socket.IO v5 this page needs: the server's "0{…}" open packet
 * is answered with "40{auth}" (connect to the default namespace), "2" pings with "3" pongs; "40…"
 * means connected, "41" disconnected by the server, "44{message}" refused, and "42[name, data]" is an event.
 */
(function () {
  "use strict";

  /**
   * Connect to this origin's /socket.io/ with `auth`, and reconnect (1 s, doubling to 30 s) after a
   * drop, until the server refuses the connection or `stop()` is called.
   * handlers: onEvent(name, data), onState(connected), onRefused(message).
   */
  function connectSocketIO(auth, handlers) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/socket.io/?EIO=4&transport=websocket";
    let ws = null, delay = 1000, stopped = false, timer = null;

    function open() {
      if (stopped || (ws && ws.readyState <= 1)) return;
      try { ws = new WebSocket(url); } catch (e) { return retry(); }
      ws.onmessage = (ev) => onPacket(String(ev.data));
      ws.onclose = () => { handlers.onState(false); retry(); };
    }

    function onPacket(m) {
      if (m[0] === "0") ws.send("40" + JSON.stringify(auth));
      else if (m === "2") ws.send("3");
      else if (m.startsWith("40")) { delay = 1000; handlers.onState(true); }
      // "41": the server ended this connection (a session ended, a team scope changed) but keeps the
      // WebSocket open; close it, so that the page connects again: in its new scope, or refused.
      else if (m.startsWith("41")) ws.close();
      else if (m.startsWith("44")) {
        stopped = true;
        ws.close();
        let message = "refused";
        try { message = JSON.parse(m.slice(2)).message || message; } catch (e) { /* keep the default */ }
        handlers.onRefused(message);
      } else if (m.startsWith("42")) {
        const match = /^42(?:\/[^,]*,)?\d*(\[[\s\S]*\])$/.exec(m); // optional namespace and ack id
        if (!match) return;
        const [name, data] = JSON.parse(match[1]);
        handlers.onEvent(name, data);
      }
    }

    function retry() {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    }

    open();
    return {
      stop() { stopped = true; clearTimeout(timer); if (ws) ws.close(); },
      /** After the network comes back: try at once instead of waiting out the backoff. */
      reconnectNow() { if (stopped) return; clearTimeout(timer); delay = 1000; open(); },
    };
  }

  window.Field = Object.assign(window.Field || {}, { connectSocketIO: connectSocketIO });
})();
