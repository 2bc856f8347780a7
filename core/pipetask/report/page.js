// Data-ID browser of the pipetask HTML report: filter the embedded sample, click a row
// to see its inputs, outputs and config hash. Everything is local: no network requests.
(function () {
  const rows = JSON.parse(document.getElementById("quanta").textContent);
  rows.forEach((r, i) => { r.index = i; });
  const body = document.querySelector("#ids tbody");
  const detail = document.getElementById("detail");
  const box = document.getElementById("filter");
  const esc = (s) => String(s).replace(/[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const list = (xs) => xs.length
    ? "<ul>" + xs.map((x) => "<li><code>" + esc(x[0]) + "</code> " + esc(x[1]) + "</li>").join("") + "</ul>"
    : " none";
  function show(r) {
    detail.innerHTML = "<h3>" + esc(r.label) + " " + esc(r.id) + "</h3><p>status: " + esc(r.status) +
      (r.error ? " &mdash; " + esc(r.error) : "") + "</p><p>config hash: <code>" +
      esc(r.hash || "unknown") + "</code></p><p>inputs:" + list(r.inputs) + "</p><p>outputs:" +
      list(r.outputs) + "</p>";
  }
  function render() {
    const q = box.value.toLowerCase();
    const shown = rows.filter((r) => !q || (r.label + " " + r.id + " " + r.status).toLowerCase().includes(q))
      .slice(0, 300);
    body.innerHTML = shown.map((r) => '<tr data-i="' + r.index + '"><td>' + esc(r.label) +
      "</td><td><code>" + esc(r.id) + '</code></td><td class="st-' + esc(r.status).replace(" ", "-") +
      '">' + esc(r.status) + '</td><td class="n">' +
      (r.wall == null ? "" : r.wall.toFixed(3)) + "</td></tr>").join("");
  }
  body.addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (tr) show(rows[Number(tr.dataset.i)]);
  });
  box.addEventListener("input", render);
  document.querySelectorAll("button.copy").forEach((b) => b.addEventListener("click", () => {
    const text = b.parentElement.querySelector("pre").textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
    b.textContent = "copied";
  }));
  render();
})();
