// Every type of audit event, in one list beside the error catalogue: what the audit log can say,
// visible in one screen. The admin API filters by these names (GET /admin/audit?type=…).

export const AUDIT_EVENT_TYPES = [
  // sign-in and registration (outcome success or failure, with a reason)
  'login.password',
  'login.pin',
  // a sign-in at /authorize with the browser session of an earlier one (single sign-on)
  'login.browser_session',
  // RP-initiated logout: a browser session and the project sessions started from it ended
  'logout',
  'register',
  'magic_link.sent',
  'magic_link.used',
  // a spent refresh token came back: its session was ended (RFC 9700 §4.14.2)
  'refresh_token.reuse_detected',
  // changes made through the admin API or the command line
  'admin.project.created',
  'admin.project.updated',
  'admin.project.deleted',
  'admin.project.secret_rotated',
  'admin.member.added',
  'admin.member.removed',
  'admin.member.blocked',
  'admin.member.unblocked',
  'admin.user.created',
  'admin.user.updated',
  'admin.user.deleted',
  // gatehouse users import: one summary event per run (docs/accounts-import.md)
  'admin.users.imported',
  'admin.session.ended',
  'admin.browser_session.ended',
  // the console's gaps in the admin API (docs/admin-api.md): every session of a user ended; a reset link mailed
  'admin.user.sessions_ended',
  'admin.user.password_reset_sent',
  'pin.created',
  'pin.revoked',
  'keys.rotated',
  // a client named itself at /token or /revoke with a missing or wrong secret (never the secret)
  'client.authentication_failed',
  // a request refused with 429: one event per limit, address and window, not one per request
  'rate_limit.refused',
  // the admin API refused a request: 401 (no valid console token) or 403 (not an admin)
  'admin.access_refused',
  // tokens: a code exchanged, a used code presented again (its session ended), a session ended
  // through /revoke, a refresh (only with GATEHOUSE_AUDIT_REFRESHES=true)
  'token.code_exchanged',
  'token.code_replayed',
  'token.revoked',
  'token.refreshed',
  // machines.md: a project got a token of its own (grant_type=client_credentials)
  'token.client_credentials',
  // signing keys and the PIN key sealed under GATEHOUSE_SECRET_KEY (`gatehouse keys encrypt`)
  'keys.encrypted',
  // the mailbox of an unverified account was proven another way: its password and sessions went (H1)
  'account.unverified_credentials_cleared',
  // signing keys: a rotation's keys withdrawn at once (rotate --immediately, for a leaked key)
  'keys.withdrawn',
  // the account page (accounts.md): a person changed their profile or password, or ended their own sessions
  'profile.updated',
  'password.changed',
  'session.ended_by_user',
  // accounts.md: a reset link mailed to an existing account; a password set with a reset link (every session of the account ended); an email
  // proven with a verification link; an email change asked for (link mailed to the new address), done
  'password.reset_requested',
  'password.reset',
  'email.verified',
  'email.change_requested',
  'email.changed',
  // mfa.md: a second factor added or removed by its person (the account page); a wrong code at the second step or on
  // the account page; a recovery code used; every second factor of a person removed through the admin API
  'mfa.added',
  'mfa.removed',
  'mfa.failed',
  'mfa.recovery_code_used',
  'mfa.reset_by_admin',
  // mfa.md: a passkey added, renamed or removed by its person; a sign-in with a passkey alone (outcome success or failure)
  'passkey.added',
  'passkey.renamed',
  'passkey.removed',
  'login.passkey',
  // webhooks (docs/webhooks.md): added, changed, removed, given a new secret through the admin API
  'admin.webhook.created',
  'admin.webhook.updated',
  'admin.webhook.deleted',
  'admin.webhook.secret_rotated',
  // federation.md: upstream OpenID providers added, changed, removed through the admin API; a sign-in through one
  // (success, or failure and why); a provider's account linked to an account, or unlinked from it
  'connection.created',
  'connection.updated',
  'connection.deleted',
  'login.federated',
  'identity.linked',
  'identity.unlinked',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
