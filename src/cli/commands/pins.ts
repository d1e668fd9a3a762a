// gatehouse pin create | list | revoke
import { MaxActivePins, NotFound } from '../../errors.ts';
import { MAX_ACTIVE_PINS, MAX_PIN_LABEL_LENGTH } from '../../pins/pins.ts';
import { explain, listPages, nextPageLine, PAGING_DETAILS, PAGING_OPTIONS, requireProject, stringOption, table, type Command } from '../command.ts';

export const pinCreate: Command = {
  name: 'pin create',
  routes: ['POST /admin/projects/:id/pins'],
  summary: `Create a shared PIN for a project (at most ${MAX_ACTIVE_PINS} active). The PIN is printed once; only a keyed hash is kept.`,
  usage: 'gatehouse pin create --project ID [--label LABEL]',
  details: ['Options:', '  --project ID    the project the PIN logs in to', `  --label LABEL   a note for people, at most ${MAX_PIN_LABEL_LENGTH} characters (e.g. "kiosk, front desk")`].join('\n'),
  required: ['project'],
  options: { project: { type: 'string' }, label: { type: 'string' } },
  async run({ values, out, services, audit }) {
    const projectId = stringOption(values, 'project', true);
    const created = await services.pins
      .create(projectId, stringOption(values, 'label'))
      .catch(explain([NotFound, `no project with id ${projectId}`], [MaxActivePins, `Max active PINs reached (${MAX_ACTIVE_PINS}): revoke one first`]));
    await audit('pin.created', { projectId, detail: { pin_id: created.id } });
    out.result(created, [`PIN: ${created.pin}`, `id: ${created.id}${created.label !== null ? `  label: ${created.label}` : ''}`, '(shown this once; only a keyed hash is kept)'].join('\n'));
  },
};

export const pinList: Command = {
  name: 'pin list',
  routes: ['GET /admin/projects/:id/pins'],
  summary: "List a project's PINs (never the PINs themselves).",
  usage: 'gatehouse pin list --project ID [--limit N] [--cursor CURSOR]',
  details: ['Options:', '  --project ID             the project', ...PAGING_DETAILS, 'Without --limit or --cursor, every PIN.'].join('\n'),
  required: ['project'],
  options: { project: { type: 'string' }, ...PAGING_OPTIONS },
  async run({ values, out, services }) {
    const projectId = stringOption(values, 'project', true);
    await requireProject(services, projectId);
    const { items: pins, next_cursor } = await listPages(values, (page) => services.pins.listPage(projectId, page));
    out.result(
      { pins, next_cursor },
      pins.length === 0
        ? 'no PINs'
        : [
            table(
              ['ID', 'LABEL', 'CREATED', 'REVOKED'],
              pins.map((p) => [p.id, p.label ?? '', p.created_at, p.revoked_at ?? '']),
            ),
            ...nextPageLine(next_cursor),
          ].join('\n'),
    );
  },
};

export const pinRevoke: Command = {
  name: 'pin revoke',
  routes: ['DELETE /admin/projects/:id/pins/:pin_id'],
  summary: 'Revoke a PIN: it stops logging in, and refresh tokens it obtained answer "PIN revoked".',
  usage: 'gatehouse pin revoke --project ID --pin PIN_ID',
  details: ['Options:', '  --project ID    the project', '  --pin PIN_ID    the id shown by `pin create` / `pin list` (not the PIN)'].join('\n'),
  required: ['project', 'pin'],
  options: { project: { type: 'string' }, pin: { type: 'string' } },
  async run({ values, out, services, audit }) {
    const projectId = stringOption(values, 'project', true);
    const pinId = stringOption(values, 'pin', true);
    await requireProject(services, projectId);
    const revoked = await services.pins.revoke(projectId, pinId).catch(explain([NotFound, `no PIN with id ${pinId} in project ${projectId}`]));
    if (revoked) await audit('pin.revoked', { projectId, detail: { pin_id: pinId } });
    out.result(
      { id: pinId, project_id: projectId, revoked: true, already_revoked: !revoked },
      revoked ? `revoked PIN ${pinId}` : `PIN ${pinId} was already revoked`,
    );
  },
};
