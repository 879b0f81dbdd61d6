// The student page: refreshes from <prefix>api/page every few seconds without reloading.
// Every value is written with textContent (never innerHTML): messages and names are plain text.
(function () {
  "use strict";
  const view = document.getElementById("view");
  const api = view.dataset.api + "?assignment=" + encodeURIComponent(view.dataset.assignment);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }

  function render(data) {
    const summary = document.getElementById("summary");
    let text = data.assignment + ": " + data.attempts_left + " of " + data.attempts_per_window +
      " graded attempts left in any " + data.window_hours + " h";
    if (data.next_allowed_at) text += "; next attempt allowed at " + when(data.next_allowed_at);
    if (data.deadline) text += ". Deadline: " + when(data.deadline);
    summary.textContent = text;
    const box = document.getElementById("attempts");
    box.replaceChildren();
    if (!data.attempts.length) box.appendChild(el("p", "No submission yet."));
    data.attempts.forEach(function (a, index) {
      const card = el("div", null, "card attempt");
      card.dataset.id = a.id;
      card.dataset.status = a.status;
      let head = "Attempt " + a.id + " · submitted " + when(a.submitted_at) + " · ";
      const status = el("span", a.status, "status " + a.status);
      const h = el("h3", head);
      h.appendChild(status);
      if (a.status === "queued" && a.queue_position) h.appendChild(el("span", " · position " + a.queue_position + " in the queue", "position"));
      if (a.score !== null && a.score !== undefined) h.appendChild(el("span", " · score " + a.score.toFixed(2) + " / " + a.max_score, "score"));
      if (a.official) h.appendChild(el("span", " · counts for your grade", "official"));
      card.appendChild(h);
      if (a.status === "refused") {
        card.appendChild(el("p", (a.note || "refused") + (a.next_allowed_at ? "; next attempt allowed at " + when(a.next_allowed_at) : ""), "note"));
      }
      (a.errors || []).forEach(function (e) { card.appendChild(el("div", e, "error message")); });
      if (index === 0 || a.official) {
        const tasks = Object.keys(a.tasks);
        if (tasks.length) {
          const table = el("table", null, "tasks");
          const hr = el("tr"); ["task", "score", "messages"].forEach(function (t) { hr.appendChild(el("th", t)); });
          table.appendChild(hr);
          tasks.forEach(function (id) {
            const t = a.tasks[id];
            const tr = el("tr");
            tr.appendChild(el("td", id));
            tr.appendChild(el("td", t.score + " / " + t.max_score, t.score >= t.max_score ? "full" : "partial"));
            const td = el("td", null, "messages");
            t.messages.forEach(function (m) { td.appendChild(el("div", m, "message")); });
            tr.appendChild(td);
            table.appendChild(tr);
          });
          card.appendChild(table);
        }
      }
      box.appendChild(card);
    });
  }

  async function refresh() {
    try {
      const reply = await fetch(api, {
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-XSRFToken": view.dataset.xsrf },
      });
      if (reply.ok) render(await reply.json());
      else document.getElementById("summary").textContent = "Could not load attempts (" + reply.status + ").";
    } catch (err) {
      document.getElementById("summary").textContent = "Could not reach the grading service; retrying.";
    }
  }
  refresh();
  setInterval(refresh, 3000);
})();
