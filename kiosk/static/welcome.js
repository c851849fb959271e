/* The welcome screen in another language than the default goes back to the default after
   inactivity (with the usual warning), so the next citizen finds the screen as expected. */
"use strict";

(() => {
  const body = document.body;
  if (body.dataset.idle) {
    LOCKER.idleTimer(Number(body.dataset.idle), () => window.location.replace(body.dataset.reset));
  }
})();
