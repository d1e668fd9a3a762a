// gatehouse session list | end (a project's sessions: refresh chains) and
// gatehouse browser-session list | end (single sign-on, docs/sso.md).
import { CommandFailed, listPages, nextPageLine, PAGING_DETAILS, PAGING_OPTIONS, requireProject, requireUser, stringOption, table, type Command } from '../command.ts';

export const sessionList: Command = {
  name: 'session list',
  routes: ['GET /admin/projects/:id/sessions'],
  summary: "List a project's live sessions (one per sign-in, with its chain of refresh tokens), newest first.",
  usage: 'gatehouse session list --project ID [--limit N] [--cursor CURSOR]',
  details: ['Options:', '  --project ID             the project', ...PAGING_DETAILS, 'Without --limit or --cursor, every live session.'].join('\n'),
  required: ['project'],
  options: { project: { type: 'string' }, ...PAGING_OPTIONS },
  async run({ values, out, services }) {
    const projectId = stringOption(values, 'project', true);
    await requireProject(services, projectId);
    const { items: sessions, next_cursor } = await listPages(values, (page) => services.sessions.listActivePage(projectId, page));
    out.result(
      { sessions, next_cursor },
      sessions.length === 0
        ? `no live sessions in ${projectId}`
        : [
            table(['ID', 'SUBJECT', 'METHOD', 'CREATED', 'EXPIRES'], sessions.map((s) => [s.id, s.subject, s.method, s.created_at, s.expires_at])),
            ...nextPageLine(next_cursor),
          ].join('\n'),
    );
  },
};

export const sessionEnd: Command = {
  name: 'session end',
  routes: ['DELETE /admin/sessions/:id'],
  summary: 'End a session: its refresh tokens answer "Invalid refresh token", its access tokens are refused by the admin API and /userinfo.',
  usage: 'gatehouse session end SESSION_ID',
  details: 'SESSION_ID: the id `session list` shows, or the sid of the session\'s tokens. Ending an ended session changes nothing.\nAn id that begins with "-" (only sessions made before December 2026 have one) goes after --: gatehouse session end -- -Xy…',
  positionals: ['SESSION_ID'],
  async run({ positionals, out, services, audit }) {
    const handle = positionals[0] ?? '';
    const session = await services.sessions.findByHandle(handle);
    if (!session) throw new CommandFailed(`no session ${handle}`);
    const ended = await services.sessions.revokeStored(session.id);
    if (ended) {
      await audit('admin.session.ended', { projectId: session.project_id, detail: { session_id: session.id, session_subject: session.subject } });
    }
    out.result({ id: handle, project_id: session.project_id, ended: true, already_ended: !ended }, ended ? `ended session ${handle} in ${session.project_id}` : `session ${handle} had ended already`);
  },
};

export const browserSessionList: Command = {
  name: 'browser-session list',
  routes: ['GET /admin/users/:id/browser-sessions'],
  summary: "List an account's live browser sessions (where it is signed in for single sign-on), newest first.",
  usage: 'gatehouse browser-session list --user USER_ID_OR_EMAIL',
  details: ['Options:', '  --user USER_ID_OR_EMAIL  the account, by id or email'].join('\n'),
  required: ['user'],
  options: { user: { type: 'string' } },
  async run({ values, out, services }) {
    const user = await requireUser(services, stringOption(values, 'user', true));
    const sessions = await services.browserSessions.listForUser(user.id);
    out.result(
      { browser_sessions: sessions },
      sessions.length === 0
        ? `${user.email} is signed in in no browser`
        : table(
            ['ID', 'SIGNED IN', 'AMR', 'LAST USED', 'IP', 'USER AGENT'],
            sessions.map((s) => [s.id, s.auth_time, s.amr.join(' '), s.last_used_at, s.ip ?? '', s.user_agent ?? '']),
          ),
    );
  },
};

export const browserSessionEnd: Command = {
  name: 'browser-session end',
  routes: ['DELETE /admin/browser-sessions/:id'],
  summary: 'End a browser session: that browser is signed out (single sign-on no longer recognises it).',
  usage: 'gatehouse browser-session end BROWSER_SESSION_ID',
  positionals: ['BROWSER_SESSION_ID'],
  async run({ positionals, out, services, audit }) {
    const id = positionals[0] ?? '';
    const session = await services.browserSessions.find(id);
    if (!session) throw new CommandFailed(`no live browser session ${id}`);
    if (await services.browserSessions.end(session.id)) {
      await audit('admin.browser_session.ended', { detail: { browser_session_id: session.id, user_id: session.userId } });
    }
    out.result({ id: session.id, user_id: session.userId, ended: true }, `ended browser session ${session.id}`);
  },
};
