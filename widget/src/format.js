// format.js: words as the widget shows them.

// A label with its {n}, {name} and {title} placeholders filled in.
function fill(label, values) {
  return String(label || "").replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

// Below this many votes the shares can still move a lot: the widget says so, as the dashboard
// does (tallies.FEW_VOTES on the server).
const FEW = 30;

// "No votes yet", "1 vote", "12 votes" in the payload's language.
function voteCount(L, n) {
  return fill(n ? L[n == 1 ? "votes_one" : "votes_other"] : L.no_votes, { n });
}

// Only http(s) URLs ever become links.
function web(url) {
  return /^https?:\/\//i.test(url);
}

// A share as a big percent ("67%", "—" while there is none), with its bar (--p) under it;
// wire.js updates it after a vote.
function percent(dd, n) {
  const known = typeof n == "number";
  dd.textContent = known ? n + "%" : "\u2014";
  if (known) dd.style.setProperty("--p", n + "%");
  else dd.style.removeProperty("--p");
}

// The line under the question: an invitation before the first vote, a warning while there
// are few, the count after that. wire.js updates it after a vote.
function poll(L, n) {
  return n ? fill(L[n < FEW ? "early" : "total"], { count: voteCount(L, n) }) : L.first;
}
