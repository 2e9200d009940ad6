// What the browser tests share: the settings scripts/browser-test.sh gives them, one
// headless Chromium per file, the API called as an application's server would, a client
// of the test's own, and the answer the page shows.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (scripts/browser-test.sh sets it)`);
  return value;
}

export const port = required("PAGE_PORT");
export const applicationToken = required("APPLICATION_TOKEN");
export const stack = required("AWS_ENDPOINT_URL");
const api = `http://127.0.0.1:${port}/api/v1/`;

// Headless Chromium for the file's tests, launched before them and closed after.
export function withBrowser() {
  const held = {};
  before(async () => {
    held.browser = await chromium.launch({
      executablePath: required("CHROMIUM"),
      // Chromium's own connections (updates, sync, QUIC probes) have nowhere to go here.
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  after(async () => {
    await held.browser?.close();
  });
  return held;
}

export async function call(route, params, token, { sensitive = false } = {}) {
  const json = JSON.stringify(params);
  const response = await fetch(api + route, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: sensitive ? Buffer.from(json).toString("base64") : json,
  });
  return response.json();
}

// A client of its own, registered through a guest session: an account with a password
// its user chose, so that the page's sign-in opens a session that may do everything.
export async function newClient(name = "browser") {
  const email = `${name}-${randomBytes(6).toString("hex")}@example.com`;
  const password = `tide-${randomBytes(9).toString("hex")}-Harbor`;
  const guest = await call("sessions/create", { token: applicationToken }, applicationToken, {
    sensitive: true,
  });
  assert.equal(guest.status, "action-successful", JSON.stringify(guest));
  const registered = await call(
    "users/client_register",
    { email, password, first_name: "Berenice", last_name: "Abbott", phone: "+1 555 010 2000" },
    guest.session.token,
    { sensitive: true },
  );
  assert.equal(registered.status, "action-successful", JSON.stringify(registered));
  return { email, password };
}

// The emails the local SES accepted for `address`.
export async function emailsTo(address) {
  const response = await fetch(new URL("/_local/ses/messages", stack));
  const { messages } = await response.json();
  return messages.filter((message) => message.destinations.ToAddresses.includes(address));
}

// Runs `action` on the page and waits for the answer of `route` it shows, or for a
// failure it shows under one of the names in `alternatives` (the page's own, a WebAuthn
// call's): `{ route, status, text }`.
export async function outcome(page, route, action, alternatives = ["page"]) {
  await page.evaluate(() => {
    const shown = document.getElementById("outcome");
    shown.textContent = "";
    delete shown.dataset.route;
    delete shown.dataset.status;
  });
  await action();
  const shown = await page.waitForFunction(
    (expected) => {
      const { route, status } = document.getElementById("outcome").dataset;
      return expected.includes(route) && { route, status };
    },
    [route, ...alternatives],
    { timeout: 20_000 },
  );
  const { route: shownRoute, status } = await shown.jsonValue();
  return { route: shownRoute, status, text: await page.textContent("#outcome") };
}
