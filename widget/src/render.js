// render.js: a payload as a DOM tree, built with createElement and textContent only.
// templates/_comparison.html renders the same markup on the server: change both together.

// A new element with a class and a text, appended to a parent.
function h(tag, cls, text, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

// Attributes from an object: attr(e, {type: "button", "aria-pressed": "false"}).
function attr(e, values) {
  for (const k in values) e.setAttribute(k, values[k]);
  return e;
}

// A link that opens in a new tab; the href only when the URL is http(s).
function link(parent, cls, url, text, rel) {
  const a = h("a", cls, text, parent);
  if (web(url)) a.href = url;
  a.target = "_blank";
  a.rel = rel || "noopener";
  return a;
}

// A share as a big percent, with its bar under it (--p); wire.js updates it after a vote.
function percent(dd, n) {
  dd.textContent = pct(n);
  if (typeof n == "number") dd.style.setProperty("--p", n + "%");
  else dd.style.removeProperty("--p");
}

// One figure of a card: a label and a big percent with a bar under it.
function stat(dl, cls, label, n) {
  const d = h("div", "stat " + cls, null, dl);
  h("dt", null, label, d);
  percent(h("dd", "pct", null, d), n);
}

function has(list, key) {
  return (list || []).indexOf(key) >= 0;
}

// The whole widget: header, item cards, reviewer scorecard, call to action, footer.
function build(p) {
  const L = p.labels || {};
  const items = p.items || [];
  const panel = p.panel || [];
  const root = attr(h("section", "vsw"), { role: "region", "aria-label": fill(L.region, { title: p.title }) });
  root.style.height = p.height + "px";

  const head = h("header", "head", null, root);
  if (p.kicker) h("p", "kicker", p.kicker, head);
  h("h2", "title", p.title, head);
  if (p.question) h("p", "question", p.question, head);

  const body = h("div", "body", null, root);
  const cards = h("ul", "items n" + items.length, null, body);
  items.forEach(it => {
    const card = attr(h("li", "card", null, cards), { "data-key": it.key });
    const flag = has(p.contested, it.key) ? "split" : panel.length > 1 ? "agrees" : "";
    if (it.category || flag || it.sponsored) {
      const meta = h("p", "meta", null, card);
      if (it.category) h("span", "cat", it.category, meta);
      if (flag) h("span", "flag " + flag, L[flag], meta);
      if (it.sponsored) h("span", "flag sponsored", L.sponsored, meta);
    }
    h("h3", "name", it.name, card);
    if (it.tagline) h("p", "tagline", it.tagline, card);
    const dl = h("dl", "stats", null, card);
    stat(dl, "panel-ship", L.panel_ship, it.panel_ship);
    stat(dl, "community", L.community, it.community);
    if (it.price) {
      const d = h("div", "stat entry", null, dl);
      h("dt", null, L.entry, d);
      h("dd", null, it.price, d);
    }
    if (it.description) h("p", "desc", it.description, card);
    // The vote button and the link, at the bottom of the card; wire.js makes the button work.
    const act = h("div", "actions", null, card);
    attr(h("button", "vote", fill(L.vote, { name: it.name }), act), { type: "button", "aria-pressed": "false" });
    link(act, "visit", it.url, fill(L.visit, { name: it.name }), it.sponsored ? "noopener sponsored" : "");
  });

  if (panel.length) {
    const sc = h("div", "scorecard", null, body);
    h("h3", "sc-title", L.scorecard, sc);
    const revs = h("ul", "reviewers", null, sc);
    let quotes; // <details> after the list: each reviewer's quotes, folded
    panel.forEach(r => {
      const vs = r.verdicts || {};
      const li = h("li", "rev", null, revs);
      const who = h("p", "who", null, li);
      h("span", "rname", r.name, who);
      if (r.lens) h("span", "lens", r.lens, who);
      const ul = h("ul", "verdicts", null, li);
      let said;
      items.forEach(it => {
        const v = vs[it.key];
        if (!v) return;
        const ship = v.verdict == "ship" ? "ship" : "skip";
        const odd = has(r.dissents, it.key);
        const chip = h("li", "v " + ship + (odd ? " dissent" : ""), null, ul);
        h("span", "vname", it.name, chip);
        h("span", "vv", L[ship], chip);
        if (odd) attr(h("span", "dis", null, chip), { role: "img", "aria-label": L.dissent, title: L.dissent });
        if (!v.quote) return;
        if (!quotes) h("summary", null, L.quotes, (quotes = h("details", "quotes", null, sc)));
        if (!said) {
          h("h4", "qname", r.name, quotes);
          said = h("ul", "qlist", null, quotes);
        }
        const q = h("li", null, null, said);
        h("span", "qitem", it.name + " \u00b7 " + L[ship], q);
        h("q", null, v.quote, q);
      });
    });
  }

  const cta = p.cta;
  if (cta) {
    const box = attr(h("div", "cta", null, body), { part: "cta", "data-kind": cta.kind });
    const txt = h("div", "cta-text", null, box);
    h("h3", "cta-h", cta.headline, txt);
    if (cta.text) h("p", "cta-t", cta.text, txt);
    if (cta.kind == "link") link(box, "btn", cta.url, cta.label || L.learn_more);
    else signup(h("div", "signup", null, box), L, cta.label || L.subscribe);
  }

  const foot = h("footer", "foot", null, root);
  link(foot, "full", p.url, L.full);
  attr(h("p", "note", null, foot), { role: "status", "aria-live": "polite" }); // says how a vote went
  h("span", "count", voteCount(L, p.votes), foot);
  return root;
}

// The newsletter form. IDs are fixed: one comparison per shadow root, or per server page.
// method=post: without JavaScript a submit never puts the address in a URL.
function signup(box, L, label) {
  const form = attr(h("form", null, null, box), { method: "post", novalidate: "" });
  let d = h("div", "fld", null, form);
  attr(h("label", null, L.email, d), { for: "vsw-email" });
  const row = h("div", "row", null, d);
  const describe = "aria-describedby"; // the message under the field: empty until it fails
  attr(h("input", null, null, row), { id: "vsw-email", type: "email", name: "email", autocomplete: "email", required: "", [describe]: "vsw-email-e" });
  attr(h("button", "btn", label, row), { type: "submit" });
  attr(h("p", "err", null, d), { id: "vsw-email-e" });
  d = h("div", "fld chk", null, form);
  attr(h("input", null, null, d), { id: "vsw-consent", type: "checkbox", name: "consent", required: "", [describe]: "vsw-consent-e" });
  attr(h("label", null, L.consent, d), { for: "vsw-consent" });
  attr(h("p", "err", null, d), { id: "vsw-consent-e" });
  // The honeypot: people never see it or reach it, some bots fill it in.
  attr(h("input", "hp", null, form), { type: "text", name: "website", tabindex: "-1", autocomplete: "off", "aria-hidden": "true" });
  attr(h("p", "msg", null, box), { role: "status", "aria-live": "polite", tabindex: "-1" });
}
