// render.js: a payload as a DOM tree, built with createElement and textContent only.
// templates/_comparison.html renders the same markup on the server: change both together.

// A new element, appended to parent when there is one: h(ul, "li", "card", text, {attributes}).
function h(parent, tag, cls, text, attrs) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return parent ? parent.appendChild(e) : e;
}

// A link that opens in a new tab; the href only when the URL is http(s).
function link(parent, cls, url, text, rel) {
  const a = h(parent, "a", cls, text);
  if (web(url)) a.href = url;
  a.target = "_blank";
  a.rel = rel || "noopener";
}

// An optional text: o[key] in a new element whose class is key, when o has one.
function opt(parent, tag, o, key) {
  if (o[key]) h(parent, tag, key, o[key]);
}

// A <details> whose summary is text: what folds a long text away.
function fold(parent, cls, text) {
  const d = h(parent, "details", cls);
  h(d, "summary", 0, text);
  return d;
}

function has(list, key) {
  return (list || []).indexOf(key) >= 0;
}

// The whole widget: header, item cards, reviewer scorecard, call to action, footer.
function build(p) {
  const L = p.labels || {};
  const items = p.items || [];
  const panel = p.panel || [];
  const root = h(0, "section", "vsw", null, { role: "region", "aria-label": fill(L.region, { title: p.title }) });

  const head = h(root, "header", "head");
  opt(head, "p", p, "kicker");
  h(head, "h2", "title", p.title);
  opt(head, "p", p, "question");
  h(head, "p", "poll", poll(p, p.votes));

  const body = h(root, "div", "body");
  const cards = h(body, "ul", "items n" + items.length);
  items.forEach(it => {
    const name = { name: it.name };
    const card = h(cards, "li", "card", null, { "data-key": it.key });
    const flag = has(p.contested, it.key) ? "split" : panel[1] ? "agrees" : "";
    if (it.category || flag || it.sponsored) {
      const meta = h(card, "p", "meta");
      opt(meta, "span", it, "category");
      if (flag) h(meta, "span", "flag " + flag, L[flag]);
      if (it.sponsored) h(meta, "span", "flag sponsored", L.sponsored);
    }
    h(card, "h3", "name", it.name);
    opt(card, "p", it, "tagline");
    const dl = h(card, "dl", "stats");
    // The two shares: a label and a big percent with a bar under it; the community's count.
    ["panel_ship", "community"].forEach(key => {
      const d = h(dl, "div", "stat " + key);
      h(d, "dt", 0, L[key]);
      percent(h(d, "dd", "pct"), it[key]);
      if (key == "community") h(d, "dd", "n", p.votes ? voteCount(p, it.votes, 1) : "");
    });
    if (it.price) {
      const d = h(dl, "div", "stat entry");
      h(d, "dt", 0, L.entry);
      h(d, "dd", 0, it.price);
    }
    if (it.description) h(fold(card, "about", fill(L.about, name)), "p", "description", it.description);
    // The vote button and the link out, at the bottom of the card; wire.js makes the button work.
    const act = h(card, "div", "actions");
    h(act, "button", "vote", fill(L.vote, name), { type: "button", "aria-pressed": "false" });
    link(act, "visit", it.url, fill(L.visit, name), it.sponsored && "noopener sponsored");
  });

  if (panel[0]) {
    const sc = h(body, "div", "scorecard");
    h(sc, "h3", "sc-title", L.scorecard);
    const revs = h(sc, "ul", "reviewers");
    panel.forEach(r => {
      const vs = r.verdicts || {};
      const li = h(revs, "li", "rev");
      const who = h(li, "p", "who");
      h(who, "span", "rname", r.name);
      opt(who, "span", r, "lens");
      const ul = h(li, "ul", "verdicts");
      let quotes; // this reviewer's quotes, folded under their verdicts
      items.forEach(it => {
        const v = vs[it.key];
        if (!v) return;
        const ship = v.verdict == "ship" ? "ship" : "skip";
        const odd = has(r.dissents, it.key);
        const chip = h(ul, "li", "v " + ship + (odd ? " dissent" : ""));
        h(chip, "span", "vname", it.name);
        h(chip, "span", "vv", L[ship]);
        if (odd) h(chip, "span", "dis", null, { role: "img", "aria-label": L.dissent, title: L.dissent });
        if (!v.quote) return;
        quotes = quotes || h(fold(li, "quotes", L.quotes), "ul", "qlist");
        const q = h(quotes, "li");
        h(q, "span", "qitem", it.name + " \u00b7 " + L[ship]);
        h(q, "q", 0, v.quote);
      });
    });
  }

  const cta = p.cta;
  if (cta) {
    const box = h(body, "div", "cta", null, { part: "cta", "data-kind": cta.kind });
    const txt = h(box, "div", "cta-text");
    h(txt, "h3", "headline", cta.headline);
    opt(txt, "p", cta, "text");
    if (cta.kind == "link") link(box, "btn", cta.url, cta.label || L.learn_more);
    else signup(h(box, "div", "signup"), L, cta.label || L.subscribe);
  }

  const foot = h(root, "footer", "foot");
  link(foot, "full", p.url, L.full);
  h(foot, "p", "note", null, { role: "status", "aria-live": "polite" }); // says how a vote went
  return root;
}

// The newsletter form. IDs are fixed: one comparison per shadow root, or per server page.
// method=post: without JavaScript a submit never puts the address in a URL. Each field's
// aria-describedby names the message under it, empty until the field fails.
function signup(box, L, label) {
  const form = h(box, "form", 0, null, { method: "post", novalidate: "" });
  let d = h(form, "div", "fld");
  h(d, "label", 0, L.email, { for: "vsw-email" });
  const row = h(d, "div", "row");
  h(row, "input", 0, null, { id: "vsw-email", type: "email", name: "email", autocomplete: "email", required: "", "aria-describedby": "vsw-email-e" });
  h(row, "button", "btn", label, { type: "submit" });
  h(d, "p", "err", null, { id: "vsw-email-e" });
  d = h(form, "div", "fld chk");
  h(d, "input", 0, null, { id: "vsw-consent", type: "checkbox", name: "consent", required: "", "aria-describedby": "vsw-consent-e" });
  h(d, "label", 0, L.consent, { for: "vsw-consent" });
  h(d, "p", "err", null, { id: "vsw-consent-e" });
  // The honeypot: people never see it or reach it, some bots fill it in.
  h(form, "input", "hp", null, { type: "text", name: "website", tabindex: "-1", autocomplete: "off", "aria-hidden": "true" });
  h(box, "p", "msg", null, { role: "status", "aria-live": "polite", tabindex: "-1" });
}
