// Live control room: when the centre says a box changed, fetch this page again and swap <main>.
(function () {
  const main = document.getElementById('main');
  const url = main && main.dataset.live;
  if (!url || !window.EventSource) return;
  const box = main.dataset.box;
  let pending = false;
  function redraw() {
    pending = false;
    fetch(location.href, {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        const next = new DOMParser().parseFromString(html, 'text/html').getElementById('main');
        if (next) main.innerHTML = next.innerHTML;
      });
  }
  const events = new EventSource(url);
  events.addEventListener('changed', function (event) {
    const boxes = JSON.parse(event.data);
    if (box && boxes.indexOf(box) < 0) return;
    if (!pending) { pending = true; setTimeout(redraw, 500); }
  });
})();
