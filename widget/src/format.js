// format.js: numbers and words as the widget shows them.

const DASH = "\u2014";

// A whole percent, or a dash while there is nothing to share ("67%", "—").
function pct(n) {
  return typeof n == "number" ? n + "%" : DASH;
}

// A label with its {n}, {name} and {title} placeholders filled in.
function fill(label, values) {
  return String(label || "").replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

// "No votes yet", "1 vote", "12 votes" in the payload's language.
function voteCount(L, n) {
  return fill(n ? L[n == 1 ? "votes_one" : "votes_other"] : L.no_votes, { n: n });
}

// Only http(s) URLs ever become links.
function web(url) {
  return /^https?:\/\//i.test(url);
}
