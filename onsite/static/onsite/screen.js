/* The venue's screen: fetch the session's current code just after each one changes (and every
 * few seconds anyway), swap the QR code, and hide a code once it is no longer accepted (the
 * connection was lost, or the official was signed out): a stale code on the wall only makes
 * citizens' scans fail. The server says when to ask again, in milliseconds from its answer, so
 * the screen's own clock does not matter. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("screen-config").textContent);
  const strings = config.strings;
  const root = document.querySelector(".screen");
  const qr = document.querySelector('[data-field="qr"]');
  const placeholder = document.querySelector('[data-field="placeholder"]');
  const timerTrack = document.querySelector('[data-field="timer-track"]');
  const timer = document.querySelector('[data-field="timer"]');
  const message = document.querySelector('[data-field="message"]');
  const RETRY_MS = 2000;
  let hideHandle = null;

  function hideCode() {
    clearTimeout(hideHandle);
    qr.hidden = true;
    qr.replaceChildren();
    qr.dataset.step = "";
    placeholder.hidden = false;
    timerTrack.hidden = true;
  }

  function runTimer(remainingMs, fullMs) {
    // The bar empties over what is left of the code's step.
    timer.style.transition = "none";
    timer.style.transform = `scaleX(${Math.max(0, Math.min(1, remainingMs / fullMs))})`;
    timer.getBoundingClientRect();
    timer.style.transition = `transform ${remainingMs}ms linear`;
    timer.style.transform = "scaleX(0)";
  }

  function say(text, problem) {
    message.textContent = text;
    message.classList.toggle("message--problem", Boolean(problem));
  }

  function show(code) {
    root.dataset.state = code.state;
    say(code.message, false);
    if (!code.svg) {
      hideCode();
      return;
    }
    if (qr.dataset.step !== String(code.step)) {
      // The SVG is drawn by the server (segno) from the session's own link.
      qr.innerHTML = code.svg;
      qr.dataset.step = String(code.step);
    }
    qr.hidden = false;
    placeholder.hidden = true;
    timerTrack.hidden = false;
    runTimer(code.changes_in_ms, code.step_seconds * 1000);
    clearTimeout(hideHandle);
    hideHandle = setTimeout(hideCode, code.valid_for_ms);
  }

  function signedOut() {
    hideCode();
    say(strings.signed_out, true);
    const link = document.createElement("a");
    link.href = config.login_url;
    link.textContent = strings.sign_in;
    message.append(" ", link);
  }

  async function refresh() {
    let wait = RETRY_MS;
    try {
      const response = await fetch(config.code_url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (response.redirected || response.status === 403 || !type.includes("application/json")) {
        // The session ended: the login page answered instead. Nothing to show until a new one.
        signedOut();
        return;
      }
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      const code = await response.json();
      show(code);
      wait = code.refresh_in_ms + 150;
    } catch (error) {
      // The code on screen stays until it expires (hideHandle); keep trying meanwhile.
      say(strings.offline, true);
    }
    setTimeout(refresh, Math.max(250, wait));
  }

  show(config.code);
  setTimeout(refresh, Math.max(250, config.code.refresh_in_ms + 150));
})();
