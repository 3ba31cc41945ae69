/* The iframe form's only script: tell the parent page our height.
   WordPress hands the frame a secret in its URL (#?secret=...) and sizes the
   iframe when we answer with {message: "height", value, secret}; it navigates
   the top window for {message: "link", value} to our own host. */
(function () {
  if (window.parent === window) return;
  var match = /[#&?]secret=([A-Za-z0-9]+)/.exec(location.hash);
  var secret = match ? match[1] : "";
  function tell(message, value) {
    try {
      window.parent.postMessage({ message: message, value: value, secret: secret }, "*");
    } catch (e) { /* a parent that refuses messages is fine */ }
  }
  function height() {
    tell("height", Math.ceil(document.documentElement.getBoundingClientRect().height));
  }
  window.addEventListener("load", height);
  if (window.ResizeObserver) new ResizeObserver(height).observe(document.documentElement);
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    // A sandboxed frame cannot open links itself; WordPress opens our own pages for it.
    if (link && secret && link.host === location.host) {
      event.preventDefault();
      tell("link", link.href);
    }
  });
})();
