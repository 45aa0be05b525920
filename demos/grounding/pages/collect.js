// Reports where every target of the page is, for scripts/golden/make_grounding_set.sh:
// elements marked data-i (the instruction; data-t="icon" for icons, text
// otherwise), their rectangles in screen pixels (the page's offset inside the
// window and the window's on the screen added), as one console line:
//   DESKPILOT_BOXES <base64 of {"page", "screen": [w, h], "targets": [{instruction, type, box: [x, y, w, h]}]}>
(function () {
  function report() {
    var dx = window.screenX + (window.outerWidth - window.innerWidth) / 2;
    var dy = window.screenY + (window.outerHeight - window.innerHeight);
    var seen = {}, targets = [];
    document.querySelectorAll('[data-i]').forEach(function (e) {
      var r = e.getBoundingClientRect();
      var i = e.getAttribute('data-i');
      if (r.width < 2 || r.height < 2 || r.bottom < 0 || r.right < 0 || r.top >= window.innerHeight || r.left >= window.innerWidth) return;
      if (seen[i]) return;  // one target per instruction
      seen[i] = true;
      var x1 = Math.max(0, r.left), y1 = Math.max(0, r.top);
      var x2 = Math.min(window.innerWidth, r.right), y2 = Math.min(window.innerHeight, r.bottom);
      targets.push({instruction: i, type: e.getAttribute('data-t') || 'text',
                    box: [Math.round(x1 + dx), Math.round(y1 + dy), Math.round(x2 - x1), Math.round(y2 - y1)]});
    });
    var out = {page: location.pathname.split('/').pop(), screen: [screen.width, screen.height], targets: targets};
    console.log('DESKPILOT_BOXES ' + btoa(unescape(encodeURIComponent(JSON.stringify(out)))));
  }
  window.addEventListener('load', function () { setTimeout(function () { requestAnimationFrame(report); }, 500); });
})();
