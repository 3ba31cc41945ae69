() => {
  const B = window.__vswBench;
  const out = { painted: B.painted, found: B.found, long: B.long };
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  out.fcp = fcp ? fcp.startTime : null;
  const script = document.querySelector('script[src*="widget.js"]');
  if (script) {
    const s = performance.getEntriesByName(script.src)[0];
    out.script_end = s ? s.responseEnd : null;
    const p = performance.getEntriesByType("resource").find((r) => r.name.includes("/v1/payload"));
    out.payload_start = p ? p.startTime : null;
    out.payload_end = p ? p.responseEnd : null;
  }
  return out;
}
