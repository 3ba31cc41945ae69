// main.js: finds the widgets of the page, loads them as they come near, exposes window.VSWidget;
// on the server's own pages, wires the comparison already there.

const seen = new WeakSet(); // every element ever taken: none is rendered twice
const BATCH = 20; // embed tokens per request at most
let io, sheet, timer; // the IntersectionObserver, the shared stylesheet, the pending flush
const queue = []; // elements near the viewport, waiting for the flush

function tokenOf(el) {
  return (el.getAttribute("data-vswidget") || "").trim();
}

// Take a widget element (or every widget inside a container): load it once it comes near.
function take(el) {
  if (!el) return;
  if (!(el.hasAttribute && el.hasAttribute("data-vswidget"))) {
    if (el.querySelectorAll) el.querySelectorAll("[data-vswidget]").forEach(take);
    return;
  }
  if (seen.has(el)) return;
  seen.add(el);
  if (!tokenOf(el)) return warn("a data-vswidget attribute is empty: paste the whole snippet from your vswidget server.");
  if (io) io.observe(el);
  else want(el);
}

const near = safe(entries => {
  entries.forEach(e => {
    if (e.isIntersecting) {
      io.unobserve(e.target);
      want(e.target);
    }
  });
});

// Widgets that come near in the same tick share one request (one per data-lang).
function want(el) {
  queue.push(el);
  if (!timer) timer = setTimeout(flush, 0);
}

const flush = safe(() => {
  const groups = {};
  timer = 0;
  queue.splice(0).forEach(el => {
    const lang = (el.getAttribute("data-lang") || "").trim();
    (groups[lang] = groups[lang] || []).push(el);
  });
  Object.keys(groups).forEach(lang => {
    const tokens = [...new Set(groups[lang].map(tokenOf))];
    for (let i = 0; i < tokens.length; i += BATCH) load(groups[lang], tokens.slice(i, i + BATCH), lang);
  });
});

function load(els, tokens, lang) {
  getPayloads(origin, tokens, lang)
    .then(
      safe(res => {
        if (res.error) {
          return warn(
            "could not load " + tokens.map(shortToken).join(", ") + " from " + (origin || "this site") +
              " (" + res.error + "): check that the vswidget server is up and reachable from this page."
          );
        }
        const found = res.data.payloads || {};
        const refused = res.data.errors || {};
        tokens.forEach(t => {
          if (found[t]) return;
          warn(
            refused[t]
              ? "embed token " + shortToken(t) + " is not valid (" + refused[t] + "): copy the snippet again from your vswidget server."
              : "no answer for embed token " + shortToken(t) + ": check that widget.js and the snippet come from the same vswidget server."
          );
        });
        els.forEach(el => {
          const t = tokenOf(el);
          if (found[t] && tokens.indexOf(t) >= 0) show(el, found[t]);
        });
      })
    )
    .catch(warn);
}

// Styles go into the shadow root: one shared constructed sheet, else a <style> element.
function adopt(root) {
  try {
    if (!root.adoptedStyleSheets) throw 0;
    if (!sheet) {
      const s = new CSSStyleSheet();
      s.replaceSync(CSS);
      sheet = s;
    }
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    h("style", null, CSS, root);
  }
}

// Build first, attach after: if anything fails, the placeholder link stays visible.
function show(el, p) {
  try {
    const tree = build(p);
    const root = el.attachShadow({ mode: "open" });
    adopt(root);
    root.appendChild(tree);
    wire(tree, p, el);
  } catch (e) {
    warn("could not show " + shortToken(tokenOf(el)) + " (" + e + ")" + REPORT);
  }
}

// The server's pages (iframe form, canonical page) render the comparison themselves and
// hold its payload in <script type="application/json" id="vsw-payload">.
function page() {
  const data = document.getElementById("vsw-payload");
  const sec = document.querySelector("section.vsw");
  if (data && sec && !seen.has(sec)) {
    seen.add(sec);
    wire(sec, JSON.parse(data.textContent), sec);
  }
}

try {
  const prev = window.VSWidget;
  if (!(prev && prev.loaded)) {
    const render = safe(take);
    // The real object replaces the queue stub; other properties a host set on it stay.
    const api = { loaded: true, render: render, q: { push: render } };
    if (prev) Object.keys(prev).forEach(k => k in api || (api[k] = prev[k]));
    window.VSWidget = api;
    if (window.IntersectionObserver) io = new IntersectionObserver(near, { rootMargin: "600px" });
    const scan = safe(() => {
      page();
      take(document);
    });
    scan();
    if (document.readyState == "loading") document.addEventListener("DOMContentLoaded", scan);
    if (prev && prev.q && prev.q.forEach) prev.q.forEach(render);
  }
} catch (e) {
  warn("could not start (" + e + ")" + REPORT);
}
