// The local page: signs in with a password (and a second factor) or a passkey through
// the API, as an application's own page would, and manages the signed-in user's
// passkeys and TOTP. Plain
// browser JavaScript, no build step. The options the API gives go to the browser's
// WebAuthn Level 3 JSON parsers as they are; what the browser answers goes back as
// credential.toJSON() gives it.
"use strict";

const API = "/api/v1/";
const SESSION_KEY = "planoauth-session-token";
const $ = (id) => document.getElementById(id);
// The challenge of a sign-in waiting for its second factor.
let challenge = null;

function applicationToken() {
  return $("application-token").value.trim();
}

function sessionToken() {
  return sessionStorage.getItem(SESSION_KEY);
}

// Sensitive routes (those that take a password) take their JSON base64-encoded.
function base64Json(params) {
  const bytes = new TextEncoder().encode(JSON.stringify(params));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// Posts to a route. Its answer is shown (`show`) once the page has caught up with it.
async function call(route, params, { token, sensitive = false } = {}) {
  const response = await fetch(API + route, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: sensitive ? base64Json(params) : JSON.stringify(params),
  });
  return response.json();
}

function show(route, answer) {
  const outcome = $("outcome");
  outcome.textContent = `${route}: ${answer.status}: ${answer.message}`;
  outcome.dataset.route = route;
  outcome.dataset.status = answer.status;
  outcome.className = answer.status === "action-successful" ? "" : "refused";
}

function showError(what, error) {
  const outcome = $("outcome");
  outcome.textContent = `${what}: ${error.name}: ${error.message}`;
  outcome.dataset.route = what;
  outcome.dataset.status = "browser-error";
  outcome.className = "refused";
}

function webauthnJsonSupported() {
  return (
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function"
  );
}

// A session answer holds the session; the token comes only with a new one.
async function signedIn(answer) {
  const session = answer.session;
  if (!session) return;
  if (session.token) sessionStorage.setItem(SESSION_KEY, session.token);
  const shown = { ...session };
  delete shown.token;
  $("session").textContent = JSON.stringify(shown, null, 2);
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  await listPasskeys();
}

function signedOut() {
  sessionStorage.removeItem(SESSION_KEY);
  $("session").textContent = "";
  $("passkeys").replaceChildren();
  $("recovery-codes").textContent = "";
  $("recovery-codes-shown").hidden = true;
  $("totp-enrolment").hidden = true;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
}

async function signInWithPassword(event) {
  event.preventDefault();
  const params = {
    email: $("email").value,
    password: $("password").value,
    remember_me: $("remember-me").checked,
  };
  $("password").value = "";
  const answer = await call("sessions/create", params, {
    token: applicationToken(),
    sensitive: true,
  });
  // The password was right; the session waits for the account's second factor.
  challenge = answer.status === "second-factor-required" ? answer.data.challenge : null;
  $("second-factor-form").hidden = !challenge;
  await signedIn(answer);
  show("sessions/create", answer);
}

// A code as typed: six digits are a TOTP code, anything else a recovery code.
function codeParams(typed) {
  const code = typed.replace(/\s/g, "");
  return /^\d{6}$/.test(code) ? { totp_code: code } : { recovery_code: typed.trim() };
}

async function sendSecondFactor(event) {
  event.preventDefault();
  const params = { challenge, ...codeParams($("second-factor-code").value) };
  $("second-factor-code").value = "";
  const answer = await call("sessions/second_factor", params, { token: applicationToken() });
  if (answer.status === "action-successful") {
    challenge = null;
    $("second-factor-form").hidden = true;
    await signedIn(answer);
  }
  show("sessions/second_factor", answer);
}

async function enrolTotp() {
  const answer = await call("users/totp_enroll", {}, { token: sessionToken() });
  if (answer.status === "action-successful") {
    $("totp-enrolment").dataset.ceremony = answer.data.ceremony;
    $("totp-secret").textContent = answer.data.secret;
    $("totp-uri").href = answer.data.otpauth_uri;
    $("totp-enrolment").hidden = false;
  }
  show("users/totp_enroll", answer);
}

function showRecoveryCodes(codes) {
  $("recovery-codes").textContent = codes.join("\n");
  $("recovery-codes-shown").hidden = false;
}

async function confirmTotp(event) {
  event.preventDefault();
  const params = {
    ceremony: $("totp-enrolment").dataset.ceremony,
    totp_code: $("totp-confirm-code").value.replace(/\s/g, ""),
  };
  $("totp-confirm-code").value = "";
  const answer = await call("users/totp_confirm", params, { token: sessionToken() });
  if (answer.status === "action-successful") {
    $("totp-enrolment").hidden = true;
    $("totp-secret").textContent = "";
    showRecoveryCodes(answer.data.recovery_codes);
  }
  show("users/totp_confirm", answer);
}

async function manageTotp(route) {
  const params = codeParams($("totp-manage-code").value);
  $("totp-manage-code").value = "";
  const answer = await call(route, params, { token: sessionToken() });
  if (answer.status === "action-successful" && answer.data.recovery_codes) {
    showRecoveryCodes(answer.data.recovery_codes);
  }
  if (answer.status === "action-successful" && !answer.data.recovery_codes) {
    $("recovery-codes-shown").hidden = true;
  }
  show(route, answer);
}

async function changePassword(event) {
  event.preventDefault();
  const params = {
    current_password: $("current-password").value,
    new_password: $("new-password").value,
  };
  $("current-password").value = "";
  $("new-password").value = "";
  const answer = await call("users/password_update", params, {
    token: sessionToken(),
    sensitive: true,
  });
  if (answer.status === "action-successful") await signedIn(answer);
  show("users/password_update", answer);
}

// Runs a WebAuthn ceremony: `start` gives the options, the browser's `ceremony` answers
// them, `finish` takes the answer. Shows whichever step refused, and answers the finish's
// answer (or nothing).
async function ceremony({ start, browser, finish }) {
  if (!webauthnJsonSupported()) {
    showError("passkey", new Error("this browser lacks WebAuthn's JSON methods"));
    return null;
  }
  const started = await call(start.route, start.params, { token: start.token });
  if (started.status !== "action-successful") {
    show(start.route, started);
    return null;
  }
  let credential;
  try {
    credential = await browser(started.data.options);
  } catch (error) {
    showError("passkey", error);
    return null;
  }
  return call(
    finish.route,
    { ...finish.params, ceremony: started.data.ceremony, credential: credential.toJSON() },
    { token: finish.token },
  );
}

async function signInWithPasskey() {
  const email = $("email").value.trim();
  const finished = await ceremony({
    start: {
      route: "sessions/passkey_start",
      params: email ? { email } : {},
      token: applicationToken(),
    },
    browser: (options) =>
      navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      }),
    finish: {
      route: "sessions/passkey_finish",
      params: { remember_me: $("remember-me").checked },
      token: applicationToken(),
    },
  });
  if (!finished) return;
  await signedIn(finished);
  show("sessions/passkey_finish", finished);
}

async function addPasskey(event) {
  event.preventDefault();
  const name = $("passkey-name").value.trim();
  const finished = await ceremony({
    start: {
      route: "passkeys/register_start",
      params: name ? { name } : {},
      token: sessionToken(),
    },
    browser: (options) =>
      navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      }),
    finish: { route: "passkeys/register_finish", params: {}, token: sessionToken() },
  });
  if (!finished) return;
  if (finished.status === "action-successful") {
    $("passkey-name").value = "";
    await listPasskeys();
  }
  show("passkeys/register_finish", finished);
}

async function listPasskeys() {
  const answer = await call("passkeys/list", {}, { token: sessionToken() });
  const list = $("passkeys");
  list.replaceChildren();
  for (const passkey of answer.data?.passkeys ?? []) {
    const item = document.createElement("li");
    item.dataset.passkeyId = passkey.id;
    const used = passkey.last_used_at ? `last used ${passkey.last_used_at}` : "never used";
    item.textContent = `${passkey.name} (added ${passkey.created_at}, ${used})`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.addEventListener("click", guarded(() => removePasskey(passkey.id)));
    item.append(remove);
    list.append(item);
  }
}

async function removePasskey(passkeyId) {
  const answer = await call("passkeys/delete", { passkey_id: passkeyId }, {
    token: sessionToken(),
  });
  if (answer.status === "action-successful") await listPasskeys();
  show("passkeys/delete", answer);
}

async function refreshSession() {
  const answer = await call("sessions/show", {}, { token: sessionToken() });
  if (answer.session) await signedIn(answer);
  else signedOut();
  show("sessions/show", answer);
}

async function signOut() {
  const answer = await call("sessions/delete", {}, { token: sessionToken() });
  signedOut();
  show("sessions/delete", answer);
}

// Every handler's failure is shown, never left to the console.
function guarded(handler) {
  return (event) => handler(event).catch((error) => showError("page", error));
}

document.addEventListener("DOMContentLoaded", () => {
  const injected = document.querySelector('meta[name="planoauth-application-token"]');
  $("application-token").value = injected ? injected.content : "";
  $("password-form").addEventListener("submit", guarded(signInWithPassword));
  $("sign-in-passkey").addEventListener("click", guarded(signInWithPasskey));
  $("password-update-form").addEventListener("submit", guarded(changePassword));
  $("enrol-form").addEventListener("submit", guarded(addPasskey));
  $("second-factor-form").addEventListener("submit", guarded(sendSecondFactor));
  $("totp-enroll").addEventListener("click", guarded(enrolTotp));
  $("totp-confirm-form").addEventListener("submit", guarded(confirmTotp));
  $("totp-manage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => manageTotp("users/totp_disable"))();
  });
  $("recovery-codes-regenerate").addEventListener(
    "click",
    guarded(() => manageTotp("users/recovery_codes_regenerate")),
  );
  $("refresh-session").addEventListener("click", guarded(refreshSession));
  $("sign-out").addEventListener("click", guarded(signOut));
  if (sessionToken()) guarded(refreshSession)();
});
