// The local sign-in page and the passkey routes in headless Chromium, with its WebAuthn
// virtual authenticator (CDP), against the local API that scripts/browser-test.sh starts
// on a fresh install. Each test registers accounts of its own.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  applicationToken,
  call,
  emailsTo,
  newClient,
  outcome as shownOutcome,
  port,
  withBrowser,
} from "./support.js";

const held = withBrowser();

// ---- the page, driven as a user would ----

const authenticatorOptions = {
  protocol: "ctap2",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

// The page at `host` in a browser context of its own, with a virtual authenticator.
async function openPage({ host = "localhost", authenticator = authenticatorOptions } = {}) {
  const context = await held.browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: authenticator,
  });
  await page.goto(`http://${host}:${port}/`);
  return { context, page, cdp, authenticatorId };
}

// The answer of `route` the page shows once `action` ran, or the browser's refusal of a
// WebAuthn call.
function outcome(page, route, action) {
  return shownOutcome(page, route, action, ["passkey", "page"]);
}

async function signInWithPassword(page, { email, password }) {
  await page.fill("#email", email);
  await page.fill("#password", password);
  const answer = await outcome(page, "sessions/create", () => page.click("#sign-in-password"));
  assert.equal(answer.status, "action-successful", answer.text);
}

async function signInWithPasskey(page, { email = "" } = {}) {
  await page.fill("#email", email);
  return outcome(page, "sessions/passkey_finish", () => page.click("#sign-in-passkey"));
}

async function addPasskey(page, name = "") {
  await page.fill("#passkey-name", name);
  return outcome(page, "passkeys/register_finish", () => page.click("#add-passkey"));
}

async function signOut(page) {
  const answer = await outcome(page, "sessions/delete", () => page.click("#sign-out"));
  assert.equal(answer.status, "action-successful", answer.text);
  await page.waitForSelector("#signed-out", { state: "visible" });
}

async function shownSession(page) {
  return JSON.parse(await page.textContent("#session"));
}

async function listedPasskeys(page) {
  return page.$$eval("#passkeys li", (items) => items.map((item) => item.dataset.passkeyId));
}

// A client signed in on the page with a passkey enrolled there.
async function clientWithPasskey(options) {
  const client = await newClient();
  const opened = await openPage(options);
  await signInWithPassword(opened.page, client);
  const added = await addPasskey(opened.page, "this browser");
  assert.equal(added.status, "action-successful", added.text);
  return { client, ...opened };
}

// Rewrites, in the answers of `route` that the page receives, its `data.options`. The
// request is sent on from here, where only 127.0.0.1 names the local API.
async function rewriteOptions(page, route, rewrite) {
  await page.route(`**/api/v1/${route}`, async (intercepted) => {
    const url = new URL(intercepted.request().url());
    url.hostname = "127.0.0.1";
    const response = await intercepted.fetch({ url: url.href });
    const answer = await response.json();
    if (answer.data?.options) rewrite(answer.data.options);
    await intercepted.fulfill({ response, json: answer });
  });
}

describe("passkeys in a browser", () => {
  test("a passkey enrolled on the page signs in there without a username, as two factors", async () => {
    const { client, page, context } = await clientWithPasskey();
    const [listed] = await listedPasskeys(page);
    assert.ok(listed, "the new passkey is listed");
    assert.match(await page.textContent("#passkeys"), /this browser \(added .*never used\)/);
    const password = await shownSession(page);
    assert.equal(password.factors, 1);
    await signOut(page);

    const answer = await signInWithPasskey(page);
    assert.equal(answer.status, "action-successful", answer.text);
    const session = await shownSession(page);
    assert.equal(session.factors, 2);
    assert.equal(session.user_id, password.user_id, "the passkey's own account");
    assert.match(await page.textContent("#passkeys"), /last used/);
    const subjects = (await emailsTo(client.email)).map((email) => email.subject);
    assert.ok(subjects.includes("A passkey was added to your PlanoAuth account"), subjects.join());
    await context.close();
  });

  test("with the email given, only that account's passkeys are asked for", async () => {
    const { client, page, context } = await clientWithPasskey();
    await signOut(page);
    const named = await signInWithPasskey(page, { email: client.email });
    assert.equal(named.status, "action-successful", named.text);
    await signOut(page);

    // Another account's address: its options offer credential ids this authenticator
    // does not hold (made-up ones, the account having no passkey), so it signs in with
    // none of its own.
    const other = await newClient();
    const refused = await signInWithPasskey(page, { email: other.email });
    assert.equal(refused.route, "passkey", refused.text);
    assert.match(refused.text, /NotAllowedError/);
    assert.ok(await page.isVisible("#signed-out"));
    await context.close();
  });

  test("a page at another origin cannot use the relying party, nor pass for it", async () => {
    // At 127.0.0.1 the browser refuses the relying party id localhost outright.
    const client = await newClient();
    const numeric = await openPage({ host: "127.0.0.1" });
    await signInWithPassword(numeric.page, client);
    const refused = await addPasskey(numeric.page);
    assert.equal(refused.route, "passkey", refused.text);
    assert.match(refused.text, /SecurityError/);
    await numeric.context.close();

    // At another localhost name the browser signs for that name's own relying party, and
    // the API refuses the credential: neither the origin nor the relying party is ours.
    const other = await openPage({ host: "elsewhere.localhost" });
    await rewriteOptions(other.page, "passkeys/register_start", (options) => {
      options.rp.id = "elsewhere.localhost";
    });
    await signInWithPassword(other.page, client);
    const forged = await addPasskey(other.page);
    assert.equal(forged.route, "passkeys/register_finish", forged.text);
    assert.equal(forged.status, "invalid-param");
    assert.match(forged.text, /`credential` is invalid: .*origin does not match/);
    assert.deepEqual(await listedPasskeys(other.page), []);
    await other.context.close();
  });

  test("an authenticator that did not verify its user is refused at enrolment and sign-in", async () => {
    const client = await newClient();
    const unverified = await openPage({
      authenticator: { ...authenticatorOptions, hasUserVerification: false, isUserVerified: false },
    });
    // The page is made to ask for no verification, so the browser lets the credential
    // through; the API asked for it and refuses an answer without it.
    // (Credential protection that demands verification goes too, as the browser would
    // otherwise refuse the mix.)
    const discouraged = (options) => {
      options.authenticatorSelection.userVerification = "discouraged";
      delete options.extensions?.credentialProtectionPolicy;
      delete options.extensions?.enforceCredentialProtectionPolicy;
    };
    await rewriteOptions(unverified.page, "passkeys/register_start", discouraged);
    await signInWithPassword(unverified.page, client);
    const enrolled = await addPasskey(unverified.page);
    assert.equal(enrolled.route, "passkeys/register_finish", enrolled.text);
    assert.equal(enrolled.status, "invalid-param");
    assert.match(enrolled.text, /`credential` is invalid: .*user verified bit is not set/);
    await unverified.context.close();

    const { page, cdp, authenticatorId, context } = await clientWithPasskey();
    await signOut(page);
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    await rewriteOptions(page, "sessions/passkey_start", (options) => {
      options.userVerification = "discouraged";
    });
    const signedIn = await signInWithPasskey(page);
    assert.equal(signedIn.route, "sessions/passkey_finish", signedIn.text);
    assert.equal(signedIn.status, "invalid-param");
    assert.match(signedIn.text, /`credential` is invalid: .*user verified bit is not set/);
    await context.close();
  });

  test("a sign-in ceremony is used once", async () => {
    const { page, context } = await clientWithPasskey();
    await signOut(page);
    const finish = page.waitForRequest("**/api/v1/sessions/passkey_finish");
    const first = await signInWithPasskey(page);
    assert.equal(first.status, "action-successful", first.text);
    const replayed = JSON.parse((await finish).postData());
    const again = await call("sessions/passkey_finish", replayed, applicationToken);
    assert.equal(again.status, "invalid-param", JSON.stringify(again));
    assert.match(again.message, /ceremony/);
    assert.equal(again.session, undefined);
    await context.close();
  });

  test("a removed passkey signs in no more", async () => {
    const { client, page, context } = await clientWithPasskey();
    const removed = await outcome(page, "passkeys/delete", () =>
      page.click("#passkeys li button"),
    );
    assert.equal(removed.status, "action-successful", removed.text);
    await page.waitForFunction(() => document.querySelectorAll("#passkeys li").length === 0);
    await signOut(page);

    // The authenticator still holds the credential; the API no longer knows it.
    const answer = await signInWithPasskey(page);
    assert.equal(answer.route, "sessions/passkey_finish", answer.text);
    assert.equal(answer.status, "invalid-param");
    assert.match(answer.text, /`credential` is invalid: is not a passkey of this service/);
    const subjects = (await emailsTo(client.email)).map((email) => email.subject);
    assert.ok(subjects.includes("A passkey was removed from your PlanoAuth account"));
    await context.close();
  });

  test("a copy of a passkey with a lower counter is refused and the owner told", async () => {
    const { client, page, cdp, authenticatorId, context } = await clientWithPasskey();
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    const [exported] = credentials;
    await signOut(page);
    const original = await signInWithPasskey(page);
    assert.equal(original.status, "action-successful", original.text);
    await signOut(page);

    // The copy, in another browser, still has the counter it was exported with: its
    // next signature counts no higher than the original's last one.
    const copy = await openPage();
    await copy.cdp.send("WebAuthn.addCredential", {
      authenticatorId: copy.authenticatorId,
      credential: exported,
    });
    const cloned = await signInWithPasskey(copy.page);
    assert.equal(cloned.route, "sessions/passkey_finish", cloned.text);
    assert.equal(cloned.status, "invalid-param");
    assert.match(cloned.text, /`credential` is invalid: .*counter did not increase/);
    const subjects = (await emailsTo(client.email)).map((email) => email.subject);
    assert.ok(subjects.includes("A sign-in to your PlanoAuth account was refused"), subjects.join());
    await copy.context.close();

    // The original, whose counter is ahead of the stored one, still signs in.
    const again = await signInWithPasskey(page);
    assert.equal(again.status, "action-successful", again.text);
    await context.close();
  });
});
