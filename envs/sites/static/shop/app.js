// Parcel & Pine: catalog (search, categories) -> product -> cart -> order.
"use strict";

const BASE = "/api/shop";
const call = (method, path, body) => UI.api(BASE, method, path, body);
const { esc, money } = UI;
const app = () => document.getElementById("app");
let categories = [];

const initials = (name) => name.replace(/[^A-Za-z0-9 ]/g, "").split(" ").filter(Boolean)
  .slice(0, 2).map((w) => w[0].toUpperCase()).join("");
const tile = (p, big = false) =>
  `<div class="tile${big ? " big" : ""}" style="background:linear-gradient(135deg,hsl(${p.hue},55%,48%),hsl(${(p.hue + 40) % 360},60%,38%))" aria-hidden="true">${esc(initials(p.name))}</div>`;
const stars = (p) => `<span class="stars">★ ${p.rating.toFixed(1)}</span> <span class="muted small">(${p.reviews} reviews)</span>`;

async function refreshCount(cart) {
  cart = cart || (await call("GET", "/cart"));
  document.getElementById("cart-count").textContent = cart.count;
}

async function ensureCategories() {
  if (!categories.length) categories = (await call("GET", "/products?category=none")).categories;
}

function drawCategories(active) {
  const links = [{ name: "All products", slug: "" }, ...categories];
  document.getElementById("categories").innerHTML = links.map((c) =>
    `<a href="#/${c.slug ? "?category=" + c.slug : ""}" class="${c.slug === active ? "active" : ""}" data-category="${c.slug || "all"}">${esc(c.name)}</a>`).join("");
}

async function addToCart(p, qty) {
  const cart = await call("POST", "/cart", { product_id: p.id, qty });
  await refreshCount(cart);
  UI.toast(`Added ${qty} × ${p.name} to your cart`);
}

async function catalogView({ params }) {
  const q = params.q || "";
  const cat = params.category || "";
  const qs = new URLSearchParams({ ...(q && { q }), ...(cat && { category: cat }) }).toString();
  const data = await call("GET", "/products" + (qs ? "?" + qs : ""));
  categories = data.categories;
  drawCategories(q ? null : cat);
  document.getElementById("search").value = q;
  const title = q ? `Results for “${esc(q)}”` : cat ? esc(categories.find((c) => c.slug === cat)?.name || cat) : "All products";
  const products = data.products;
  app().innerHTML = `
    <div class="container">
      <div class="head"><h1 id="catalog-title">${title}</h1>
        <span class="muted" id="product-count">${products.length} product${products.length === 1 ? "" : "s"}</span></div>
      ${products.length ? "" : `<div class="card"><p>No products match your search.</p><a class="btn" href="#/">Show all products</a></div>`}
      <div class="grid" id="grid">
        ${products.map((p) => `
          <article class="card product-card" data-product-id="${p.id}" data-name="${esc(p.name)}">
            <a href="#/product/${p.id}" tabindex="-1">${tile(p)}</a>
            <a class="product-link" href="#/product/${p.id}">${esc(p.name)}</a>
            <span class="muted small">${esc(p.category)}</span>
            <div>${stars(p)}</div>
            <div class="price">${money(p.price)}</div>
            <button type="button" class="btn add-btn" data-id="${p.id}">Add to cart</button>
          </article>`).join("")}
      </div>
    </div>`;
  document.getElementById("grid").addEventListener("click", async (e) => {
    const btn = e.target.closest(".add-btn");
    if (!btn) return;
    await addToCart(products.find((p) => p.id === Number(btn.dataset.id)), 1);
  });
}

async function productView({ args }) {
  const p = await call("GET", `/products/${args[0]}`);
  await ensureCategories();
  drawCategories(p.category_slug);
  let qty = 1;
  app().innerHTML = `
    <div class="container">
      <div class="crumbs"><a href="#/">All products</a> › <a href="#/?category=${p.category_slug}">${esc(p.category)}</a> › ${esc(p.name)}</div>
      <div class="detail">
        ${tile(p, true)}
        <div class="card">
          <h1 id="product-name">${esc(p.name)}</h1>
          <div>${stars(p)}</div>
          <div class="price" id="product-price">${money(p.price)}</div>
          <p>${esc(p.description)}</p>
          <div><span class="field">Quantity</span>
            <div class="stepper" style="margin-top:6px">
              <button type="button" id="qty-minus" class="btn secondary">−</button>
              <span class="value" id="qty-value">1</span>
              <button type="button" id="qty-plus" class="btn secondary">+</button>
            </div>
          </div>
          <div class="row">
            <button type="button" id="add-btn" class="btn">Add to cart</button>
            <a href="#/cart" class="btn secondary" id="view-cart">View cart</a>
          </div>
        </div>
      </div>
    </div>`;
  const draw = () => (document.getElementById("qty-value").textContent = qty);
  document.getElementById("qty-minus").onclick = () => { qty = Math.max(1, qty - 1); draw(); };
  document.getElementById("qty-plus").onclick = () => { qty = Math.min(99, qty + 1); draw(); };
  document.getElementById("add-btn").onclick = () => addToCart(p, qty);
}

async function cartView() {
  const cart = await call("GET", "/cart");
  await refreshCount(cart);
  await ensureCategories();
  drawCategories(null);
  if (!cart.items.length) {
    app().innerHTML = `<div class="container"><div class="card">
      <h1>Your cart</h1><p>Your cart is empty.</p><a class="btn" href="#/">Continue shopping</a></div></div>`;
    return;
  }
  app().innerHTML = `
    <div class="container">
      <h1>Your cart</h1>
      <div class="cart-layout">
        <div class="card">
          <table class="cart-table" id="cart-table">
            <thead><tr><th>Product</th><th>Price</th><th>Quantity</th><th>Total</th><th></th></tr></thead>
            <tbody>${cart.items.map(({ product: p, qty, line_total }) => `
              <tr data-product-id="${p.id}" data-name="${esc(p.name)}">
                <td><a href="#/product/${p.id}">${esc(p.name)}</a></td>
                <td>${money(p.price)}</td>
                <td><div class="stepper">
                  <button type="button" class="btn secondary small qty-minus" data-id="${p.id}" data-qty="${qty - 1}">−</button>
                  <span class="value">${qty}</span>
                  <button type="button" class="btn secondary small qty-plus" data-id="${p.id}" data-qty="${qty + 1}">+</button>
                </div></td>
                <td>${money(line_total)}</td>
                <td><button type="button" class="btn ghost small remove-btn" data-id="${p.id}" data-qty="0">Remove</button></td>
              </tr>`).join("")}
            </tbody>
          </table>
        </div>
        <aside class="card summary-card">
          <h2>Order summary</h2>
          <div class="row" style="justify-content:space-between"><span>${cart.count} item${cart.count === 1 ? "" : "s"}</span>
            <span class="total" id="subtotal">${money(cart.subtotal)}</span></div>
          <p class="muted small">Free shipping. Taxes included.</p>
          <p id="order-error" class="error hidden" role="alert"></p>
          <button type="button" id="place-order-btn" class="btn">Place order</button>
          <a href="#/" class="btn secondary">Continue shopping</a>
        </aside>
      </div>
    </div>`;
  document.getElementById("cart-table").addEventListener("click", async (e) => {
    const btn = e.target.closest("[data-qty]");
    if (!btn) return;
    await call("PUT", `/cart/${btn.dataset.id}`, { qty: Number(btn.dataset.qty) });
    cartView();
  });
  document.getElementById("place-order-btn").onclick = async () => {
    try {
      const order = await call("POST", "/orders", {});
      await refreshCount();
      UI.go(`#/order/${order.id}`);
    } catch (ex) {
      const err = document.getElementById("order-error");
      err.textContent = ex.message;
      err.classList.remove("hidden");
    }
  };
}

async function orderView({ args }) {
  const o = await call("GET", `/orders/${args[0]}`);
  await ensureCategories();
  drawCategories(null);
  app().innerHTML = `
    <div class="container"><div class="card" style="max-width:640px;margin:0 auto">
      <h1>Thank you for your order!</h1>
      <p>Order number</p>
      <div class="order-number" id="order-number">${o.id}</div>
      <ul>${o.items.map((i) => `<li>${i.qty} × ${esc(i.name)} (${money(i.price)})</li>`).join("")}</ul>
      <p>Total paid: <strong>${money(o.total)}</strong></p>
      <a class="btn" href="#/">Continue shopping</a>
    </div></div>`;
}

document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("search").value.trim();
  UI.go(q ? `#/?q=${encodeURIComponent(q)}` : "#/");
});
refreshCount();
UI.router({ "": catalogView, product: productView, cart: cartView, order: orderView }, catalogView);
