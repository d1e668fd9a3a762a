// The stylesheet of the hosted pages, served at /assets/gatehouse.css; its colours are also what
// a project's brand colour is measured against (src/pages/brand.ts).
/**
 * The one stylesheet of the hosted pages (docs/decisions/0082): light and dark by
 * prefers-color-scheme, each pair of colours at least 4.5:1 (text) or 3:1 (borders, focus
 * rings) as test/pages-design.test.ts computes. --accent / --on-accent are the brand colour
 * and its button text; a project's brand stylesheet overrides them.
 */
export const STYLESHEET = `:root {
  color-scheme: light dark;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.5;
  --page: #f3f4f6; --card: #ffffff; --text: #111827; --muted: #4b5563; --border: #6b7280; --rule: #e5e7eb;
  --accent: #1d4ed8; --on-accent: #ffffff; --link: #1d4ed8; --error: #b91c1c; --ok: #166534; --focus: #1d4ed8;
}
@media (prefers-color-scheme: dark) {
  :root {
    --page: #0b0f17; --card: #161b26; --text: #e5e7eb; --muted: #a7afbd; --border: #8b93a3; --rule: #2a3140;
    --accent: #93b4fd; --on-accent: #0b0f17; --link: #93b4fd; --error: #fca5a5; --ok: #86efac; --focus: #93b4fd;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { background: var(--page); color: var(--text); }
[hidden] { display: none !important; }
body { margin: 0; min-height: 100vh; display: flex; justify-content: center; align-items: flex-start; padding: 2rem 1rem; background: var(--page); overflow-wrap: anywhere; }
main.card { width: 100%; max-width: 26rem; min-width: 0; background: var(--card); border: 1px solid var(--rule); border-radius: 0.75rem; padding: 1.75rem 1.5rem; box-shadow: 0 1px 3px rgb(0 0 0 / 0.08); }
.brand { display: flex; align-items: center; gap: 0.75rem; margin-bottom: 1rem; font-weight: 600; color: var(--muted); }
.logo { width: 2.5rem; height: 2.5rem; object-fit: contain; border-radius: 0.375rem; }
h1 { font-size: 1.375rem; line-height: 1.3; margin: 0 0 1rem; }
h2 { font-size: 1rem; margin: 0 0 0.5rem; }
p { margin: 0.5rem 0; }
section { border-top: 1px solid var(--rule); padding: 1rem 0 1.25rem; }
h1 + section { border-top: 0; padding-top: 0; }
label { display: block; margin-top: 0.75rem; margin-bottom: 0.25rem; font-weight: 600; font-size: 0.9375rem; }
input, select, textarea { display: block; width: 100%; max-width: 100%; padding: 0.625rem 0.75rem; font: inherit; font-size: 1rem; color: var(--text); background: var(--card); border: 1px solid var(--border); border-radius: 0.5rem; }
button { display: block; width: 100%; margin-top: 1rem; padding: 0.6875rem 1rem; font: inherit; font-size: 1rem; font-weight: 600; color: var(--on-accent); background: var(--accent); border: 1px solid var(--accent); border-radius: 0.5rem; cursor: pointer; }
button.secondary { color: var(--link); background: transparent; border-color: var(--border); }
ul.providers { list-style: none; margin: 0; padding: 0; }
a.provider { display: block; margin-top: 1rem; padding: 0.6875rem 1rem; font-weight: 600; text-align: center; text-decoration: none; color: var(--link); border: 1px solid var(--border); border-radius: 0.5rem; }
a { color: var(--link); text-underline-offset: 0.15em; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.error { color: var(--error); font-weight: 600; }
.hint, .status { color: var(--muted); font-size: 0.9375rem; }
.aside { margin: 0.5rem 0 0; text-align: right; font-size: 0.9375rem; }
.register-link, .back { margin-top: 1.25rem; text-align: center; }
.notice { border-left: 4px solid var(--ok); padding: 0.25rem 0.75rem; font-weight: 600; }
.sessions { list-style: none; padding: 0; }
.sessions li { border-top: 1px solid var(--rule); padding: 0.5rem 0; }
.inline { display: inline; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 30rem) {
  body { padding: 0; }
  main.card { max-width: none; min-height: 100vh; border: 0; border-radius: 0; box-shadow: none; padding: 1.25rem 1rem; }
}
`;
