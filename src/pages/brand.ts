// A project's colour on its hosted pages (docs/decisions/0083, 0084): the primary button and the
// links take it in a colour scheme only where it keeps 4.5:1 (WCAG 2.2 AA for text) against what
// it sits on there, else that scheme's default accent. The pages allow no inline style (CSP
// style-src 'self'), so each colour has a small stylesheet of its own, /assets/brand/<rrggbb>.css,
// linked after the main one; its values follow from the colour alone, so it is cached for long.
import type { Project } from '../projects/projects.ts';
import type { PageBrand } from './render.ts';
import { STYLESHEET } from './stylesheet.ts';

export type Scheme = 'light' | 'dark';

/** The colours of one scheme of the main stylesheet that the brand colour meets. */
interface SchemeColours {
  card: string;
  onAccent: string;
  accent: string;
  link: string;
}

/** `rrggbb` in lower case: what the stylesheet's path names. */
export const BRAND_HEX = /^[0-9a-f]{6}$/;

function variable(block: string, name: string): string {
  const match = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{6})\\s*;`).exec(block);
  if (!match?.[1]) throw new Error(`the hosted pages' stylesheet sets no ${name} colour`);
  return match[1].toLowerCase();
}

function coloursOf(block: string): SchemeColours {
  return { card: variable(block, 'card'), onAccent: variable(block, 'on-accent'), accent: variable(block, 'accent'), link: variable(block, 'link') };
}

/** The main stylesheet's own colours, read from it: its first `:root` block, and the one inside the dark media query. */
function schemeColours(): Record<Scheme, SchemeColours> {
  const light = /:root\s*\{([^}]*)\}/.exec(STYLESHEET)?.[1];
  const dark = /@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{([^}]*)\}/.exec(STYLESHEET)?.[1];
  if (light === undefined || dark === undefined) throw new Error("the hosted pages' stylesheet has no light and dark colours");
  return { light: coloursOf(light), dark: coloursOf(dark) };
}

export const SCHEME_COLOURS = schemeColours();

/** WCAG 2.x relative luminance of `#rrggbb`. */
export function relativeLuminance(hex: string): number {
  const channels = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16) / 255);
  const [r = 0, g = 0, b = 0] = channels.map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.x contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

export const MIN_CONTRAST = 4.5;

/** What a brand colour becomes in one scheme: the button's background and the links' colour. */
export function brandColours(color: string, scheme: Scheme): { accent: string; link: string } {
  const own = SCHEME_COLOURS[scheme];
  const hex = color.toLowerCase();
  return {
    accent: contrastRatio(hex, own.onAccent) >= MIN_CONTRAST ? hex : own.accent,
    link: contrastRatio(hex, own.card) >= MIN_CONTRAST ? hex : own.link,
  };
}

function block(colours: { accent: string; link: string }): string {
  return `:root { --accent: ${colours.accent}; --link: ${colours.link}; }`;
}

/** The stylesheet of `rrggbb` (lower case, validated by the caller): both schemes said, so that neither inherits the other's. */
export function brandStylesheet(hex: string): string {
  const color = `#${hex}`;
  return `/* Gatehouse brand colour ${color} */
${block(brandColours(color, 'light'))}
@media (prefers-color-scheme: dark) {
  ${block(brandColours(color, 'dark'))}
}
`;
}

/** The path of a colour's stylesheet. */
export function brandStylesheetPath(color: string): string {
  return `/assets/brand/${color.slice(1).toLowerCase()}.css`;
}

/** What a project's pages show: its name, its logo and its colour when set. */
export function projectBrand(project: Pick<Project, 'name' | 'logo_url' | 'brand_color'>): PageBrand {
  return {
    name: project.name,
    ...(project.logo_url !== null ? { logoUrl: project.logo_url } : {}),
    ...(project.brand_color !== null ? { color: project.brand_color } : {}),
  };
}

/** The brand of project `id` when there is one (a page that belongs to a project only by a stored id). */
export async function brandOfProject(projects: { find(id: string): Promise<{ project: Project } | undefined> }, id: string | undefined): Promise<PageBrand | undefined> {
  if (id === undefined) return undefined;
  const record = await projects.find(id);
  return record ? projectBrand(record.project) : undefined;
}
