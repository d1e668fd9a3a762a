// The Content-Security-Policy of every page: nothing but our own stylesheet and our own one
// script file (/assets/passkeys.js, docs/decisions/0096), no inline script or style, no framing. form-action also governs the redirect after a form post, so a login page
// allows its own origin plus the one app origin its form will send the browser on to. A page
// that shows a project's logo allows images from exactly that logo's origin as well.

export const CSP_DIRECTIVES: Record<string, string[]> = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // the passkey forms' script fetches its WebAuthn options from us
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A CSP source expression for where a redirect URI points. */
function sourceOf(redirectUri: string): string | undefined {
  try {
    const url = new URL(redirectUri);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
    // A native app's private-use scheme (RFC 8252 §7.1).
    return /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : undefined;
  } catch {
    return undefined;
  }
}

/** The origin of a stored logo URL (https, or http on loopback: src/projects/branding.ts). */
function imageSourceOf(logoUrl: string): string | undefined {
  try {
    const url = new URL(logoUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export function pageCsp(redirectUri?: string, logoUrl?: string): string {
  const target = redirectUri === undefined ? undefined : sourceOf(redirectUri);
  const image = logoUrl === undefined ? undefined : imageSourceOf(logoUrl);
  return Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => {
      const extra = name === 'formAction' ? target : name === 'imgSrc' ? image : undefined;
      const sources = extra !== undefined && !values.includes(extra) ? [...values, extra] : values;
      return `${kebab(name)} ${sources.join(' ')}`;
    })
    .join('; ');
}
