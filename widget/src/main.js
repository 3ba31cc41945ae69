// main.js: finds the widgets of the page, loads them as they come near, exposes window.VSWidget.

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
      const found = (d && d.payloads) || {};
      const refused = (d && d.errors) || {};
      if (!d) warn("could not load " + tokens + " from " + (origin || "this site") + " (" + res.error + "): is it up and reachable?");
      else
        tokens.forEach(t =>
          found[t] ||
          warn(
            refused[t]
              ? "token " + t + " refused (" + refused[t] + "): copy the snippet again"
              : "no answer for " + t + ": are widget.js and the snippet from one server?"
          )
        );
      // A widget that cannot be shown keeps its link and gives its space back.
      els.forEach(el => {
        const t = attr(el, "data-vswidget");
        if (tokens.includes(t)) found[t] ? show(el, found[t]) : settle(el);
      });
    })
  );
}

// The snippet reserves the space the widget will take (a height for each column width, as
// padding under a zero height): once the widget is shown, or has failed, the element takes
// its own height. What it no longer needs is given back only when nothing the reader sees
// moves: when the end of the element, and what follows it, is below the viewport, or, where
// the browser anchors its scrolling (not Safari), when all of it is above.
const anchored = window.CSS && window.CSS.supports("overflow-anchor:auto"); // (CSS is our stylesheet here)
function settle(el) {
  const s = el.style;
  const held = el.offsetHeight;
  s.height = s.paddingBottom = "";
  s.minHeight = held + "px";
  let frame; // the check waiting for the next frame: at most one a frame, however fast the scroll
  const check = safe(() => {
    frame = 0;
    const r = el.getBoundingClientRect(); // where the held space is now
    s.minHeight = "";
    const h = el.offsetHeight; // (reading a box after the change sees the scroll anchored)
    if (h < held && r.top + h < innerHeight && !(anchored && r.bottom < 0)) s.minHeight = held + "px";
    else removeEventListener("scroll", go);
  });
  const go = () => (frame = frame || requestAnimationFrame(check));
  addEventListener("scroll", go, { passive: true });
  check();
}

// Dark when data-theme says so, or, for "auto" (the default), when the first background
// behind the element is dark, or the page has none and its colour scheme is dark.
const DARK = "(prefers-color-scheme:dark)";
function dark(el) {
  const theme = attr(el, "data-theme");
  if (theme == "dark" || theme == "light") return theme == "dark";
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor.match(/[\d.]+/g);
    if (c && !(c[3] < 0.5)) return c[0] * 0.3 + c[1] * 0.6 + c[2] * 0.1 < 128;
  }
  const scheme = getComputedStyle(document.documentElement).colorScheme;
  return scheme == "dark" || (/dark/.test(scheme) && matchMedia(DARK).matches);
}

// Widgets shown, [element, section]: their theme follows the host page when it changes (a
// class or style on <html> or <body>, the reader's colour scheme).
const shown = [];
const retheme = safe(() => shown.forEach(([el, sec]) => sec.classList.toggle("dark", dark(el))));
function watchTheme() {
  const mo = new MutationObserver(retheme);
  [document.documentElement, document.body].forEach(e => e && mo.observe(e, { attributes: true }));
  matchMedia(DARK).addEventListener("change", retheme);
}

// Build first, attach after: if anything fails, the placeholder link stays visible.
// Styles: one constructed sheet shared by every shadow root, else a <style> element in each.
function show(el, p) {
  try {
    const tree = build(p);
    const root = el.attachShadow({ mode: "open" });
    if (!shown.length) watchTheme();
    shown.push([el, tree]);
    tree.classList.toggle("dark", dark(el));
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
    settle(el);
    wire(tree, p, el);
  } catch (e) {
    warn("could not show " + attr(el, "data-vswidget") + ": " + e + BUG);
  }
}

try {
  const prev = window.VSWidget;
  if (!(prev && prev.loaded)) {
    const render = safe(take);
    // The real object replaces the queue stub; other properties a host set on it stay.
    window.VSWidget = Object.assign({}, prev, { loaded: true, render, q: { push: render } });
    if (window.IntersectionObserver) io = new IntersectionObserver(near, { rootMargin: "600px" });
    // The page's own work first: the widgets hold their space until the browser is idle.
    const scan = safe(() => take(document));
    (window.requestIdleCallback || setTimeout)(scan, { timeout: 500 });
    if (document.readyState == "loading") document.addEventListener("DOMContentLoaded", scan);
    if (prev && prev.q && prev.q.forEach) prev.q.forEach(render);
  }
} catch (e) {
  warn("could not start: " + e + BUG);
}
