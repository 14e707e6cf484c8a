// Shared helpers of the bundled sites: JSON API calls, HTML escaping, a hash router, toasts.
"use strict";

const UI = (() => {
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);

  async function api(base, method, path, body, headers = {}) {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(base + path, init);
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
    return data;
  }

  // "#/results?from=BOS" -> {name: "results", args: [], params: {from: "BOS"}}
  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, query = ""] = raw.split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return {
      name: parts[0] || "",
      args: parts.slice(1),
      params: Object.fromEntries(new URLSearchParams(query)),
    };
  }

  // Close open menus on outside clicks / Escape; views register closers, cleared per render.
  const closers = new Set();
  document.addEventListener("mousedown", (e) => {
    for (const c of closers) c(e);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") for (const c of closers) c(null);
  });
  const onOutside = (fn) => closers.add(fn);

  function router(routes, fallback) {
    const render = async () => {
      const r = parseHash();
      closers.clear();
      const view = routes[r.name] || fallback;
      window.scrollTo(0, 0);
      try {
        await view(r);
      } catch (err) {
        document.getElementById("app").innerHTML =
          `<div class="container"><div class="card"><p class="error">${esc(err.message)}</p></div></div>`;
      }
      document.body.dataset.route = r.name || "home";
    };
    window.addEventListener("hashchange", render);
    render();
  }

  function go(hash) {
    if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = hash;
  }

  let toastTimer = null;
  function toast(text) {
    let el = document.getElementById("toast");
    if (!el) {
      el = document.createElement("div");
      el.id = "toast";
      el.className = "toast";
      el.setAttribute("role", "status");
      document.body.appendChild(el);
    }
    el.textContent = text;
    el.classList.remove("hidden");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.add("hidden"), 2500);
  }

  const money = (n) => "$" + Number(n).toFixed(Number.isInteger(n) ? 0 : 2);

  return { esc, api, router, go, parseHash, toast, money, onOutside };
})();
