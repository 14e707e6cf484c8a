// SkyFinder: search -> results (filters, sort) -> passengers -> payment -> confirmation.
"use strict";

const BASE = "/api/flights";
const call = (method, path, body) => UI.api(BASE, method, path, body);
const { esc, money } = UI;
const app = () => document.getElementById("app");
let airports = null;
let config = null;

async function loadData() {
  if (!airports) airports = await call("GET", "/airports");
  if (!config) config = await call("GET", "/config");
}

const airportLabel = (a) => `${a.city} (${a.code})`;
const byCode = (code) => airports.find((a) => a.code === code);
const fmtDuration = (m) => `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
const stopsText = (f) => (f.stops === 0 ? "Nonstop" : `${f.stops} stop${f.stops > 1 ? "s" : ""} · ${f.via.join(", ")}`);

function fmtDate(iso) {
  const d = new Date(iso + "T12:00:00");
  return d.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric", year: "numeric" });
}

// ---- airport autocomplete ----------------------------------------------------------------
function matchAirports(q) {
  q = q.trim().toLowerCase();
  if (!q) return [];
  const score = (a) => {
    const code = a.code.toLowerCase();
    if (code === q || airportLabel(a).toLowerCase() === q) return 0;
    if (code.startsWith(q)) return 1;
    if (a.city.toLowerCase().startsWith(q)) return 2;
    if ((a.city + " " + a.name + " " + a.country).toLowerCase().includes(q)) return 3;
    return 9;
  };
  return airports.map((a) => [score(a), a]).filter(([s]) => s < 9)
    .sort((x, y) => x[0] - y[0] || x[1].city.localeCompare(y[1].city)).slice(0, 6).map(([, a]) => a);
}

function resolveAirport(input) {
  if (input.dataset.code) return input.dataset.code;
  const v = input.value.trim();
  const m = v.match(/\(([A-Za-z]{3})\)/);
  if (m && byCode(m[1].toUpperCase())) return m[1].toUpperCase();
  if (byCode(v.toUpperCase())) return v.toUpperCase();
  const hits = airports.filter((a) => a.city.toLowerCase() === v.toLowerCase());
  return hits.length === 1 ? hits[0].code : null;
}

function autocomplete(input, list) {
  let items = [];
  let active = 0;
  const close = () => list.classList.add("hidden");
  const choose = (a) => {
    input.value = airportLabel(a);
    input.dataset.code = a.code;
    close();
  };
  const draw = () => {
    list.innerHTML = items.map((a, i) => `
      <button type="button" role="option" class="option${i === active ? " active" : ""}" data-code="${a.code}">
        <strong>${esc(airportLabel(a))}</strong><span class="muted">${esc(a.name)}, ${esc(a.country)}</span>
      </button>`).join("");
    list.classList.toggle("hidden", items.length === 0);
  };
  input.addEventListener("input", () => {
    input.dataset.code = "";
    items = matchAirports(input.value);
    active = 0;
    draw();
  });
  input.addEventListener("keydown", (e) => {
    const open = !list.classList.contains("hidden") && items.length;
    if (e.key === "ArrowDown" && open) { active = (active + 1) % items.length; draw(); e.preventDefault(); }
    else if (e.key === "ArrowUp" && open) { active = (active + items.length - 1) % items.length; draw(); e.preventDefault(); }
    else if (e.key === "Enter" && open) { choose(items[active]); e.preventDefault(); }
  });
  list.addEventListener("mousedown", (e) => e.preventDefault());
  list.addEventListener("click", (e) => {
    const btn = e.target.closest("[data-code]");
    if (btn) choose(byCode(btn.dataset.code));
  });
  UI.onOutside((e) => { if (!e || !list.parentElement.contains(e.target)) close(); });
}

// ---- calendar ----------------------------------------------------------------------------
function calendar(input, button, box) {
  let month = null; // first day of the shown month, "YYYY-MM"
  const iso = (y, m, d) => `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  const valid = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !isNaN(new Date(v + "T12:00:00"));
  const draw = () => {
    const [y, m] = month.split("-").map(Number);
    const first = new Date(y, m - 1, 1);
    const days = new Date(y, m, 0).getDate();
    const lead = (first.getDay() + 6) % 7; // Monday first
    const title = first.toLocaleDateString("en-US", { month: "long", year: "numeric" });
    let cells = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"].map((d) => `<div class="dow">${d}</div>`).join("");
    cells += "<div></div>".repeat(lead);
    for (let d = 1; d <= days; d++) {
      const date = iso(y, m, d);
      const cls = date === input.value ? " selected" : "";
      cells += `<button type="button" class="cal-day${cls}" data-date="${date}" ${date < config.today ? "disabled" : ""}>${d}</button>`;
    }
    box.innerHTML = `
      <div class="cal-head">
        <button type="button" class="btn ghost small" id="cal-prev">‹ Prev</button>
        <strong id="cal-title">${title}</strong>
        <button type="button" class="btn ghost small" id="cal-next">Next ›</button>
      </div>
      <div class="cal-grid">${cells}</div>`;
  };
  const open = () => {
    month = (valid(input.value) ? input.value : config.today).slice(0, 7);
    draw();
    box.classList.remove("hidden");
  };
  const close = () => box.classList.add("hidden");
  const shift = (n) => {
    const [y, m] = month.split("-").map(Number);
    const d = new Date(y, m - 1 + n, 1);
    month = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
    draw();
  };
  button.addEventListener("click", () => (box.classList.contains("hidden") ? open() : close()));
  input.addEventListener("focus", open);
  input.addEventListener("input", () => {
    if (valid(input.value)) { month = input.value.slice(0, 7); draw(); }
  });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") close(); });
  box.addEventListener("mousedown", (e) => e.preventDefault());
  box.addEventListener("click", (e) => {
    if (e.target.id === "cal-prev") shift(-1);
    else if (e.target.id === "cal-next") shift(1);
    else if (e.target.dataset.date && !e.target.disabled) {
      input.value = e.target.dataset.date;
      close();
    }
  });
  UI.onOutside((e) => { if (!e || !box.parentElement.contains(e.target)) close(); });
}

// ---- views ---------------------------------------------------------------------------------
async function searchView() {
  await loadData();
  const last = JSON.parse(sessionStorage.getItem("flights.last") || "{}");
  app().innerHTML = `
    <section class="hero"><div class="container">
      <h1>Find your next flight</h1>
      <p>Compare fares from six airlines and book in minutes.</p>
    </div></section>
    <div class="container">
      <form id="search-form" class="card search-card" autocomplete="off" novalidate>
        <div class="row">
          <div class="ac-wrap grow">
            <label class="field" for="from">From</label>
            <input id="from" type="text" placeholder="City or airport" style="margin-top:6px">
            <div id="from-list" class="menu hidden" role="listbox" aria-label="Departure airports"></div>
          </div>
          <button type="button" id="swap-btn" class="btn secondary swap">⇄ Swap</button>
          <div class="ac-wrap grow">
            <label class="field" for="to">To</label>
            <input id="to" type="text" placeholder="City or airport" style="margin-top:6px">
            <div id="to-list" class="menu hidden" role="listbox" aria-label="Arrival airports"></div>
          </div>
        </div>
        <div class="row">
          <div class="date-wrap">
            <label class="field" for="date">Departure date</label>
            <div class="row" style="margin-top:6px;gap:8px;flex-wrap:nowrap">
              <input id="date" type="text" placeholder="YYYY-MM-DD" style="width:170px">
              <button type="button" id="date-btn" class="btn secondary">Calendar</button>
            </div>
            <div id="calendar" class="calendar hidden" aria-label="Choose a date"></div>
          </div>
          <div>
            <span class="field">Passengers</span>
            <div class="stepper" style="margin-top:6px">
              <button type="button" id="pax-minus" class="btn secondary">−</button>
              <span class="value" id="pax-value">1</span>
              <button type="button" id="pax-plus" class="btn secondary">+</button>
              <span class="muted" id="pax-label">passenger</span>
            </div>
          </div>
          <div class="grow"></div>
          <button type="submit" id="search-btn" class="btn">Search flights</button>
        </div>
        <p id="search-error" class="error hidden" role="alert"></p>
      </form>
      <section class="features">
        <div class="card"><h3>Best price guarantee</h3><p class="muted">Find a lower fare within 24 hours and we refund the difference.</p></div>
        <div class="card"><h3>Free cancellation</h3><p class="muted">Cancel within 24 hours of booking at no cost.</p></div>
        <div class="card"><h3>Instant e-tickets</h3><p class="muted">Your booking reference arrives the moment you pay.</p></div>
      </section>
    </div>`;
  const from = document.getElementById("from");
  const to = document.getElementById("to");
  const date = document.getElementById("date");
  let pax = Number(last.pax || 1);
  autocomplete(from, document.getElementById("from-list"));
  autocomplete(to, document.getElementById("to-list"));
  calendar(date, document.getElementById("date-btn"), document.getElementById("calendar"));
  for (const [input, code] of [[from, last.from], [to, last.to]]) {
    if (code && byCode(code)) { input.value = airportLabel(byCode(code)); input.dataset.code = code; }
  }
  if (last.date) date.value = last.date;
  const drawPax = () => {
    document.getElementById("pax-value").textContent = pax;
    document.getElementById("pax-label").textContent = pax === 1 ? "passenger" : "passengers";
  };
  drawPax();
  document.getElementById("pax-minus").onclick = () => { pax = Math.max(1, pax - 1); drawPax(); };
  document.getElementById("pax-plus").onclick = () => { pax = Math.min(6, pax + 1); drawPax(); };
  document.getElementById("swap-btn").onclick = () => {
    [from.value, to.value] = [to.value, from.value];
    [from.dataset.code, to.dataset.code] = [to.dataset.code || "", from.dataset.code || ""];
  };
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const err = document.getElementById("search-error");
    const f = resolveAirport(from);
    const t = resolveAirport(to);
    const d = date.value.trim();
    let msg = "";
    if (!f) msg = "Choose a departure airport from the list.";
    else if (!t) msg = "Choose an arrival airport from the list.";
    else if (f === t) msg = "Departure and arrival airports must differ.";
    else if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) msg = "Enter the departure date as YYYY-MM-DD.";
    else if (d < config.today) msg = "The departure date is in the past.";
    err.textContent = msg;
    err.classList.toggle("hidden", !msg);
    if (msg) return;
    sessionStorage.setItem("flights.last", JSON.stringify({ from: f, to: t, date: d, pax }));
    UI.go(`#/results?from=${f}&to=${t}&date=${d}&pax=${pax}`);
  });
}

async function resultsView({ params }) {
  await loadData();
  const { from, to, date } = params;
  const pax = Number(params.pax || 1);
  const { flights } = await call("GET", `/search?from=${from}&to=${to}&date=${date}`);
  const airlines = [...new Set(flights.map((f) => f.airline))].sort();
  const minPrice = (fs) => (fs.length ? "from " + money(Math.min(...fs.map((f) => f.price))) : "none");
  const state = { stops: "any", sort: "depart", airlines: new Set(airlines) };
  app().innerHTML = `
    <div class="container">
      <div class="summary card">
        <div class="grow">
          <h2 id="route-title">${esc(airportLabel(byCode(from)))} → ${esc(airportLabel(byCode(to)))}</h2>
          <span class="muted">${fmtDate(date)} · ${pax} passenger${pax > 1 ? "s" : ""}</span>
        </div>
        <a class="btn secondary" id="modify-btn" href="#/">Modify search</a>
      </div>
      <div class="layout">
        <aside class="card filters" aria-label="Filters">
          <h3>Stops</h3>
          ${[["any", "Any number of stops", flights], ["0", "Nonstop only", flights.filter((f) => f.stops === 0)],
             ["1", "1 stop or fewer", flights.filter((f) => f.stops <= 1)]].map(([v, text, fs]) => `
            <label class="check" for="stops-${v}"><input type="radio" name="stops" id="stops-${v}" value="${v}" ${v === "any" ? "checked" : ""}>
              ${text}<span class="price">${minPrice(fs)}</span></label>`).join("")}
          <h3>Airlines</h3>
          ${airlines.map((a) => `
            <label class="check" for="airline-${a.replace(/\W/g, "")}"><input type="checkbox" id="airline-${a.replace(/\W/g, "")}" value="${esc(a)}" checked>
              ${esc(a)}<span class="price">${minPrice(flights.filter((f) => f.airline === a))}</span></label>`).join("")}
          <button type="button" id="reset-filters" class="btn ghost small" style="margin-top:8px">Reset filters</button>
        </aside>
        <section>
          <div class="toolbar">
            <span class="count" id="result-count"></span>
            <span class="muted">Sort by</span>
            <div class="seg" role="group" aria-label="Sort">
              <button type="button" id="sort-depart" data-sort="depart">Earliest departure</button>
              <button type="button" id="sort-price" data-sort="price">Cheapest</button>
              <button type="button" id="sort-duration" data-sort="duration">Fastest</button>
            </div>
          </div>
          <div id="results"></div>
        </section>
      </div>
    </div>`;
  const draw = () => {
    let list = flights.filter((f) => state.airlines.has(f.airline) &&
      (state.stops === "any" || f.stops <= Number(state.stops)));
    const key = { depart: (f) => f.depart, price: (f) => f.price, duration: (f) => f.duration_min }[state.sort];
    list = [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    document.querySelectorAll(".seg button").forEach((b) => b.classList.toggle("active", b.dataset.sort === state.sort));
    document.getElementById("result-count").textContent = `${list.length} flight${list.length === 1 ? "" : "s"}`;
    document.getElementById("results").innerHTML = list.length ? list.map((f) => `
      <article class="card flight-card" data-id="${f.id}">
        <div><strong>${esc(f.airline)}</strong><div class="muted small">${esc(f.number)}</div></div>
        <div><div class="times">${f.depart} → ${f.arrive}${f.arrive_day_offset ? "<sup>+1</sup>" : ""}</div>
          <div class="muted small">${f.from} → ${f.to}</div></div>
        <div><div>${fmtDuration(f.duration_min)}</div><div class="small stops-${f.stops}">${esc(stopsText(f))}</div></div>
        <div style="text-align:right"><div class="price">${money(f.price)}</div>
          <div class="muted small">per passenger</div>
          <button type="button" class="btn small select-btn" data-id="${f.id}" style="margin-top:6px">Select</button></div>
      </article>`).join("") : `<div class="card"><p>No flights match your filters.</p></div>`;
  };
  document.querySelectorAll("input[name=stops]").forEach((r) => r.addEventListener("change", () => { state.stops = r.value; draw(); }));
  document.querySelectorAll(".filters input[type=checkbox]").forEach((c) => c.addEventListener("change", () => {
    if (c.checked) state.airlines.add(c.value); else state.airlines.delete(c.value);
    draw();
  }));
  document.querySelectorAll(".seg button").forEach((b) => b.addEventListener("click", () => { state.sort = b.dataset.sort; draw(); }));
  document.getElementById("reset-filters").onclick = () => {
    state.stops = "any";
    state.airlines = new Set(airlines);
    document.getElementById("stops-any").checked = true;
    document.querySelectorAll(".filters input[type=checkbox]").forEach((c) => (c.checked = true));
    draw();
  };
  document.getElementById("results").addEventListener("click", (e) => {
    const btn = e.target.closest(".select-btn");
    if (btn) UI.go(`#/passengers?flight=${btn.dataset.id}&pax=${pax}`);
  });
  draw();
}

function flightSummary(f) {
  return `<div class="card" style="margin-bottom:16px">
    <strong>${esc(f.airline)} ${esc(f.number)}</strong> · ${fmtDate(f.date)} ·
    ${f.from} ${f.depart} → ${f.to} ${f.arrive}${f.arrive_day_offset ? " (+1)" : ""} ·
    ${fmtDuration(f.duration_min)} · ${esc(stopsText(f))} · <strong>${money(f.price)}</strong> per passenger</div>`;
}

async function passengersView({ params }) {
  const f = await call("GET", `/flights/${params.flight}`);
  const pax = Math.min(6, Math.max(1, Number(params.pax || 1)));
  const draft = JSON.parse(sessionStorage.getItem("flights.draft") || "{}");
  const prev = draft.flight === f.id ? draft.passengers || [] : [];
  app().innerHTML = `
    <div class="container narrow">
      <h1>Passenger details</h1>
      ${flightSummary(f)}
      <form id="pax-form" class="card" novalidate>
        ${Array.from({ length: pax }, (_, i) => `
          <fieldset class="pax-block"><legend>Passenger ${i + 1}</legend>
            <div class="row">
              <label class="field grow">Full name<input id="p${i}-name" type="text" placeholder="e.g. Jane Smith" value="${esc(prev[i]?.name || "")}"></label>
              <label class="field grow">Email<input id="p${i}-email" type="email" placeholder="name@example.com" value="${esc(prev[i]?.email || "")}"></label>
            </div>
          </fieldset>`).join("")}
        <p id="pax-error" class="error hidden" role="alert"></p>
        <button type="submit" id="continue-btn" class="btn">Continue to payment</button>
      </form>
    </div>`;
  document.getElementById("pax-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const people = Array.from({ length: pax }, (_, i) => ({
      name: document.getElementById(`p${i}-name`).value.trim(),
      email: document.getElementById(`p${i}-email`).value.trim(),
    }));
    const bad = people.findIndex((p) => p.name.length < 2 || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(p.email));
    const err = document.getElementById("pax-error");
    if (bad >= 0) {
      err.textContent = `Passenger ${bad + 1}: enter a full name and a valid email.`;
      err.classList.remove("hidden");
      return;
    }
    sessionStorage.setItem("flights.draft", JSON.stringify({ flight: f.id, passengers: people }));
    UI.go(`#/payment?flight=${f.id}`);
  });
}

async function paymentView({ params }) {
  const draft = JSON.parse(sessionStorage.getItem("flights.draft") || "{}");
  if (draft.flight !== params.flight || !draft.passengers) {
    UI.go(`#/passengers?flight=${params.flight}&pax=1`);
    return;
  }
  const f = await call("GET", `/flights/${params.flight}`);
  const total = f.price * draft.passengers.length;
  app().innerHTML = `
    <div class="container narrow">
      <h1>Payment</h1>
      ${flightSummary(f)}
      <div class="card" style="margin-bottom:16px">
        <h3>Travellers</h3>
        <p style="margin:0">${draft.passengers.map((p) => `${esc(p.name)} (${esc(p.email)})`).join("<br>")}</p>
        <p style="margin:8px 0 0"><strong>Total: ${money(total)}</strong>
          <span class="muted">(${draft.passengers.length} × ${money(f.price)})</span></p>
      </div>
      <form id="pay-form" class="card" novalidate autocomplete="off">
        <h3>Card details</h3>
        <label class="field">Card number<input id="card-number" type="text" inputmode="numeric" placeholder="1234 5678 9012 3456"></label>
        <div class="row" style="margin-top:12px">
          <label class="field grow">Expiry date (MM/YY)<input id="card-expiry" type="text" placeholder="MM/YY"></label>
          <label class="field grow">CVC<input id="card-cvc" type="text" inputmode="numeric" placeholder="123"></label>
        </div>
        <p id="pay-error" class="error hidden" role="alert"></p>
        <div class="row" style="margin-top:16px">
          <a class="btn secondary" href="#/passengers?flight=${f.id}&pax=${draft.passengers.length}">Back</a>
          <div class="grow"></div>
          <button type="submit" id="pay-btn" class="btn">Pay now ${money(total)}</button>
        </div>
      </form>
    </div>`;
  const number = document.getElementById("card-number");
  number.addEventListener("blur", () => {
    const d = number.value.replace(/\D/g, "");
    if (d) number.value = d.replace(/(.{4})(?=.)/g, "$1 ");
  });
  let busy = false;
  document.getElementById("pay-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    const err = document.getElementById("pay-error");
    try {
      const b = await call("POST", "/bookings", {
        flight_id: f.id,
        passengers: draft.passengers,
        card: {
          number: number.value,
          expiry: document.getElementById("card-expiry").value,
          cvc: document.getElementById("card-cvc").value,
        },
      });
      sessionStorage.removeItem("flights.draft");
      UI.go(`#/confirmation/${b.reference}`);
    } catch (ex) {
      err.textContent = ex.message;
      err.classList.remove("hidden");
    } finally {
      busy = false;
    }
  });
}

async function confirmationView({ args }) {
  const b = await call("GET", `/bookings/${args[0]}`);
  const f = b.flight;
  app().innerHTML = `
    <div class="container narrow">
      <div class="card">
        <h1 class="ok-title">Booking confirmed</h1>
        <p>Booking reference</p>
        <div class="confirm-ref" id="booking-ref">${esc(b.reference)}</div>
        <p>${esc(f.airline)} ${esc(f.number)} · ${fmtDate(f.date)} · ${f.from} ${f.depart} → ${f.to} ${f.arrive}</p>
        <p>${b.passengers.map((p) => esc(p.name)).join(", ")}</p>
        <p>Paid <strong>${money(b.total)}</strong> with ${esc(b.card_brand)} ending in ${esc(b.card_last4)}.</p>
        <a class="btn" href="#/" id="new-search">Book another flight</a>
      </div>
    </div>`;
}

function helpView() {
  app().innerHTML = `
    <div class="container narrow"><div class="card">
      <h1>Help</h1>
      <p>Search by city or airport code, pick a date, then filter and sort the results.
      Select a flight, enter passenger details and pay by card to receive a booking reference.</p>
      <a class="btn" href="#/">Search flights</a>
    </div></div>`;
}

UI.router(
  { "": searchView, results: resultsView, passengers: passengersView, payment: paymentView,
    confirmation: confirmationView, help: helpView },
  searchView,
);
