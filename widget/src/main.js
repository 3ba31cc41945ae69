// main.js: finds the widgets of the page, loads them as they come near, exposes window.VSWidget;
// on the server's own pages, wires the comparison already there.

const seen = new WeakSet(); // every element ever taken: none is rendered twice
let io, sheet, timer; // the IntersectionObserver, the shared stylesheet, the pending flush
let queue = {}; // data-lang -> the elements near the viewport, waiting for the flush

// An attribute of an element, trimmed; "" when it has none.
function attr(el, name) {
  return (el.getAttribute(name) || "").trim();
}

// Take a widget element (or every widget inside a container): load it once it comes near.
function take(el) {
  if (el?.hasAttribute?.("data-vswidget")) {
    if (seen.has(el)) return;
    seen.add(el);
    if (!attr(el, "data-vswidget")) warn("empty data-vswidget: paste the whole snippet again");
    else if (io) io.observe(el);
    else want(el);
  } else el?.querySelectorAll?.("[data-vswidget]").forEach(take);
}

const near = safe(entries =>
  entries.forEach(e => {
    if (e.isIntersecting) {
      io.unobserve(e.target);
      want(e.target);
    }
  })
);

// Widgets that come near in the same tick share a request: one per data-lang value, of 20
// tokens at most.
function want(el) {
  const lang = attr(el, "data-lang");
  (queue[lang] = queue[lang] || []).push(el);
  timer = timer || setTimeout(flush, 0);
}

const flush = safe(() => {
  const groups = queue;
  queue = {};
  timer = 0;
  for (const lang in groups) {
    const tokens = [...new Set(groups[lang].map(el => attr(el, "data-vswidget")))];
    for (let i = 0; i < tokens.length; i += 20) load(groups[lang], tokens.slice(i, i + 20), lang);
  }
});

// A reader who voted asks with the time of their last vote (&v=), so that neither their
// browser nor a CDN answers with a copy from before it; everyone else shares the cached one.
function load(els, tokens, lang) {
  const voted = Math.max(0, ...tokens.map(t => mine(t).at || 0));
  ask(
    "/v1/payloads?" + tokens.map(t => "t=" + encodeURIComponent(t)).join("&") +
      (lang ? "&lang=" + encodeURIComponent(lang) : "") +
      (voted ? "&v=" + voted : "")
  ).then(
    safe(res => {
      const d = res.data;
      if (!d) return warn("could not load " + tokens + " from " + (origin || "this site") + " (" + res.error + "): is it up and reachable?");
      const found = d.payloads || {};
      const refused = d.errors || {};
      tokens.forEach(t =>
        found[t] ||
        warn(
          refused[t]
            ? "token " + t + " refused (" + refused[t] + "): copy the snippet again"
            : "no answer for " + t + ": are widget.js and the snippet from one server?"
        )
      );
      els.forEach(el => {
        const t = attr(el, "data-vswidget");
        if (found[t] && tokens.includes(t)) show(el, found[t]);
      });
    })
  );
}

// Build first, attach after: if anything fails, the placeholder link stays visible.
// Styles: one constructed sheet shared by every shadow root, else a <style> element in each.
function show(el, p) {
  try {
    const tree = build(p);
    const root = el.attachShadow({ mode: "open" });
    try {
      if (!root.adoptedStyleSheets) throw 0;
      if (!sheet) {
        const s = new CSSStyleSheet();
        s.replaceSync(CSS);
        sheet = s;
      }
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      h(root, "style", 0, CSS);
    }
    root.appendChild(tree);
    wire(tree, p, el);
  } catch (e) {
    warn("could not show " + attr(el, "data-vswidget") + ": " + e + BUG);
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
    window.VSWidget = Object.assign({}, prev, { loaded: true, render, q: { push: render } });
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
  warn("could not start: " + e + BUG);
}
