/* The welcome screen: it says itself when speech is on. In another language than the
   default, or with assistance chosen, it goes back to the plain default screen after
   inactivity (with the usual warning), so the next citizen finds the screen as expected. */
"use strict";

(() => {
  const body = document.body;
  const { speech, idleTimer } = LOCKER;
  let timer = null;

  function watch() {
    if (!timer && (body.dataset.defaultLang !== "yes" || speech.active)) {
      timer = idleTimer(Number(body.dataset.idle), () => window.location.replace(body.dataset.reset));
    }
  }
  document.addEventListener("assist-changed", watch);
  watch();
  speech.screen("welcome");
})();
