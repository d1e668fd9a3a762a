// The console's building blocks: loading a resource, acknowledging a change, showing an API error
// next to what caused it, confirming a destructive action, a secret shown once with a copy button.
import type { ButtonHTMLAttributes, ComponentChildren, JSX } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Loads `load()` now and whenever `keys` change; `reload` loads again (after a change). */
export function useLoad<T>(load: () => Promise<T>, keys: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...keys, round]);
  return { ...state, reload: useCallback(() => setRound((r) => r + 1), []) };
}

const Acknowledge = createContext<(text: string) => void>(() => {});

/** The live region every change is acknowledged in (read out by screen readers). */
export function AcknowledgementArea({ children }: { children: ComponentChildren }) {
  const [text, setText] = useState('');
  const [round, setRound] = useState(0);
  const say = useCallback((next: string) => {
    setText(next);
    setRound((r) => r + 1);
  }, []);
  return (
    <Acknowledge.Provider value={say}>
      <div class="acknowledgement" role="status" aria-live="polite">
        {text !== '' ? (
          <p class="notice" key={round}>
            {text}
          </p>
        ) : null}
      </div>
      {children}
    </Acknowledge.Provider>
  );
}

export function useAcknowledge(): (text: string) => void {
  return useContext(Acknowledge);
}

/** An API error in words, where it happened. */
export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert" id={id}>
      {messageOf(error)}
    </p>
  );
}

/**
 * Runs a change: while it runs the button is busy; its error is shown next to it; success is
 * acknowledged. Answers [run, busy, error, clearError].
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<string | undefined | void>): [(...args: A) => Promise<boolean>, boolean, unknown, () => void] {
  const acknowledge = useAcknowledge();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      const done = await action(...args);
      if (typeof done === 'string') acknowledge(done);
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error, () => setError(undefined)];
}

export function Loading({ what }: { what: string }) {
  return <p class="status">Loading {what}…</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** What a list shows: loading, its error, its empty state, or the list. */
export function Listing<T>({ loaded, what, empty, children }: { loaded: Loaded<T[]>; what: string; empty: ComponentChildren; children: (items: T[]) => ComponentChildren }) {
  if (loaded.error !== undefined) return <ErrorText error={loaded.error} />;
  if (loaded.data === undefined) return <Loading what={what} />;
  if (loaded.data.length === 0) return <Empty>{empty}</Empty>;
  return <>{children(loaded.data)}</>;
}

/** A table that scrolls sideways on a narrow screen, reachable by keyboard. */
export function Table({ label, head, children }: { label: string; head: string[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>
        <caption class="visually-hidden">{label}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement>;

export function Button(props: ButtonProps & { busy?: boolean }) {
  const { busy, children, class: className, ...rest } = props;
  return (
    <button type="button" class={`button ${className ?? ''}`} disabled={busy === true || props.disabled === true} aria-busy={busy === true ? 'true' : undefined} {...rest}>
      {children}
    </button>
  );
}

/**
 * A destructive action behind a confirmation: the first press asks, the second does it. With
 * `typed`, the confirmation waits until that text (a project's id) is typed.
 */
export function Confirm({ label, question, confirmLabel, typed, action, class: className }: { label: string; question: string; confirmLabel?: string; typed?: string; action: () => Promise<string | undefined | void>; class?: string }) {
  const [asking, setAsking] = useState(false);
  const [text, setText] = useState('');
  const [run, busy, error] = useAction(action);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const id = useRef(`confirm-${Math.random().toString(36).slice(2)}`).current;
  useEffect(() => {
    if (asking) (typed !== undefined ? inputRef.current : confirmRef.current)?.focus();
  }, [asking, typed]);
  if (!asking) {
    return (
      <Button class={`danger ${className ?? ''}`} onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  }
  const ready = typed === undefined || text === typed;
  return (
    <div class="confirm" role="group" aria-labelledby={`${id}-q`}>
      <p id={`${id}-q`}>{question}</p>
      {typed !== undefined ? (
        <>
          <label for={`${id}-typed`}>Type {typed} to confirm</label>
          <input id={`${id}-typed`} ref={inputRef} value={text} autocomplete="off" spellcheck={false} onInput={(e) => setText(e.currentTarget.value)} />
        </>
      ) : null}
      <div class="actions">
        <button
          type="button"
          class="button danger"
          ref={confirmRef}
          disabled={!ready || busy}
          onClick={async () => {
            if (await run()) setAsking(false);
          }}
        >
          {confirmLabel ?? label}
        </button>
        <Button class="secondary" onClick={() => setAsking(false)}>
          Cancel
        </Button>
      </div>
      <ErrorText error={error} />
    </div>
  );
}

/** A secret the server shows this once, with a copy button. */
export function SecretOnce({ label, value, onDone }: { label: string; value: string; onDone?: () => void }) {
  const [copied, setCopied] = useState(false);
  const id = useRef(`secret-${Math.random().toString(36).slice(2)}`).current;
  return (
    <div class="secret" role="group" aria-labelledby={id}>
      <p id={id}>
        <strong>{label}</strong> (shown this once: copy it now; only a hash is kept)
      </p>
      <code class="secret-value">{value}</code>
      <div class="actions">
        <Button
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(value);
            } catch {
              // A browser that refuses the clipboard: the value is still there to select.
            }
            setCopied(true);
          }}
        >
          {copied ? 'Copied' : `Copy ${label.toLowerCase()}`}
        </Button>
        {onDone ? (
          <Button class="secondary" onClick={onDone}>
            Done
          </Button>
        ) : null}
      </div>
      <p class="visually-hidden" role="status">
        {copied ? `${label} copied to the clipboard` : ''}
      </p>
    </div>
  );
}

/** Forward and back through a keyset-paged list (the cursors seen so far are the way back). */
export function usePaging(keys: unknown[]): { cursor: string | undefined; pager: (next: string | null | undefined) => JSX.Element | null } {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  useEffect(() => setCursors([undefined]), keys);
  const cursor = cursors[cursors.length - 1];
  return {
    cursor,
    pager: (next) =>
      next || cursors.length > 1 ? (
        <nav class="pager" aria-label="Pages">
          <Button class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </Button>
          <span class="status">Page {cursors.length}</span>
          <Button class="secondary" disabled={!next} onClick={() => next && setCursors((c) => [...c, next])}>
            Next page
          </Button>
        </nav>
      ) : null,
  };
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

/** A labelled field: its label, control, hint and error tied together for assistive technology. */
export function Field({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint !== undefined ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error !== undefined ? (
        <p class="error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function describedBy(id: string, hint?: string, error?: string): string | undefined {
  const ids = [hint !== undefined ? `${id}-hint` : '', error !== undefined ? `${id}-error` : ''].filter(Boolean).join(' ');
  return ids === '' ? undefined : ids;
}

/**
 * One text field of a form kept as a record of strings (webhooks, connections): labelled, with its
 * hint, and with the API's complaint when `culprit` (the field the error names) is this one.
 */
export function TextField<F extends Record<string, string>>(props: {
  form: F;
  setForm: (form: F) => void;
  name: keyof F & string;
  label: string;
  prefix: string;
  error: unknown;
  culprit: string | undefined;
  hint?: string;
  lines?: boolean;
  secret?: boolean;
}) {
  const { form, setForm, name, label, prefix, error, culprit, hint, lines = false, secret = false } = props;
  const id = `${prefix}-${name}`;
  const problem = culprit === name && error instanceof ApiError ? error.message : undefined;
  const control = {
    id,
    value: form[name],
    spellcheck: false,
    autocomplete: 'off',
    'aria-describedby': describedBy(id, hint, problem),
    'aria-invalid': problem !== undefined ? ('true' as const) : undefined,
    onInput: (e: { currentTarget: { value: string } }) => setForm({ ...form, [name]: e.currentTarget.value }),
  };
  return (
    <Field id={id} label={label} {...(hint !== undefined ? { hint } : {})} {...(problem !== undefined ? { error: problem } : {})}>
      {lines ? <textarea rows={3} {...control} /> : secret ? <input type="password" {...control} /> : <input type="text" {...control} />}
    </Field>
  );
}
