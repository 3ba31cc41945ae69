// api.js: talk to the vswidget server. Every call resolves to {data} or {error}; none rejects.

// GET a JSON document: CORS-simple (no custom headers, no cookies), aborted after 8 s.
function getJSON(url) {
  return new Promise(done => {
    try {
      const ctl = window.AbortController ? new AbortController() : null;
      const timer = setTimeout(() => {
        if (ctl) ctl.abort();
        done({ error: "no answer within 8 s" });
      }, 8000);
      fetch(url, { credentials: "omit", signal: ctl && ctl.signal })
        .then(r =>
          r.json().then(
            body => {
              const e = body && body.error;
              done(r.ok ? { data: body } : { error: "HTTP " + r.status + (e && e.message ? ", " + e.message : "") });
            },
            () => done({ error: "HTTP " + r.status + ", not JSON" })
          )
        )
        .catch(e => done({ error: (e && e.message) || "network error" }))
        .then(() => clearTimeout(timer));
    } catch (e) {
      done({ error: String(e) });
    }
  });
}

// The payloads of several embed tokens in one request: {data: {payloads, errors}} or {error}.
function getPayloads(base, tokens, lang) {
  return getJSON(
    base + "/v1/payloads?" +
      tokens.map(t => "t=" + encodeURIComponent(t)).join("&") +
      (lang ? "&lang=" + encodeURIComponent(lang) : "")
  );
}
