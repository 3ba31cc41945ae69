// format.js: words as the widget shows them.

// A label with its {n}, {name} and {title} placeholders filled in.
function fill(label, values) {
  return String(label || "").replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

// Below this many votes the shares can still move a lot: the widget says so, as the dashboard
// does (tallies.FEW_VOTES on the server).
const FEW = 30;

// "No votes yet", "1 vote", "1,234 votes" in the payload's language: digits grouped and the
// label of n's plural category ("votes_one", "votes_many"; else "votes_other") by the
// browser's CLDR rules, as localized.py does on the server with Babel's. An item's count
// (``item``) says "0 votes": beside the poll's count, "No votes yet" would contradict it.
function voteCount(p, n, item) {
  const L = p.labels || {};
  return n || item ? fill(L["votes_" + new Intl.PluralRules(p.locale).select(n)] || L.votes_other, { n: new Intl.NumberFormat(p.locale).format(n) }) : L.no_votes;
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
function poll(p, n) {
  const L = p.labels || {};
  return n ? fill(L[n < FEW ? "early" : "total"], { count: voteCount(p, n) }) : L.first;
}
