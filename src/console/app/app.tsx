// The console: signs in (code + PKCE through the `console` project), checks the admin flag with a
// first admin request, then shows the screen the address names.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api.ts';
import { finishSignIn, forgetTokens, identity, logoutUrl, onSignedOut, startSignIn } from './auth.ts';
import { AuditEventScreen, AuditScreen } from './audit.tsx';
import { ConnectionScreen, ConnectionsScreen } from './connections.tsx';
import { KeysScreen } from './keys.tsx';
import { NewProjectScreen, ProjectScreen, ProjectsScreen } from './projects.tsx';
import { href, useRoute, type Route } from './router.ts';
import { AcknowledgementArea, messageOf } from './ui.tsx';
import { NewUserScreen, UsersScreen, UserScreen } from './users.tsx';
import { WebhookScreen, WebhooksScreen } from './webhooks.tsx';

type Phase = { name: 'starting' } | { name: 'signed-out' } | { name: 'failed'; message: string } | { name: 'not-admin' } | { name: 'ready' };

const SECTIONS = [
  ['projects', 'Projects'],
  ['users', 'Users'],
  ['audit', 'Audit log'],
  ['keys', 'Signing keys'],
  ['webhooks', 'Webhooks'],
  ['connections', 'Connections'],
] as const;

function focusHeading(): void {
  const heading = document.querySelector<HTMLElement>('main h1');
  heading?.setAttribute('tabindex', '-1');
  heading?.focus();
}

async function begin(): Promise<Phase> {
  if (location.pathname === '/console/callback') {
    try {
      await finishSignIn();
    } catch (error) {
      return { name: 'failed', message: messageOf(error) };
    }
  } else if (new URLSearchParams(location.search).get('state') === 'signed-out') {
    history.replaceState(null, '', '/console');
    return { name: 'signed-out' };
  } else {
    await startSignIn();
    return { name: 'starting' };
  }
  try {
    await get('/admin/projects', { limit: 1 });
    return { name: 'ready' };
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { name: 'not-admin' };
    return { name: 'failed', message: messageOf(error) };
  }
}

function SignOut() {
  return (
    <a class="button secondary" href={logoutUrl()} onClick={() => forgetTokens()}>
      Sign out
    </a>
  );
}

/** A card of its own (signing in, signed out, not an admin); `settled` once the console is waiting on the person. */
function Card({ title, children, settled = true }: { title: string; children: preact.ComponentChildren; settled?: boolean }) {
  return (
    <main class={settled ? 'card settled' : 'card'} id="main">
      <h1>{title}</h1>
      {children}
    </main>
  );
}

function Screen({ route }: { route: Route }) {
  const [section = 'projects', id, tab = ''] = route.parts;
  if (section === 'projects') {
    if (id === 'new') return <NewProjectScreen />;
    if (id !== undefined) return <ProjectScreen key={id} id={id} tab={tab} />;
    return <ProjectsScreen key={route.query.get('search') ?? ''} search={route.query.get('search') ?? ''} />;
  }
  if (section === 'users') {
    if (id === 'new') return <NewUserScreen />;
    if (id !== undefined) return <UserScreen key={id} id={id} />;
    return <UsersScreen key={route.query.get('email') ?? ''} email={route.query.get('email') ?? ''} />;
  }
  if (section === 'audit') {
    if (id !== undefined) return <AuditEventScreen id={id} />;
    return <AuditScreen key={route.query.toString()} query={route.query} />;
  }
  if (section === 'keys') return <KeysScreen />;
  if (section === 'webhooks') return id !== undefined ? <WebhookScreen key={id} id={id} /> : <WebhooksScreen />;
  if (section === 'connections') return id !== undefined ? <ConnectionScreen key={id} id={id} /> : <ConnectionsScreen />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no such screen. <a href={href(['projects'])}>Go to the projects.</a>
      </p>
    </section>
  );
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ name: 'starting' });
  const [ended, setEnded] = useState(false);
  const route = useRoute();
  useEffect(() => {
    void begin().then(setPhase);
    return onSignedOut(() => setEnded(true));
  }, []);
  useEffect(() => {
    // A new screen: its heading is where a keyboard or screen reader user goes on.
    if (phase.name === 'ready') focusHeading();
  }, [route.parts.join('/'), phase.name]);

  if (phase.name === 'starting') {
    return (
      <Card title="Gatehouse console" settled={false}>
        <p class="status">Signing in…</p>
      </Card>
    );
  }
  if (phase.name === 'signed-out' || phase.name === 'failed') {
    return (
      <Card title={phase.name === 'signed-out' ? 'You are signed out' : 'Sign-in did not finish'}>
        {phase.name === 'failed' ? (
          <p class="error" role="alert">
            {phase.message}
          </p>
        ) : (
          <p>You are signed out of the Gatehouse console.</p>
        )}
        <button type="button" class="button" onClick={() => void startSignIn()}>
          Sign in to the console
        </button>
      </Card>
    );
  }
  if (phase.name === 'not-admin') {
    const who = identity()?.email;
    return (
      <Card title="You are not an administrator">
        <p>{who !== undefined ? `${who} is signed in, but` : 'This account is signed in, but'} it does not have the admin flag: the console is only for administrators.</p>
        <SignOut />
      </Card>
    );
  }
  const [section = 'projects'] = route.parts;
  const who = identity()?.email;
  return (
    <div class="console-frame">
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        focusHeading();
      }}>
        Skip to the content
      </a>
      <header class="bar">
        <p class="product">Gatehouse console</p>
        <nav aria-label="Console">
          <ul>
            {SECTIONS.map(([name, label]) => (
              <li key={name}>
                <a href={href([name])} aria-current={section === name ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {who !== undefined ? <span class="muted">{who}</span> : null}
          <SignOut />
        </div>
      </header>
      <AcknowledgementArea>
        {ended ? (
          <div class="banner" role="alert">
            <p>Your console session has ended (signed out elsewhere, or expired). What you typed is still here; sign in again to send it.</p>
            <button type="button" class="button" onClick={() => void startSignIn()}>
              Sign in again
            </button>
          </div>
        ) : null}
        <main id="main" class="screen">
          <Screen route={route} />
        </main>
      </AcknowledgementArea>
    </div>
  );
}
