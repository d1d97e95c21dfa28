// quit.js: every [data-quit] button stops the server (POST /api/quit). The
// first press arms it for four seconds ("Press again to quit"), so a stray
// click does not stop anything; the second sends the request and, once the
// server has said it is stopping, the page says it has stopped.
const armFor = 4000;

for (const button of document.querySelectorAll("[data-quit]")) {
  const label = button.textContent;
  let timer = 0;
  button.addEventListener("click", async () => {
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = "Press again to quit";
      timer = setTimeout(() => { delete button.dataset.armed; button.textContent = label; }, armFor);
      return;
    }
    clearTimeout(timer);
    button.disabled = true;
    button.textContent = "Stopping…";
    try {
      const res = await fetch("/api/quit", { method: "POST", headers: { Accept: "application/json" } });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || res.statusText);
      stopped();
    } catch (err) {
      button.disabled = false;
      delete button.dataset.armed;
      button.textContent = label;
      alert("Metastation could not be stopped: " + err.message);
    }
  });
}

function stopped() {
  const main = document.querySelector("main");
  const box = document.createElement("section");
  box.className = "stopped";
  box.id = "stopped";
  const h = document.createElement("h1");
  h.textContent = "Metastation has stopped.";
  const p = document.createElement("p");
  p.textContent = "Everything it was writing was saved. You can close this tab; start Metastation again the way you started it, and your data will be there.";
  box.append(h, p);
  main.replaceChildren(box);
}
