// events.js: what readers do, counted. Events wait in a queue and go out together with
// navigator.sendBeacon (a text/plain POST: no preflight, no cookies) when the page is hidden
// or left, and 3 s after the last one. Nothing is retried, nothing throws.

const events = [];
const watched = new Map(); // element -> {token, on, t}: widgets that have not been viewed yet
let sendTimer, seer; // the pending send, the IntersectionObserver of views

// track("vote", token, item): item only for votes and clicks.
function track(type, token, item) {
  events.push({ type, token, item });
  clearTimeout(sendTimer);
  sendTimer = setTimeout(sendEvents, 3000);
}

// The page and the referrer go without query and fragment (the server keeps no more). The
// server takes 50 events and 4 KiB a request: a long queue goes out in several.
const sendEvents = safe(() => {
  const url = origin + "/v1/events";
  const cut = u => u.split(/[?#]/)[0];
  let n, body;
  clearTimeout(sendTimer);
  while ((n = Math.min(events.length, 50))) {
    while ((body = JSON.stringify({ page: cut(location.href), referrer: cut(document.referrer), events: events.slice(0, n) })).length > 3000 && n > 1) n >>= 1;
    events.splice(0, n);
    try {
      if (navigator.sendBeacon) navigator.sendBeacon(url, body);
      else fetch(url, { method: "POST", body, keepalive: true, credentials: "omit" }).catch(() => {});
    } catch (e) {}
  }
});

// The view event: half of the widget visible for 1 s in a visible tab, once per page load.
function watch(el, token) {
  if (!window.IntersectionObserver) return;
  seer = seer || new IntersectionObserver(safe(es => es.forEach(e => look(e.target, e.intersectionRatio >= 0.49))), { threshold: 0.5 });
  watched.set(el, { token });
  seer.observe(el);
}

function look(el, on) {
  const w = watched.get(el);
  if (!w) return;
  clearTimeout(w.t);
  w.on = on;
  if (on && !document.hidden) {
    w.t = setTimeout(() => {
      watched.delete(el);
      seer.unobserve(el);
      track("view", w.token);
    }, 1000);
  }
}

addEventListener("pagehide", sendEvents);
document.addEventListener(
  "visibilitychange",
  safe(() => {
    if (document.hidden) sendEvents();
    watched.forEach((w, el) => look(el, w.on)); // hidden: the timers stop; visible: they start again
  })
);
