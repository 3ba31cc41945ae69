// wire.js: what a rendered comparison does: votes, the newsletter form, counted clicks.
// The same for a tree render.js built in a shadow root and for the server's own pages
// (/embed/TOKEN, /c/PUBLISHER/SLUG), whose _comparison.html renders the same markup.

// The reader's pick per embed token, {item, receipt, at}, in localStorage["vsw:" + token];
// `at` (when they voted) makes their next payload request skip every cache (api.js).
// Storage may throw (a sandboxed iframe, blocked cookies): then the pick lasts this page.
function mine(token, value) {
  try {
    if (value) localStorage.setItem("vsw:" + token, JSON.stringify(value));
    else return JSON.parse(localStorage.getItem("vsw:" + token)) || {};
  } catch (e) {
    return {};
  }
}

// Words for a live region, emptied first so that the same words are read out again.
function say(el, text) {
  el.textContent = "";
  setTimeout(() => (el.textContent = text), 99);
}

// POST to the server with the payload's ticket; an expired ticket (401) is renewed from a
// fresh payload once, and the request sent once more.
function send(w, path, fields) {
  const go = () => postJSON(origin + path, Object.assign({ ticket: w.ticket }, fields));
  return go().then(res =>
    res.status != 401
      ? res
      : ask(origin + "/v1/payload/" + encodeURIComponent(w.token), { cache: "no-cache" }).then(fresh => {
          if (!(fresh.data && fresh.data.ticket)) return res;
          w.ticket = fresh.data.ticket;
          return go();
        })
  );
}

// root: the <section class="vsw">; spot: the element whose visibility counts as a view.
function wire(root, p, spot) {
  const L = p.labels || {};
  const token = p.token;
  const saved = mine(token);
  const w = { token: token, ticket: p.ticket, receipt: saved.receipt }; // busy, pick
  const $ = (sel, el) => (el || root).querySelector(sel);
  const cards = [...root.querySelectorAll(".card")];
  const names = {};
  (p.items || []).forEach(it => (names[it.key] = it.name));
  const note = $(".note");

  const each = f => cards.forEach(c => f(c, c.getAttribute("data-key"), $(".vote", c)));

  function pick(key) {
    w.pick = key;
    each((c, k, b) => {
      c.classList.toggle("chosen", k == key);
      b.setAttribute("aria-pressed", k == key);
      b.textContent = k == key ? L.your_pick : fill(L.vote, { name: names[k] });
    });
  }

  // aria-disabled, not disabled: the clicked button keeps the focus while the vote is sent.
  const busy = on => each((c, k, b) => b.setAttribute("aria-disabled", (w.busy = on)));

  function vote(key) {
    if (w.busy || key == w.pick) return;
    busy(true);
    send(w, "/v1/votes", { item: key, receipt: w.receipt }).then(
      safe(res => {
        const d = res.data;
        busy(false);
        if (!d) {
          say(note, L.vote_failed);
          return warn("a vote for " + shortToken(token) + " was not saved (" + res.error + ")" + (res.status == 429 ? ": too many votes from this network, try later." : "."));
        }
        const counts = d.items || {};
        each((c, k) => percent($(".community .pct", c), (counts[k] || {}).community));
        $(".count").textContent = voteCount(L, d.votes);
        w.receipt = d.receipt;
        mine(token, { item: d.choice, receipt: d.receipt, at: Date.now() });
        pick(d.choice);
        say(note, fill(L.voted, { name: names[d.choice] }));
        track({ type: "vote", token: token, item: d.choice });
      })
    );
  }

  each((c, key, b) => {
    b.addEventListener("click", safe(() => vote(key)));
    const a = $(".visit", c);
    // A real link to the item (no redirect); the click is only counted. Middle clicks too.
    const count = safe(e => a.href && (e.type == "click" || e.button == 1) && track({ type: "click", token: token, item: key }));
    a.addEventListener("click", count);
    a.addEventListener("auxclick", count);
  });
  if (names[saved.item]) pick(saved.item);

  const form = $(".signup form");
  if (form) {
    const msg = $(".signup .msg");
    const email = $("#vsw-email");
    const consent = $("#vsw-consent");
    const btn = $("[type=submit]", form);

    // Show the message under each failing field (bad: {email, consent}), which the field's
    // aria-describedby names, and focus the first.
    const flag = bad => {
      let first;
      [[email, bad.email && L.invalid_email], [consent, bad.consent && L.need_consent]].forEach(([f, text]) => {
        $("#" + f.id + "-e").textContent = text || "";
        f.setAttribute("aria-invalid", !!text);
        first = first || (text && f);
      });
      if (first) first.focus();
      return first;
    };

    // The button's click, not the form's submit: a sandboxed frame without allow-forms
    // never fires submit, but still clicks the button, for Enter in the field too.
    btn.addEventListener(
      "click",
      safe(e => {
        e.preventDefault();
        const address = email.value.trim();
        if (w.sending || flag({ email: !/.@./.test(address), consent: !consent.checked })) return;
        btn.setAttribute("aria-disabled", (w.sending = true));
        msg.textContent = "";
        send(w, "/v1/signups", { email: address, consent: consent.checked, website: $(".hp", form).value }).then(
          safe(res => {
            btn.setAttribute("aria-disabled", (w.sending = false));
            if (res.data) {
              form.remove();
              say(msg, L.signup_done);
              msg.focus(); // the focused button is gone: the message takes the focus
              return track({ type: "signup", token: token });
            }
            const f = res.status == 422 && res.fields;
            if (f && flag(f)) return;
            say(msg, L.signup_failed);
            warn("a sign-up for " + shortToken(token) + " failed (" + res.error + ").");
          })
        );
      })
    );
  }

  track({ type: "impression", token: token });
  watch(spot || root, token);
}
