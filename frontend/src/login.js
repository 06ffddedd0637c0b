// The login form of a platform behind ACCESS_TOKEN: shown when a call answers 401 for want of
// the token; the platform answers a right token with an HttpOnly cookie, so nothing here keeps
// the token. However many calls ask at once, there is one form and one login.
import { ApiError, login, NetworkError, onAccessRequired } from "./api.js";

let pending = null;

function ask() {
  const dialog = document.getElementById("login");
  const form = document.getElementById("login-form");
  const input = document.getElementById("login-token");
  const error = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  return new Promise((resolve) => {
    const onSubmit = async (event) => {
      event.preventDefault();
      if (!input.value) {
        error.textContent = "Enter the access token.";
        return;
      }
      submit.disabled = true;
      try {
        await login(input.value);
        input.value = "";
        error.textContent = "";
        form.removeEventListener("submit", onSubmit);
        dialog.close();
        resolve();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) error.textContent = "Wrong access token.";
        else if (err instanceof NetworkError) error.textContent = err.message;
        else error.textContent = err.message;
        input.select();
      } finally {
        submit.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // no way around it
    dialog.showModal();
    input.focus();
  });
}

/** Ask for the access token whenever the platform wants it. */
export function installLogin() {
  onAccessRequired(() => {
    pending ??= ask().finally(() => {
      pending = null;
    });
    return pending;
  });
}
