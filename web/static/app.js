/* Autocomplete for search boxes, as progressive enhancement: without JavaScript the forms work
   the same, with it the browser's own suggestion list (a <datalist>) is filled from
   /api/suggest. Text is set with .value only, never parsed as HTML. */
(function () {
  "use strict";
  var DELAY_MS = 150;

  function enhance(input) {
    var endpoint = input.getAttribute("data-suggest");
    if (!endpoint || !window.fetch) { return; }
    var list = document.createElement("datalist");
    list.id = input.id + "-goi-y";
    input.parentNode.appendChild(list);
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var timer = null;
    var asked = "";

    function show(suggestions) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      suggestions.forEach(function (text) {
        var option = document.createElement("option");
        option.value = String(text);
        list.appendChild(option);
      });
    }

    function ask() {
      var text = input.value.trim();
      if (text.length < 2 || text === asked) { return; }
      asked = text;
      fetch(endpoint + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (body) {
          if (input.value.trim() === text && Array.isArray(body.suggestions)) { show(body.suggestions); }
        })
        .catch(function () { /* suggestions are optional */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
  }

  document.querySelectorAll("input[data-suggest]").forEach(enhance);
})();
