// Northwind ID: sign in -> account settings (profile, preferences, danger zone).
"use strict";

const BASE = "/api/account";
const { esc } = UI;
const app = () => document.getElementById("app");
const THEMES = [["system", "System default"], ["light", "Light"], ["dark", "Dark"]];
const token = () => sessionStorage.getItem("account.token");
const call = (method, path, body) =>
  UI.api(BASE, method, path, body, token() ? { Authorization: `Bearer ${token()}` } : {});

function applyTheme(theme) {
  document.body.classList.toggle("theme-dark", theme === "dark");
}

function drawSession(user) {
  const box = document.getElementById("session");
  if (!user) { box.innerHTML = ""; return; }
  box.innerHTML = `<span class="muted">Signed in as <strong>${esc(user.display_name)}</strong></span>
    <button type="button" id="logout-btn" class="btn secondary small">Log out</button>`;
  document.getElementById("logout-btn").onclick = async () => {
    await call("POST", "/logout").catch(() => null);
    sessionStorage.removeItem("account.token");
    UI.go("#/login");
  };
}

function loginView() {
  drawSession(null);
  applyTheme("system");
  app().innerHTML = `
    <div class="container auth">
      <div class="card">
        <h1>Sign in</h1>
        <p class="muted">Use your Northwind ID to manage your account.</p>
        <form id="login-form" novalidate>
          <label class="field">Username<input id="username" type="text" placeholder="Username" autocomplete="username"></label>
          <label class="field">Password<input id="password" type="password" placeholder="Password" autocomplete="current-password"></label>
          <p id="login-error" class="error hidden" role="alert"></p>
          <button type="submit" id="login-btn" class="btn">Sign in</button>
        </form>
      </div>
      <div class="notice" style="margin-top:16px" id="demo-credentials">
        <strong>Demo account</strong><br>Username: <code>demo</code> · Password: <code>demo123</code>
      </div>
    </div>`;
  document.getElementById("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = document.getElementById("login-error");
    try {
      const { token: t } = await call("POST", "/login", {
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      });
      sessionStorage.setItem("account.token", t);
      UI.go("#/settings");
    } catch (ex) {
      err.textContent = ex.message;
      err.classList.remove("hidden");
    }
  });
}

async function settingsView() {
  let user;
  try {
    user = await call("GET", "/me");
  } catch {
    sessionStorage.removeItem("account.token");
    UI.go("#/login");
    return;
  }
  drawSession(user);
  applyTheme(user.theme);
  let theme = user.theme;
  app().innerHTML = `
    <div class="container settings">
      <h1>Account settings</h1>
      <p class="muted">Changes take effect when you save them.</p>
      <form id="settings-form" novalidate>
        <section class="card">
          <h2>Profile</h2>
          <label class="field">Display name<input id="display-name" type="text" placeholder="Your name" value="${esc(user.display_name)}"></label>
          <label class="field">Email address<input id="email" type="email" placeholder="name@example.com" value="${esc(user.email)}"></label>
          <div class="field">Username<div class="readonly">${esc(user.username)}</div></div>
        </section>
        <section class="card">
          <h2>Preferences</h2>
          <label class="check" for="newsletter"><input type="checkbox" id="newsletter" ${user.newsletter ? "checked" : ""}>
            Email me the monthly newsletter</label>
          <div class="theme-wrap">
            <span class="field">Theme</span>
            <div class="dropdown" style="margin-top:6px">
              <button type="button" id="theme-btn" class="btn secondary dropdown-btn" aria-haspopup="listbox"></button>
              <div id="theme-menu" class="menu hidden" role="listbox" aria-label="Theme">
                ${THEMES.map(([v, t]) => `<button type="button" role="option" class="option" data-value="${v}">${t}</button>`).join("")}
              </div>
            </div>
          </div>
        </section>
        <p id="settings-error" class="error hidden" role="alert"></p>
        <div class="row" style="margin-bottom:16px">
          <button type="submit" id="save-btn" class="btn">Save changes</button>
          <a href="#/settings" class="btn secondary" id="discard-btn">Discard changes</a>
        </div>
      </form>
      <section class="card danger-zone">
        <h2>Danger zone</h2>
        <div class="danger-row">
          <p>Permanently delete your account and all of its data. This cannot be undone.</p>
          <button type="button" id="delete-btn" class="btn danger">Delete account</button>
        </div>
      </section>
    </div>`;
  const btn = document.getElementById("theme-btn");
  const menu = document.getElementById("theme-menu");
  const drawTheme = () => {
    btn.innerHTML = `<span>${THEMES.find(([v]) => v === theme)[1]}</span><span aria-hidden="true">▾</span>`;
    menu.querySelectorAll(".option").forEach((o) => o.classList.toggle("active", o.dataset.value === theme));
  };
  drawTheme();
  btn.onclick = () => menu.classList.toggle("hidden");
  menu.addEventListener("click", (e) => {
    const o = e.target.closest("[data-value]");
    if (!o) return;
    theme = o.dataset.value;
    drawTheme();
    menu.classList.add("hidden");
  });
  UI.onOutside((e) => { if (!e || !menu.parentElement.contains(e.target)) menu.classList.add("hidden"); });

  document.getElementById("settings-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = document.getElementById("settings-error");
    try {
      const saved = await call("PUT", "/me", {
        display_name: document.getElementById("display-name").value,
        email: document.getElementById("email").value,
        newsletter: document.getElementById("newsletter").checked,
        theme,
      });
      err.classList.add("hidden");
      drawSession(saved);
      applyTheme(saved.theme);
      UI.toast("Settings saved");
    } catch (ex) {
      err.textContent = ex.message;
      err.classList.remove("hidden");
    }
  });
  document.getElementById("delete-btn").onclick = confirmDelete;
}

function confirmDelete() {
  const back = document.createElement("div");
  back.className = "modal-back";
  back.innerHTML = `
    <div class="card modal" role="dialog" aria-modal="true" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete your account?</h2>
      <p>All of your data will be removed permanently. This cannot be undone.</p>
      <div class="row">
        <button type="button" id="cancel-delete" class="btn secondary">Cancel</button>
        <button type="button" id="confirm-delete" class="btn danger">Delete permanently</button>
      </div>
    </div>`;
  document.body.appendChild(back);
  document.getElementById("cancel-delete").onclick = () => back.remove();
  document.getElementById("confirm-delete").onclick = async () => {
    await call("DELETE", "/me");
    back.remove();
    sessionStorage.removeItem("account.token");
    UI.go("#/deleted");
  };
}

function deletedView() {
  drawSession(null);
  applyTheme("system");
  app().innerHTML = `
    <div class="container auth"><div class="card">
      <h1>Account deleted</h1>
      <p>Your account and its data have been removed.</p>
      <a class="btn" href="#/login">Back to sign in</a>
    </div></div>`;
}

UI.router(
  { login: loginView, settings: settingsView, deleted: deletedView },
  () => UI.go(token() ? "#/settings" : "#/login"),
);
