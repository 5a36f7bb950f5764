// Tenants in the user's scope: search by name, filter by status, pages.
// A row opens the sites list filtered to that tenant.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import { TENANT_STATUSES, type Tenant } from '../api/types';
import { useListParams } from '../components/listParams';
import { SearchBox, SelectFilter } from '../components/SearchBox';
import { Card, Empty, ErrorBox, Loading, PageHeader, Pagination, StateBadge, When } from '../components/ui';

export function Tenants() {
  const { offset, limit, filters, setFilter, setOffset } = useListParams(['q', 'status'] as const);
  const status = (TENANT_STATUSES as readonly string[]).includes(filters.status)
    ? (filters.status as Tenant['status'])
    : undefined;
  const q = useQuery({
    queryKey: ['tenants', 'list', filters, offset],
    queryFn: ({ signal }) =>
      api.get('/api/v1/tenants', { query: { q: filters.q || undefined, status, limit, offset }, signal }),
    placeholderData: keepPreviousData,
  });

  return (
    <div>
      <PageHeader title="Tenants" />
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SearchBox label="Search tenants" value={filters.q} onChange={(v) => setFilter('q', v)} />
        <SelectFilter label="Status" value={filters.status} options={TENANT_STATUSES} onChange={(v) => setFilter('status', v)} />
      </div>
      <Card className="p-0 sm:p-0">
        {q.isError && <ErrorBox error={q.error} retry={() => void q.refetch()} />}
        {q.isPending ? (
          <Loading />
        ) : q.data && q.data.items.length === 0 ? (
          <Empty>No tenants match.</Empty>
        ) : q.data ? (
          <div className="overflow-x-auto">
            <table className="table" aria-busy={q.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="hidden sm:table-cell">
                    Created
                  </th>
                  <th scope="col">
                    <span className="sr-only">Sites</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.items.map((t) => (
                  <tr key={t.id}>
                    <td className="max-w-[16rem] break-words">
                      <span className="font-medium">{t.display_name}</span>
                      <span className="block text-xs text-slate-500 dark:text-slate-400">{t.name}</span>
                    </td>
                    <td>
                      <StateBadge value={t.status} />
                      {t.suspended_reason && (
                        <span className="block text-xs text-slate-500 dark:text-slate-400">{t.suspended_reason}</span>
                      )}
                    </td>
                    <td className="hidden whitespace-nowrap sm:table-cell">
                      <When ts={t.created_at} />
                    </td>
                    <td>
                      <Link to={`/sites?tenant_id=${encodeURIComponent(t.id)}`} className="link">
                        Sites
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </Card>
      {q.data && <Pagination offset={offset} limit={limit} total={q.data.total} onOffset={setOffset} />}
    </div>
  );
}
