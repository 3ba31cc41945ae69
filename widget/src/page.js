// page.js: the script of the server's own pages, the iframe form (/embed/...) and the canonical
// page (/c/PUBLISHER/SLUG). They render the comparison themselves and hold its payload in
// <script type="application/json" id="vsw-payload">: this wires it (votes, the form, events),
// follows the reader's colour scheme where the page asks for it (?theme=auto), and, in a
// frame, speaks WordPress's embed protocol.

function page() {
  const data = document.getElementById("vsw-payload");
  const sec = document.querySelector("section.vsw");
  if (!data || !sec) return;
  if (document.body.getAttribute("data-theme") == "auto") {
    const scheme = matchMedia("(prefers-color-scheme:dark)");
    const follow = () => sec.classList.toggle("dark", scheme.matches);
    follow();
    scheme.addEventListener("change", follow);
  }
  wire(sec, JSON.parse(data.textContent), sec);
  if (parent != window) embedded(sec);
}

// WordPress's embed protocol (wp-includes/js/wp-embed.js). WordPress hands the frame a secret
// in its URL (#?secret=...) and sizes the iframe when we answer {message: "height", value,
// secret}, to at most 1,000 px; it asks again with {message: "ready"} once its script has
// loaded. A sandboxed frame cannot open links itself: for a link to our own host ("Full
// comparison", "Visit", which goes through /go) we send {message: "link", value} and WordPress
// opens it in the top window. Other hosts give no secret: links then open as links do.
function embedded(sec) {
  const match = /[#&?]secret=([A-Za-z0-9]+)/.exec(location.hash);
  const secret = match ? match[1] : "";
  const tell = (message, value) => parent.postMessage({ message, value, secret }, "*");
  // Taller than WordPress's 1,000 px even so (a font wider than the server's model): the
  // tight form leaves out what voting does not need.
  const measure = () => Math.ceil(document.documentElement.getBoundingClientRect().height);
  const height = safe(() => {
    if (innerWidth >= 320 && measure() > 1000) sec.classList.add("tight");
    tell("height", measure());
  });
  height();
  addEventListener("load", height);
  new ResizeObserver(height).observe(sec);
  addEventListener(
    "message",
    safe(e => {
      const d = e.data;
      if (e.source == parent && d && d.message == "ready" && d.secret == secret) height();
    })
  );
  document.addEventListener(
    "click",
    safe(e => {
      const a = e.target.closest("a[href]");
      if (a && secret && a.host == location.host) {
        e.preventDefault();
        tell("link", a.href);
      }
    })
  );
}

try {
  page();
} catch (e) {
  warn("could not start: " + e + BUG);
}
