// api.js: talk to the vswidget server, and say on the console what went wrong.
// Every call resolves to {data} or {error[, status, fields]}; none rejects.

const me = document.currentScript; // only set while this script first runs
const BUG = " (a bug: please report it)";

function warn(msg) {
  try {
    console.warn("[vswidget] " + msg);
  } catch (e) {}
}

// A function that logs instead of throwing: nothing escapes to the host page.
function safe(f) {
  return a => {
    try {
      return f(a);
    } catch (e) {
      warn(e + BUG);
    }
  };
}

// The server that served this script, which serves the payloads too: the origin of the
// script's own src, else of the last <script> whose src ends in /widget.js.
const origin = (() => {
  try {
    return new URL((me || [...document.querySelectorAll("script[src]")].filter(s => /\/widget\.js([?#]|$)/.test(s.src)).pop()).src).origin;
  } catch (e) {
    return "";
  }
})();

// One CORS-simple request (no custom headers, no cookies) answered with JSON, or not within
// 8 s. A POST body is a string, so it goes as text/plain: no preflight.
function ask(path, init) {
  return Promise.race([
    fetch(origin + path, { credentials: "omit", ...init }).then(r =>
      r.json().then(
        body => (r.ok ? { data: body } : { status: r.status, fields: body.error.fields, error: "HTTP " + r.status + ", " + body.error.message }),
        () => ({ status: r.status, error: "HTTP " + r.status + ", not JSON" })
      )
    ),
    new Promise(done => setTimeout(done, 8000, { error: "no answer in 8 s" })),
  ]).catch(e => ({ error: String(e) }));
}
