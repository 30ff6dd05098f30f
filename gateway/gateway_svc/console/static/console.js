// The console's one script (progressive enhancement: every page works without it). Served from this site
// only; the CSP forbids inline script. It opens and closes the side navigation on narrow screens.
(function () {
  "use strict";
  var toggle = document.getElementById("nav-toggle");
  var nav = document.getElementById("sidenav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
