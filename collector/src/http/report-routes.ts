// The report over HTTP: the page at GET /, the same report as files (/report.html, .md, .csv,
// .txt) and as JSON (/api/v1/report), all chosen by one query:
// ?baseline=&groups=&platform=&label=&host=&since=&until=
import { parseReportQuery } from '../query/parse-report-query';
import { buildReport } from '../report/build-report';
import { renderReport, REPORT_CONTENT_TYPES, type ReportFormat } from '../report/render-report';
import type { Store } from '../store/store';
import { HttpError, type Route } from './http-server';

/**
 * The page runs no script and loads nothing: say so to the browser too, so that a string a
 * guest sent could not run or fetch anything even if escaping ever failed.
 */
const PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function reportRoute(store: Store, path: string, name: string, format: ReportFormat, options: { interactive?: boolean; download?: string } = {}): Route {
  return {
    method: 'GET',
    path,
    name,
    async handle({ url }) {
      const query = parseReportQuery(url.searchParams);
      if (!query.ok) throw new HttpError(400, query.error);
      const data = await buildReport(store, query.value);
      const headers: Record<string, string> = { 'x-content-type-options': 'nosniff' };
      if (format === 'html') headers['content-security-policy'] = PAGE_POLICY;
      if (options.download !== undefined) headers['content-disposition'] = `attachment; filename="${options.download}"`;
      // JSON goes out as a value (the server serializes it); the others as finished text.
      return format === 'json'
        ? { status: 200, body: data, headers }
        : { status: 200, body: renderReport(data, format, { interactive: options.interactive }), contentType: REPORT_CONTENT_TYPES[format], headers };
    },
  };
}

/** The report's routes, for createHttpApi's extra routes. */
export function reportRoutes(store: Store): Route[] {
  return [
    reportRoute(store, '/', 'report-page', 'html', { interactive: true }),
    reportRoute(store, '/api/v1/report', 'report-json', 'json'),
    reportRoute(store, '/report.html', 'report-html', 'html', { download: 'guestbench-report.html' }),
    reportRoute(store, '/report.md', 'report-md', 'md', { download: 'guestbench-report.md' }),
    reportRoute(store, '/report.csv', 'report-csv', 'csv', { download: 'guestbench-report.csv' }),
    reportRoute(store, '/report.txt', 'report-txt', 'text'),
  ];
}
