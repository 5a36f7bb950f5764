// Certificates in the user's scope, soonest expiry first (the API's order),
// filtered by status, with days left and the last error.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import { CERT_STATUSES } from '../api/types';
import { useListParams } from '../components/listParams';
import { SelectFilter } from '../components/SearchBox';
import { Badge, PageHeader, PagedTable, StateBadge, When } from '../components/ui';

function DaysLeft({ days }: { days: number | null | undefined }) {
  if (days === null || days === undefined) return <span className="text-slate-400">—</span>;
  if (days < 0) return <Badge tone="red">expired {-days} d ago</Badge>;
  if (days <= 14) return <Badge tone="amber">{days} d</Badge>;
  return <span className="tabular-nums">{days} d</span>;
}

export function Certificates() {
  const { offset, limit, filters, setFilter, setOffset } = useListParams(['status'] as const);
  const q = useQuery({
    queryKey: ['certificates', 'list', filters, offset],
    queryFn: ({ signal }) =>
      api.get('/api/v1/certificates', { query: { status: filters.status || undefined, limit, offset }, signal }),
    placeholderData: keepPreviousData,
  });

  return (
    <div>
      <PageHeader title="Certificates" />
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SelectFilter label="Status" value={filters.status} options={CERT_STATUSES} onChange={(v) => setFilter('status', v)} />
      </div>
      <PagedTable
        q={q}
        empty={filters.status ? `No ${filters.status} certificates.` : 'No certificates yet.'} page={{ offset, limit, onOffset: setOffset }}
        head={
          <>
            <th scope="col">Site</th>
            <th scope="col">Status</th>
            <th scope="col">Days left</th>
            <th scope="col" className="hidden md:table-cell">
            Expires
            </th>
            <th scope="col" className="hidden sm:table-cell">
            Source
            </th>
            <th scope="col" className="hidden lg:table-cell">
            Last error
            </th>
          </>
        }
        row={(c) => (
                  <tr key={c.id}>
                    <td className="max-w-[16rem] break-words">
                      <Link to={`/sites/${c.site_id}`} className="link">
                        {c.site_domain}
                      </Link>
                      <span className="block text-xs text-slate-500 dark:text-slate-400">{c.names.join(', ')}</span>
                      {c.last_error && (
                        <span className="block text-xs text-red-700 dark:text-red-400 lg:hidden">{c.last_error}</span>
                      )}
                    </td>
                    <td>
                      <StateBadge value={c.status} />
                      {c.failures > 0 && (
                        <span className="block text-xs text-slate-500 dark:text-slate-400">{c.failures} failed tries</span>
                      )}
                    </td>
                    <td>
                      <DaysLeft days={c.days_left} />
                    </td>
                    <td className="hidden whitespace-nowrap md:table-cell">
                      <When ts={c.not_after} />
                    </td>
                    <td className="hidden sm:table-cell">
                      {c.source === 'acme' ? `ACME (${c.challenge ?? 'http-01'})` : 'Uploaded'}
                    </td>
                    <td className="hidden max-w-[20rem] break-words text-red-700 dark:text-red-400 lg:table-cell">
                      {c.last_error ?? ''}
                      {c.last_job_id && c.last_error && (
                        <>
                          {' '}
                          <Link to={`/jobs/${c.last_job_id}`} className="link">
                            job
                          </Link>
                        </>
                      )}
                    </td>
                  </tr>
        )}
      />
    </div>
  );
}
