// The catalog's filter form: empty choices ("Any") are left out of the request, so the URL
// that htmx pushes names only the filters in use (shareable, and the back button restores it).
document.addEventListener("htmx:configRequest", function (event) {
  var params = event.detail.parameters;
  var names = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
  names.forEach(function (name) {
    var value = typeof params.getAll === "function" ? params.getAll(name) : [params[name]];
    if (value.every(function (v) { return v === "" || v === null || v === undefined; })) {
      if (typeof params.delete === "function") { params.delete(name); } else { delete params[name]; }
    }
  });
});
