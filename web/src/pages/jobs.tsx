// Jobs: the list (state and kind filters, server-side pages) and one job
// with its steps and log, refreshed every second while it is queued or
// running; and the live progress of a job a form just started.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../api/client';
import { JOB_STATES, type Job, type JobLogLine, type JobStep } from '../api/types';
import { useListParams } from '../components/listParams';
import { SelectFilter } from '../components/SearchBox';
import { Card, ErrorBox, Loading, PageHeader, PagedTable, Row, StateBadge, When, duration } from '../components/ui';

export function JobsList() {
  const { offset, limit, filters, setFilter, setOffset } = useListParams(['state', 'kind'] as const);
  const kinds = useQuery({
    queryKey: ['jobs', 'kinds'],
    queryFn: ({ signal }) => api.get('/api/v1/jobs/kinds', { signal }),
    staleTime: Infinity,
  });
  const state = (JOB_STATES as readonly string[]).includes(filters.state) ? (filters.state as Job['state']) : undefined;
  const q = useQuery({
    queryKey: ['jobs', 'list', filters, offset],
    queryFn: ({ signal }) =>
      api.get('/api/v1/jobs', { query: { state, kind: filters.kind || undefined, limit, offset }, signal }),
    placeholderData: keepPreviousData,
    // Keep the list moving while something is in flight.
    refetchInterval: (query) =>
      query.state.data?.items.some((j) => j.state === 'queued' || j.state === 'running') ? 3000 : false,
  });

  return (
    <div>
      <PageHeader title="Jobs" />
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SelectFilter label="State" value={filters.state} options={JOB_STATES} onChange={(v) => setFilter('state', v)} />
        <SelectFilter
          label="Kind"
          value={filters.kind}
          options={(kinds.data ?? []).map((k) => k.kind)}
          onChange={(v) => setFilter('kind', v)}
        />
      </div>
      <PagedTable
        q={q}
        empty="No jobs{state ? ` in state ${state}` : ''}." page={{ offset, limit, onOffset: setOffset }}
        head={
          <>
            <th scope="col">Kind</th>
            <th scope="col">State</th>
            <th scope="col" className="hidden sm:table-cell">
            Created
            </th>
            <th scope="col" className="hidden md:table-cell">
            Took
            </th>
            <th scope="col" className="hidden lg:table-cell">
            Attempts
            </th>
          </>
        }
        row={(j) => (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/jobs/${j.id}`} className="link" data-testid="job-link">
                        {j.kind}
                      </Link>
                      {j.last_error && (
                        <span className="block max-w-[18rem] truncate text-xs text-red-700 dark:text-red-400" title={j.last_error}>
                          {j.last_error}
                        </span>
                      )}
                    </td>
                    <td>
                      <StateBadge value={j.state} />
                    </td>
                    <td className="hidden whitespace-nowrap sm:table-cell">
                      <When ts={j.created_at} />
                    </td>
                    <td className="hidden md:table-cell">{duration(j.started_at, j.finished_at) ?? '—'}</td>
                    <td className="hidden tabular-nums lg:table-cell">
                      {j.attempts}/{j.max_attempts}
                    </td>
                  </tr>
        )}
      />
    </div>
  );
}

const LIVE: readonly Job['state'][] = ['queued', 'running'];

function Step({ step }: { step: JobStep }) {
  const took = duration(step.started_at, step.finished_at);
  return (
    <li className="rounded-md border border-slate-200 p-3 dark:border-slate-800" data-testid="job-step">
      <div className="flex flex-wrap items-center gap-2">
        <span className="text-sm tabular-nums text-slate-500 dark:text-slate-400">{step.idx + 1}.</span>
        <span className="font-medium">{step.name}</span>
        <StateBadge value={step.state} />
        {took && <span className="text-xs text-slate-500 dark:text-slate-400">{took}</span>}
      </div>
      {step.error && <p className="mt-2 whitespace-pre-wrap break-words text-sm text-red-700 dark:text-red-400">{step.error}</p>}
      {step.artifact !== undefined && step.artifact !== null && (
        <details className="mt-2">
          <summary className="cursor-pointer text-sm text-slate-600 dark:text-slate-400">What the step produced</summary>
          <pre className="mt-2 max-h-96 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-950">
            {JSON.stringify(step.artifact, null, 2)}
          </pre>
        </details>
      )}
    </li>
  );
}

/** Log lines, fetched incrementally with `after` while the job is live. */
function useJobLog(id: string, live: boolean) {
  const [lines, setLines] = useState<JobLogLine[]>([]);
  const last = useRef(0);
  useEffect(() => {
    setLines([]);
    last.current = 0;
  }, [id]);
  const q = useQuery({
    queryKey: ['jobs', 'logs', id],
    queryFn: async ({ signal }) => {
      const got = await api.get('/api/v1/jobs/{id}/logs', {
        path: { id },
        query: { after: last.current || undefined, limit: 500 },
        signal,
      });
      if (got.length > 0) {
        last.current = got[got.length - 1]?.seq ?? last.current;
        setLines((prev) => {
          const seen = new Set(prev.map((l) => l.seq));
          return [...prev, ...got.filter((l) => !seen.has(l.seq))];
        });
      }
      return got.length;
    },
    refetchInterval: live ? 1000 : false,
    gcTime: 0,
  });
  return { lines, error: q.error, refetch: q.refetch, pending: q.isPending };
}

export function JobDetail() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const job = useQuery({
    queryKey: ['jobs', 'one', id],
    queryFn: ({ signal }) => api.get('/api/v1/jobs/{id}', { path: { id }, signal }),
    refetchInterval: (query) => (query.state.data && LIVE.includes(query.state.data.state) ? 1000 : false),
  });
  const live = job.data ? LIVE.includes(job.data.state) : false;
  const log = useJobLog(id, live);

  // One last log fetch when the job leaves queued/running.
  const wasLive = useRef(false);
  const refetchLog = log.refetch;
  useEffect(() => {
    if (wasLive.current && !live) void refetchLog();
    wasLive.current = live;
  }, [live, refetchLog]);

  const action = useMutation({
    mutationFn: (what: 'cancel' | 'retry') =>
      what === 'cancel'
        ? api.post('/api/v1/jobs/{id}/cancel', { path: { id } })
        : api.post('/api/v1/jobs/{id}/retry', { path: { id } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['jobs'] }),
  });

  if (job.isPending) return <Loading />;
  if (job.isError) return <ErrorBox error={job.error} retry={() => void job.refetch()} />;
  const j = job.data;
  const steps = j.steps ?? [];
  const canRetry = j.state === 'failed' || j.state === 'dead' || j.state === 'cancelled';
  const canCancel = LIVE.includes(j.state) && !j.cancel_requested;

  return (
    <div>
      <p className="mb-2 text-sm">
        <Link to="/jobs" className="link">
          ← Jobs
        </Link>
      </p>
      <PageHeader title={j.kind}>
        <div className="flex items-center gap-2">
          <StateBadge value={j.state} />
          {live && (
            <span className="text-xs text-slate-500 dark:text-slate-400" aria-live="polite">
              live
            </span>
          )}
          {canCancel && (
            <button type="button" className="btn-secondary" disabled={action.isPending} onClick={() => action.mutate('cancel')}>
              Cancel
            </button>
          )}
          {canRetry && (
            <button type="button" className="btn-secondary" disabled={action.isPending} onClick={() => action.mutate('retry')}>
              Retry
            </button>
          )}
        </div>
      </PageHeader>
      {action.isError && <ErrorBox error={action.error} />}
      <div className="grid gap-4 lg:grid-cols-3">
        <Card className="lg:col-span-1">
          <h2 className="mb-1 text-base font-semibold">Job</h2>
          <dl className="divide-y divide-slate-100 dark:divide-slate-800">
            <Row label="Id">
              <code className="text-xs">{j.id}</code>
            </Row>
            <Row label="Queue">{j.queue}</Row>
            <Row label="Attempts">
              {j.attempts} of {j.max_attempts}
            </Row>
            <Row label="Created">
              <When ts={j.created_at} />
            </Row>
            <Row label="Started">
              <When ts={j.started_at} />
            </Row>
            <Row label="Finished">
              <When ts={j.finished_at} />
            </Row>
            {j.cancel_requested && <Row label="Cancel">requested</Row>}
            {j.last_error && (
              <Row label="Last error">
                <span className="text-red-700 dark:text-red-400">{j.last_error}</span>
              </Row>
            )}
          </dl>
        </Card>
        <Card className="lg:col-span-2">
          <h2 className="mb-2 text-base font-semibold">Steps</h2>
          {steps.length === 0 ? (
            <p className="text-sm text-slate-500 dark:text-slate-400">
              {j.state === 'queued' ? 'Waiting for a worker.' : 'No steps recorded.'}
            </p>
          ) : (
            <ol className="space-y-2">
              {steps.map((s) => (
                <Step key={s.idx} step={s} />
              ))}
            </ol>
          )}
        </Card>
        <Card className="lg:col-span-3">
          <h2 className="mb-2 text-base font-semibold">Log</h2>
          {log.error ? (
            <ErrorBox error={log.error} retry={() => void log.refetch()} />
          ) : log.pending ? (
            <Loading />
          ) : log.lines.length === 0 ? (
            <p className="text-sm text-slate-500 dark:text-slate-400">No log lines yet.</p>
          ) : (
            <pre
              className="max-h-[28rem] overflow-auto rounded bg-slate-950 p-3 text-xs leading-relaxed text-slate-100"
              aria-live={live ? 'polite' : 'off'}
              data-testid="job-log"
            >
              {log.lines.map((l) => (
                <div key={l.seq} className={l.level === 'error' ? 'text-red-300' : l.level === 'warn' ? 'text-amber-300' : ''}>
                  <span className="text-slate-500">{new Date(l.at).toLocaleTimeString()} </span>
                  {l.message}
                </div>
              ))}
            </pre>
          )}
        </Card>
      </div>
    </div>
  );
}

const FINISHED_BADLY: readonly Job['state'][] = ['failed', 'dead', 'cancelled'];

/**
 * A job a form just started, polled every 500 ms until it ends: each step
 * with its state, then `done` when it succeeded, or its last error and a
 * Retry button.
 */
export function JobProgress({ id, done, onSucceeded }: { id: string; done: ReactNode; onSucceeded?: () => void }) {
  const qc = useQueryClient();
  const job = useQuery({
    queryKey: ['jobs', 'one', id],
    queryFn: ({ signal }) => api.get('/api/v1/jobs/{id}', { path: { id }, signal }),
    refetchInterval: (query) => {
      const state = query.state.data?.state;
      if (state === undefined || LIVE.includes(state)) return 500;
      // A failed job may be put back in the queue by the panel itself.
      return state === 'failed' ? 2000 : false;
    },
  });
  const retry = useMutation({
    mutationFn: () => api.post('/api/v1/jobs/{id}/retry', { path: { id } }),
    onSuccess: (j) => {
      qc.setQueryData(['jobs', 'one', id], j);
      void qc.invalidateQueries({ queryKey: ['jobs'] });
    },
  });

  const state = job.data?.state;
  const succeeded = state === 'succeeded';
  const notify = useRef(onSucceeded);
  notify.current = onSucceeded;
  useEffect(() => {
    if (succeeded) notify.current?.();
  }, [succeeded]);

  if (job.isPending) return <Loading label="Starting…" />;
  if (job.isError && !job.data) return <ErrorBox error={job.error} retry={() => void job.refetch()} />;
  const j = job.data;
  const steps = j.steps ?? [];
  const failed = FINISHED_BADLY.includes(j.state);

  return (
    <div data-testid="job-progress" data-state={j.state}>
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <span className="text-sm font-medium">{j.kind}</span>
        <StateBadge value={j.state} />
        {LIVE.includes(j.state) && (
          <span className="text-xs text-slate-500 dark:text-slate-400" aria-live="polite">
            {j.state === 'queued' ? 'waiting for a worker…' : 'working…'}
          </span>
        )}
        <Link to={`/jobs/${j.id}`} className="link ml-auto text-sm">
          Job details
        </Link>
      </div>
      {steps.length > 0 && (
        <ol className="mb-3 space-y-2">
          {steps.map((s) => (
            <Step key={s.idx} step={s} />
          ))}
        </ol>
      )}
      <div aria-live="polite">
        {succeeded && (
          <div
            role="status"
            className="flex flex-wrap items-center gap-3 rounded-md border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-100"
          >
            <span className="font-semibold">Done</span>
            {done}
          </div>
        )}
        {failed && (
          <div
            role="alert"
            className="flex flex-wrap items-center justify-between gap-2 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950/60 dark:text-red-200"
          >
            <span className="whitespace-pre-wrap break-words">{j.last_error ?? `The job is ${j.state}.`}</span>
            <button type="button" className="btn-secondary" disabled={retry.isPending} onClick={() => retry.mutate()}>
              {retry.isPending ? 'Retrying…' : 'Retry'}
            </button>
          </div>
        )}
      </div>
      {retry.isError && <ErrorBox error={retry.error} />}
    </div>
  );
}
