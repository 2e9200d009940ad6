// TOTP on the local sign-in page in headless Chromium, against the local API that
// scripts/browser-test.sh starts: turned on from the page with a code computed here from
// the secret it shows (as an authenticator app would), then a sign-in that asks for the
// second factor, with a code and with a recovery code.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { newClient, outcome, port, withBrowser } from "./support.js";

const held = withBrowser();

// RFC 6238's code of `secret` (base32) for the 30-second step `steps` from now.
function totpCode(secret, steps = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const letter of secret.replace(/=+$/, "")) {
    bits += alphabet.indexOf(letter).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function signInWithPassword(page, { email, password }) {
  await page.fill("#email", email);
  await page.fill("#password", password);
  return outcome(page, "sessions/create", () => page.click("#sign-in-password"));
}

async function sendCode(page, code) {
  await page.fill("#second-factor-code", code);
  return outcome(page, "sessions/second_factor", () => page.click("#send-second-factor"));
}

async function signOut(page) {
  const answer = await outcome(page, "sessions/delete", () => page.click("#sign-out"));
  assert.equal(answer.status, "action-successful", answer.text);
}

describe("TOTP in a browser", () => {
  test("codes turned on on the page are asked for at the next sign-in", async () => {
    const client = await newClient("totp");
    const context = await held.browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://localhost:${port}/`);
    const first = await signInWithPassword(page, client);
    assert.equal(first.status, "action-successful", first.text);

    const started = await outcome(page, "users/totp_enroll", () => page.click("#totp-enroll"));
    assert.equal(started.status, "action-successful", started.text);
    const secret = (await page.textContent("#totp-secret")).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/, "160 bits in base32");
    const uri = await page.getAttribute("#totp-uri", "href");
    assert.ok(uri.startsWith("otpauth://totp/PlanoAuth:"), uri);
    await page.fill("#totp-confirm-code", totpCode(secret));
    const confirmed = await outcome(page, "users/totp_confirm", () => page.click("#totp-confirm"));
    assert.equal(confirmed.status, "action-successful", confirmed.text);
    const codes = (await page.textContent("#recovery-codes")).trim().split("\n");
    assert.equal(codes.length, 10);
    await signOut(page);

    // The password alone no longer opens a session: the page asks for a code.
    const asked = await signInWithPassword(page, client);
    assert.equal(asked.status, "second-factor-required", asked.text);
    await page.waitForSelector("#second-factor-form", { state: "visible" });
    assert.ok(await page.isHidden("#signed-in"), "no session yet");
    const wrong = await sendCode(page, totpCode(secret, 5));
    assert.equal(wrong.status, "invalid-param", wrong.text);
    assert.match(wrong.text, /`totp_code`/);
    const opened = await sendCode(page, totpCode(secret, 1));
    assert.equal(opened.status, "action-successful", opened.text);
    const session = JSON.parse(await page.textContent("#session"));
    assert.equal(session.factors, 2);
    await signOut(page);

    // A recovery code in place of the app's, once.
    await signInWithPassword(page, client);
    const recovered = await sendCode(page, codes[2]);
    assert.equal(recovered.status, "action-successful", recovered.text);
    await signOut(page);
    await signInWithPassword(page, client);
    const again = await sendCode(page, codes[2]);
    assert.equal(again.status, "invalid-param", again.text);
    assert.match(again.text, /`recovery_code`/);
    await context.close();
  });
});
