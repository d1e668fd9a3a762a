// The passkey forms of the hosted pages (mfa.md: the passkey pages need JavaScript; every other
// flow works without it). What is marked `data-passkey-shown` is hidden in the HTML and shown
// here, where a browser can use passkeys; what is marked `data-passkey-needs-script` (the hint
// that passkeys need JavaScript) is hidden. A form marked `data-passkey="register"` or
// `"authenticate"` runs the ceremony. On submit its hidden fields are
// posted to `data-options` for the ceremony's options; the browser's answer goes into the field
// named by `data-response` and the form is then posted as a plain form, whose answer the browser
// follows like any other (a redirect to the app, the account page).
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser';

function showError(form: HTMLFormElement, message: string): void {
  const error = form.querySelector<HTMLElement>('[data-passkey-error]');
  if (!error) return;
  error.textContent = message;
  error.hidden = false;
}

async function ceremony(form: HTMLFormElement): Promise<void> {
  const responseField = form.elements.namedItem(form.dataset.response ?? '');
  const optionsUrl = form.dataset.options;
  if (!(responseField instanceof HTMLInputElement) || optionsUrl === undefined) return;
  const body = new URLSearchParams();
  for (const input of Array.from(form.querySelectorAll<HTMLInputElement>('input[type="hidden"]'))) {
    if (input !== responseField) body.append(input.name, input.value);
  }
  const answer = await fetch(optionsUrl, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
  });
  if (!answer.ok) throw new Error(`options: ${answer.status}`);
  const optionsJSON = await answer.json();
  const credential = form.dataset.passkey === 'register' ? await startRegistration({ optionsJSON }) : await startAuthentication({ optionsJSON });
  responseField.value = JSON.stringify(credential);
  // submit() posts without firing `submit` again.
  form.submit();
}

function setUp(): void {
  if (!browserSupportsWebAuthn()) return;
  for (const hint of Array.from(document.querySelectorAll<HTMLElement>('[data-passkey-needs-script]'))) hint.hidden = true;
  for (const shown of Array.from(document.querySelectorAll<HTMLElement>('[data-passkey-shown]'))) shown.hidden = false;
  for (const form of Array.from(document.querySelectorAll<HTMLFormElement>('form[data-passkey]'))) {
    let busy = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      ceremony(form).catch(() => {
        busy = false;
        showError(form, form.dataset.errorText ?? 'The passkey could not be used.');
      });
    });
  }
}

setUp();
