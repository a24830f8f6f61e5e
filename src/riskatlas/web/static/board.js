// Measures board and table (catalog/measure_pages.py): the forms work without JavaScript; with
// htmx they post in place. htmx 2 leaves an error answer unswapped, but a refused change (403,
// 409, 412, 422) answers with the view and the reason at its top: show it in place too.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 401 || status === 403 || status === 409 || status === 412 || status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// After an in-place change, keyboard focus goes back to the moved card (or the alert).
document.addEventListener("htmx:afterSwap", function (event) {
  var alert = document.querySelector("#measures-view .alert");
  var form = event.detail.requestConfig && event.detail.requestConfig.elt;
  var key = form && form.getAttribute("action") ? form.getAttribute("action").split("/")[2] : null;
  var target = alert || (key && (document.getElementById("card-" + key) ||
                                 document.getElementById("row-" + key)));
  if (target) {
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
});
