// Every type of audit event, in one list beside the error catalogue: what the audit log can say,
// visible in one screen. The admin API filters by these names (GET /admin/audit?type=…).

export const AUDIT_EVENT_TYPES = [
  // sign-in and registration (outcome success or failure, with a reason)
  'login.password',
  'login.pin',
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
  'admin.session.ended',
  'pin.created',
  'pin.revoked',
  'keys.rotated',
  // the mailbox of an unverified account was proven another way: its password and sessions went (H1)
  'account.unverified_credentials_cleared',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
