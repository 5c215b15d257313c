// The four pages of the web benchmark and where to find them: on the agent's own server,
// or on a server already in the guest (--web-target).
import { LoadOptionsError, parseHttpUrl } from '../load/options';

export const PAGES = ['static_small', 'static_large', 'cgi_small', 'cgi_large'] as const;
export type PageName = (typeof PAGES)[number];

export interface MazeQuery {
  readonly size: number;
  readonly seed: number;
}

/** The path and query of a page on any server that serves the site (see deploy/web/). */
export function pagePath(page: PageName, maze: MazeQuery): string {
  switch (page) {
    case 'static_small':
      return '/static/small';
    case 'static_large':
      return '/static/large';
    case 'cgi_small':
      return '/cgi-bin/env';
    case 'cgi_large':
      return `/cgi-bin/maze?size=${maze.size}&seed=${maze.seed}`;
  }
}

export function isPageName(name: string): name is PageName {
  return (PAGES as readonly string[]).includes(name);
}

/** Parsed --web-target values: a base URL for every page, and/or one URL per page. */
export interface WebTargets {
  /** Server root; pages are at their usual paths below it. */
  readonly base: URL | undefined;
  /** Full URLs of single pages, overriding the base. */
  readonly pages: Readonly<Partial<Record<PageName, URL>>>;
}

export class WebTargetError extends Error {
  override readonly name = 'WebTargetError';
}

export function isWebTargetError(err: unknown): err is WebTargetError {
  return err instanceof WebTargetError;
}

/**
 * Parses --web-target values: `URL` (a server root such as http://127.0.0.1:8080) or
 * `PAGE=URL` (e.g. cgi_small=http://127.0.0.1/cgi-bin/printenv). At most one root; each
 * page at most once.
 */
export function parseWebTargets(values: readonly string[]): WebTargets {
  let base: URL | undefined;
  const pages: Partial<Record<PageName, URL>> = {};
  for (const value of values) {
    const m = /^([a-z_]+)=(.*)$/.exec(value);
    try {
      if (m === null) {
        if (base !== undefined) throw new WebTargetError(`--web-target: only one server root may be given (${base.href} and ${value}); name pages as PAGE=URL`);
        base = parseHttpUrl(value, '--web-target');
        if (base.search !== '') throw new WebTargetError(`--web-target: a server root has no query: ${value}`);
        continue;
      }
      const name = m[1] as string;
      if (!isPageName(name)) throw new WebTargetError(`--web-target: unknown page "${name}" (pages: ${PAGES.join(', ')})`);
      if (pages[name] !== undefined) throw new WebTargetError(`--web-target: page ${name} given twice`);
      pages[name] = parseHttpUrl(m[2], `--web-target ${name}`);
    } catch (err: unknown) {
      if (err instanceof LoadOptionsError) throw new WebTargetError(err.message, { cause: err });
      throw err;
    }
  }
  return { base, pages };
}

/** The URL of `page` on the server at `base` (a root such as http://127.0.0.1:8080). */
export function pageUrl(base: string | URL, page: PageName, maze: MazeQuery): URL {
  const root = new URL(base);
  const prefix = root.pathname.replace(/\/+$/, '');
  return new URL(`${root.origin}${prefix}${pagePath(page, maze)}`);
}

/** Where `page` is to be loaded from under `targets`, or undefined when the agent's own server serves it. */
export function targetUrl(targets: WebTargets | undefined, page: PageName, maze: MazeQuery): URL | undefined {
  const own = targets?.pages[page];
  if (own !== undefined) return own;
  return targets?.base === undefined ? undefined : pageUrl(targets.base, page, maze);
}
