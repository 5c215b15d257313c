// One entry point for every report format.
import type { ReportData } from './build-report';
import { renderHtml, type HtmlOptions } from './render-html';
import { renderCsv, renderMarkdown, renderText } from './render-text-formats';

export const REPORT_FORMATS = ['text', 'html', 'md', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

export const REPORT_CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = {
  text: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export function renderReport(data: ReportData, format: ReportFormat, options: HtmlOptions = {}): string {
  switch (format) {
    case 'html':
      return renderHtml(data, options);
    case 'md':
      return renderMarkdown(data);
    case 'csv':
      return renderCsv(data);
    case 'json':
      return `${JSON.stringify(data, null, 2)}\n`;
    case 'text':
      return renderText(data);
  }
}
