// Hash routes (#/projects/shop/members): the server serves one shell, and a reload or a link keeps
// the screen without the server knowing the console's screens.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** the path segments: ['projects', 'shop', 'members'] */
  parts: string[];
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** The href of a screen. */
export function href(parts: string[], query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== '') params.set(name, value);
  const search = params.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${search !== '' ? `?${search}` : ''}`;
}

export function go(parts: string[], query?: Record<string, string | undefined>): void {
  location.hash = href(parts, query);
}
