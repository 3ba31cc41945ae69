// api.js: talk to the vswidget server, and say on the console what went wrong.
// Every call resolves to {data} or {error[, status, fields]}; none rejects.

const me = document.currentScript; // only set while this script first runs
const REPORT = ": please report it to the vswidget maintainers.";

function warn(msg) {
  try {
    console.warn("[vswidget] " + msg);
  } catch (e) {}
}

// A function that logs instead of throwing: nothing escapes to the host page.
function safe(f) {
  return function (a) {
    try {
      return f(a);
    } catch (e) {
      warn("unexpected error (" + e + ")" + REPORT);
    }
  };
}

// The server that served this script: widget.js comes from the same origin as the payloads.
function serverOrigin() {
  let src = me && me.src;
  const all = document.querySelectorAll("script[src]");
  for (let i = all.length - 1; !src && i >= 0; i--) {
    if (/\/widget\.js([?#]|$)/.test(all[i].src)) src = all[i].src;
  }
  try {
    return new URL(src).origin;
  } catch (e) {
    return "";
  }
}

const origin = serverOrigin();

function shortToken(t) {
  return t.length > 12 ? t.slice(0, 10) + "\u2026" : t;
}


// One CORS-simple request (no custom headers, no cookies) answered with JSON, aborted after 8 s.
// A POST body is a string, so it goes as text/plain: no preflight.
function ask(url, init) {
  return new Promise(done => {
    try {
      const ctl = window.AbortController ? new AbortController() : null;
      const timer = setTimeout(() => {
        if (ctl) ctl.abort();
        done({ error: "no answer within 8 s" });
      }, 8000);
      fetch(url, Object.assign({ credentials: "omit", signal: ctl && ctl.signal }, init))
        .then(r =>
          r.json().then(
            body => {
              const e = (body && body.error) || {};
              done(
                r.ok
                  ? { data: body }
                  : { status: r.status, fields: e.fields, error: "HTTP " + r.status + (e.message ? ", " + e.message : "") }
              );
            },
            () => done({ status: r.status, error: "HTTP " + r.status + ", not JSON" })
          )
        )
        .catch(e => done({ error: (e && e.message) || "network error" }))
        .then(() => clearTimeout(timer));
    } catch (e) {
      done({ error: String(e) });
    }
  });
}

function postJSON(url, body) {
  return ask(url, { method: "POST", body: JSON.stringify(body) });
}

// The payloads of several embed tokens in one request: {data: {payloads, errors}} or {error}.
// A reader who voted asks with the time of their last vote, so neither their browser nor
// a CDN answers with a copy from before it; everyone else shares the cached payload.
function getPayloads(base, tokens, lang) {
  const voted = Math.max(0, ...tokens.map(t => mine(t).at || 0));
  return ask(
    base + "/v1/payloads?" +
      tokens.map(t => "t=" + encodeURIComponent(t)).join("&") +
      (lang ? "&lang=" + encodeURIComponent(lang) : "") +
      (voted ? "&v=" + voted : "")
  );
}
