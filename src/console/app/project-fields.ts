// Every field of a project the console can set, as one list: the create and edit forms are made
// from it, so a field a later capability adds to the admin API is one more entry here.

export type FieldKind = 'text' | 'lines' | 'boolean' | 'seconds' | 'choice' | 'choices' | 'nullable-text';

export interface ProjectField {
  name: string;
  label: string;
  kind: FieldKind;
  group: 'Basics' | 'Sign-in' | 'Lifetimes' | 'Branding' | 'Machines';
  hint?: string;
  /** accepted by POST /admin/projects */
  create: boolean;
  /** accepted by PATCH /admin/projects/:id */
  edit: boolean;
  choices?: readonly string[];
  /** the value of a new project's form */
  initial?: FormValue;
}

export type FormValue = string | boolean | string[];

export const PROJECT_FIELDS: readonly ProjectField[] = [
  { name: 'id', label: 'Id', kind: 'text', group: 'Basics', create: true, edit: false, hint: '3–64 letters, digits, _ or -; made up when left empty. It cannot be changed later.' },
  { name: 'name', label: 'Name', kind: 'text', group: 'Basics', create: true, edit: true },
  { name: 'redirect_uris', label: 'Redirect URIs', kind: 'lines', group: 'Basics', create: true, edit: true, hint: 'One per line, matched exactly. https, or http on localhost.' },
  { name: 'post_logout_redirect_uris', label: 'Logout redirect URIs', kind: 'lines', group: 'Basics', create: true, edit: true, hint: 'Where /logout may send the browser back to; one per line.' },
  { name: 'allowed_origins', label: 'Allowed origins', kind: 'lines', group: 'Basics', create: true, edit: true, hint: 'Browser origins (scheme://host[:port]) that may call /token besides those of the redirect URIs; one per line.' },
  { name: 'confidential', label: 'Confidential (issue a client secret)', kind: 'boolean', group: 'Basics', create: true, edit: false, initial: false },
  { name: 'registration_open', label: 'Registration open', kind: 'boolean', group: 'Sign-in', create: true, edit: true, initial: true, hint: 'Anyone may create an account; when closed, only members sign in.' },
  { name: 'login_methods', label: 'Sign-in methods', kind: 'choices', group: 'Sign-in', create: true, edit: true, choices: ['password', 'magic_link', 'pin', 'passkey'], initial: ['password', 'magic_link', 'pin'] },
  { name: 'connections', label: 'Sign-in providers', kind: 'lines', group: 'Sign-in', create: true, edit: true, hint: 'Ids of the connections (upstream OpenID providers) offered on its page; one per line.' },
  { name: 'require_pkce', label: 'Require PKCE', kind: 'boolean', group: 'Sign-in', create: true, edit: true, initial: true, hint: 'Only a confidential project may turn it off.' },
  { name: 'require_verified_email', label: 'Require a verified email', kind: 'boolean', group: 'Sign-in', create: true, edit: true, initial: false },
  { name: 'require_mfa', label: 'Require a second factor', kind: 'boolean', group: 'Sign-in', create: true, edit: true, initial: false },
  { name: 'token_signing_alg', label: 'Token signing algorithm', kind: 'choice', group: 'Sign-in', create: true, edit: true, choices: ['ES256', 'RS256'], initial: 'ES256' },
  { name: 'code_ttl_seconds', label: 'Code lifetime (seconds)', kind: 'seconds', group: 'Lifetimes', create: true, edit: true, hint: '1–600; empty for the instance default.' },
  { name: 'access_token_ttl_seconds', label: 'Access token lifetime (seconds)', kind: 'seconds', group: 'Lifetimes', create: true, edit: true, hint: '1–86400; empty for the instance default.' },
  { name: 'refresh_token_ttl_seconds', label: 'Refresh token lifetime (seconds)', kind: 'seconds', group: 'Lifetimes', create: true, edit: true, hint: '1–31536000; empty for the instance default.' },
  { name: 'session_max_seconds', label: 'Session maximum (seconds)', kind: 'seconds', group: 'Lifetimes', create: true, edit: true, hint: 'However often it is refreshed, a session ends this long after it began; empty for the default.' },
  { name: 'logo_url', label: 'Logo URL', kind: 'nullable-text', group: 'Branding', create: true, edit: true, hint: 'https; empty for none.' },
  { name: 'brand_color', label: 'Brand colour', kind: 'nullable-text', group: 'Branding', create: true, edit: true, hint: '#rrggbb; empty for the default.' },
  { name: 'backchannel_logout_uri', label: 'Back-channel logout URI', kind: 'nullable-text', group: 'Machines', create: true, edit: true, hint: 'Where logout tokens are POSTed when a session ends; https, or http on loopback; empty for none.' },
  { name: 'client_credentials', label: 'Client credentials grant', kind: 'boolean', group: 'Machines', create: true, edit: true, initial: false, hint: 'Confidential projects only.' },
  { name: 'service_scopes', label: 'Service scopes', kind: 'lines', group: 'Machines', create: true, edit: true, hint: 'The scopes its client_credentials tokens may carry; one per line.' },
  { name: 'admin_api', label: 'Admin API access', kind: 'boolean', group: 'Machines', create: true, edit: true, initial: false, hint: 'Its client_credentials tokens with the scope admin may use the admin API.' },
];

export const FIELD_GROUPS = ['Basics', 'Sign-in', 'Lifetimes', 'Branding', 'Machines'] as const;

/** The form's value of a field, from a project (or the new project's initial value). */
export function formValue(field: ProjectField, value: unknown): FormValue {
  switch (field.kind) {
    case 'boolean':
      return value === undefined ? (field.initial ?? false) : value === true;
    case 'lines':
    case 'choices':
      return Array.isArray(value) ? value.map(String) : ((field.initial as string[] | undefined) ?? []);
    default:
      return value === undefined || value === null ? ((field.initial as string | undefined) ?? '') : String(value);
  }
}

/** The API's value of a field, from the form. */
export function apiValue(field: ProjectField, value: FormValue): unknown {
  switch (field.kind) {
    case 'boolean':
      return value === true;
    case 'lines':
      return (typeof value === 'string' ? value.split('\n') : (value as string[])).map((line) => line.trim()).filter(Boolean);
    case 'choices':
      return value;
    case 'seconds': {
      const text = String(value).trim();
      return text === '' ? null : /^\d+$/.test(text) ? Number(text) : text;
    }
    case 'nullable-text': {
      const text = String(value).trim();
      return text === '' ? null : text;
    }
    default:
      return String(value).trim();
  }
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The field an API detail ("redirect_uris: …", "body/name must …") names, if any. */
export function fieldOfDetail(detail: string | undefined, names: readonly string[]): string | undefined {
  if (detail === undefined) return undefined;
  return detail.split(/[^a-z_]+/).find((word) => names.includes(word));
}
