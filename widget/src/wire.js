// wire.js: what a rendered comparison does: votes, the newsletter form, counted clicks.
// The same for a tree render.js built in a shadow root and for the server's own pages
// (/embed/TOKEN, /c/PUBLISHER/SLUG), whose _comparison.html renders the same markup.

// The reader's pick per embed token, {item, receipt, at}, in localStorage["vsw:" + token];
// `at` (when they voted) makes their next payload request skip every cache (main.js).
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

// A vote or sign-up refused because the comparison's hosts leave this site out (a 403 naming
// "origin", whose message names the site) is told once a page, however many widgets and
// clicks; any other failure each time, as `line`.
let elsewhere;
const failed = (res, line) => (res.fields?.origin ? elsewhere || warn(res.error) || (elsewhere = 1) : warn(line));

// root: the <section class="vsw">; spot: the element whose visibility counts as a view.
function wire(root, p, spot) {
  const L = p.labels || {};
  const token = p.token;
  const saved = mine(token);
  const $ = (sel, el) => (el || root).querySelector(sel);
  const cards = [...root.querySelectorAll(".card")];
  const names = {};
  const note = $(".note");
  const form = $("form");
  let ticket = p.ticket;
  let receipt = saved.receipt;
  let busy, chosen, sending;
  (p.items || []).forEach(it => (names[it.key] = it.name));

  const each = f => cards.forEach(c => f(c, c.getAttribute("data-key"), $(".vote", c)));

  // POST with the payload's ticket; an expired ticket (401) is renewed from a fresh payload
  // once, and the request sent once more.
  const send = (path, fields) => {
    const go = () => ask(path, { method: "POST", body: JSON.stringify(Object.assign({ ticket }, fields)) });
    return go().then(res =>
      res.status != 401
        ? res
        : ask("/v1/payload/" + encodeURIComponent(token), { cache: "no-cache" }).then(fresh =>
            fresh.data && fresh.data.ticket ? ((ticket = fresh.data.ticket), go()) : res
          )
    );
  };

  const labels = {}; // each vote button's own words, back once another item is picked
  each((c, k, b) => (labels[k] = b.textContent));
  const pick = key => {
    chosen = key;
    each((c, k, b) => {
      c.classList.toggle("chosen", k == key);
      b.setAttribute("aria-pressed", k == key);
      b.textContent = k == key ? L.your_pick : labels[k];
    });
  };

  // aria-disabled, not disabled: the clicked button keeps the focus while the vote is sent.
  const wait = on => each((c, k, b) => b.setAttribute("aria-disabled", (busy = on)));

  each((c, key, b) => {
    const a = $(".visit", c);
    // A real link to the item (no redirect); the click is only counted. Middle clicks too.
    // The iframe form's links go through /go, which counts them itself (class "go").
    const count = safe(e => a.href && !a.classList.contains("go") && (e.type == "click" || e.button == 1) && track("click", token, key));
    a.addEventListener("click", count);
    a.addEventListener("auxclick", count);
    b.addEventListener(
      "click",
      safe(() => {
        if (busy || key == chosen) return;
        wait(true);
        send("/v1/votes", { item: key, receipt }).then(
          safe(res => {
            const d = res.data;
            wait(false);
            if (!d) {
              say(note, L.vote_failed);
              return failed(res, "vote for " + token + " not saved (" + res.error + (res.status == 429 ? "): too many votes from this network, try later" : ")"));
            }
            const shares = [];
            each((c, k) => {
              const it = d.items[k] || {};
              percent($(".community .pct", c), it.community);
              $(".n", c).textContent = voteCount(p, it.votes, 1);
              shares.push(names[k] + " " + it.community + "%");
            });
            $(".poll").textContent = poll(p, d.votes);
            receipt = d.receipt;
            mine(token, { item: d.choice, receipt, at: Date.now() });
            pick(d.choice);
            // Screen readers hear the new shares with the thanks.
            say(note, fill(L.voted, { name: names[d.choice] }) + " " + fill(L.now, { shares: shares.join(", ") }));
            track("vote", token, d.choice);
          })
        );
      })
    );
  });
  if (names[saved.item]) pick(saved.item);

  if (form) {
    const msg = $(".msg");
    const email = $("#vsw-email");
    const consent = $("#vsw-consent");
    const btn = $(".btn", form);

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
        if (sending || flag({ email: !/.@./.test(address), consent: !consent.checked })) return;
        btn.setAttribute("aria-disabled", (sending = true));
        msg.textContent = "";
        send("/v1/signups", { email: address, consent: true, website: $(".hp").value }).then(
          safe(res => {
            btn.setAttribute("aria-disabled", (sending = false));
            if (res.data) {
              form.remove();
              say(msg, L.signup_done);
              msg.focus(); // the focused button is gone: the message takes the focus
              return track("signup", token);
            }
            if (res.status == 422 && res.fields && flag(res.fields)) return;
            say(msg, L.signup_failed);
            failed(res, "sign-up for " + token + " failed (" + res.error + ")");
          })
        );
      })
    );
  }

  track("impression", token);
  watch(spot || root, token);
}
