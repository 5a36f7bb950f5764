// Small shared pieces: headings, cards, badges, loading and error states,
// pagination, and the formatting of dates and counts.
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-xl font-semibold tracking-tight sm:text-2xl">{title}</h1>
      {children}
    </div>
  );
}

export function Card({ children, className = '' }: { children: ReactNode; className?: string }) {
  return (
    <section
      className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900 ${className}`}
    >
      {children}
    </section>
  );
}

export type Tone = 'green' | 'red' | 'amber' | 'blue' | 'slate';

const TONES: Record<Tone, string> = {
  green: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200',
  red: 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200',
  amber: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-200',
  blue: 'bg-sky-100 text-sky-800 dark:bg-sky-900/50 dark:text-sky-200',
  slate: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
};

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return (
    <span className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ${TONES[tone]}`}>
      {children}
    </span>
  );
}

const STATE_TONE: Record<string, Tone> = {
  // jobs and steps
  queued: 'slate',
  pending: 'slate',
  running: 'blue',
  succeeded: 'green',
  failed: 'red',
  dead: 'red',
  cancelled: 'slate',
  // sites, tenants
  active: 'green',
  suspended: 'amber',
  // certificates
  valid: 'green',
  failing: 'amber',
  expired: 'red',
  // nodes
  trusted: 'green',
  revoked: 'red',
};

/** A state, status or outcome word with its colour. */
export function StateBadge({ value }: { value: string }) {
  return <Badge tone={STATE_TONE[value] ?? 'slate'}>{value}</Badge>;
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p role="status" className="py-6 text-sm text-slate-500 dark:text-slate-400">
      {label}
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const message =
    error instanceof ApiError
      ? error.code === 'forbidden'
        ? `Not allowed: ${error.message}`
        : error.message
      : error instanceof Error
        ? error.message
        : 'Something went wrong.';
  return (
    <div
      role="alert"
      className="my-3 flex flex-wrap items-center justify-between gap-2 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950/60 dark:text-red-200"
    >
      <span>{message}</span>
      {retry && (
        <button type="button" className="btn-secondary" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="py-6 text-center text-sm text-slate-500 dark:text-slate-400">{children}</p>;
}

export function Pagination({
  offset,
  limit,
  total,
  onOffset,
}: {
  offset: number;
  limit: number;
  total: number;
  onOffset: (offset: number) => void;
}) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav aria-label="Pagination" className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm">
      <p className="text-slate-600 dark:text-slate-400" aria-live="polite">
        {first}–{last} of {total}
      </p>
      <div className="flex gap-2">
        <button
          type="button"
          className="btn-secondary"
          disabled={offset === 0}
          onClick={() => onOffset(Math.max(0, offset - limit))}
        >
          Previous
        </button>
        <button
          type="button"
          className="btn-secondary"
          disabled={offset + limit >= total}
          onClick={() => onOffset(offset + limit)}
        >
          Next
        </button>
      </div>
    </nav>
  );
}

/**
 * One page of a list endpoint as a table: the error with a retry, loading,
 * the empty message, the rows, and the pagination under the card.
 */
export function PagedTable<T>({
  q,
  empty,
  head,
  row,
  page,
}: {
  q: UseQueryResult<{ items: T[]; total: number }>;
  empty: ReactNode;
  head: ReactNode;
  row: (item: T) => ReactNode;
  page?: { offset: number; limit: number; onOffset: (offset: number) => void };
}) {
  return (
    <>
      <Card className="p-0 sm:p-0">
        {q.isError && <ErrorBox error={q.error} retry={() => void q.refetch()} />}
        {q.isPending ? (
          <Loading />
        ) : q.data && q.data.items.length === 0 ? (
          <Empty>{empty}</Empty>
        ) : q.data ? (
          <div className="overflow-x-auto">
            <table className="table" aria-busy={q.isFetching}>
              <thead>
                <tr>{head}</tr>
              </thead>
              <tbody>{q.data.items.map(row)}</tbody>
            </table>
          </div>
        ) : null}
      </Card>
      {page && q.data && <Pagination offset={page.offset} limit={page.limit} total={q.data.total} onOffset={page.onOffset} />}
    </>
  );
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(ts: string | null | undefined): string {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : dateFmt.format(d);
}

/** A timestamp shown in local time, with the exact UTC value on hover. */
export function When({ ts }: { ts: string | null | undefined }) {
  if (!ts) return <span className="text-slate-400">—</span>;
  return (
    <time dateTime={ts} title={ts}>
      {formatDate(ts)}
    </time>
  );
}

export function duration(from: string | null | undefined, to: string | null | undefined): string | null {
  if (!from || !to) return null;
  const ms = new Date(to).getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms) || ms < 0) return null;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A definition list row for detail pages. */
export function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-1 gap-1 py-2 sm:grid-cols-3 sm:gap-4">
      <dt className="text-sm font-medium text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="break-words text-sm sm:col-span-2">{children}</dd>
    </div>
  );
}
