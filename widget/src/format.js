// format.js: words as the widget shows them.

// A label with its {n}, {name} and {title} placeholders filled in.
function fill(label, values) {
  return String(label || "").replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

// "No votes yet", "1 vote", "12 votes" in the payload's language.
function voteCount(L, n) {
  return fill(n ? L[n == 1 ? "votes_one" : "votes_other"] : L.no_votes, { n });
}

// Only http(s) URLs ever become links.
function web(url) {
  return /^https?:\/\//i.test(url);
}
