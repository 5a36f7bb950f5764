// The audit log, newest first: filter by action (exact, or a prefix ending
// in `.`) and target type; server-side pages.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { useListParams } from '../components/listParams';
import { SearchBox } from '../components/SearchBox';
import { PageHeader, PagedTable, When } from '../components/ui';

export function Audit() {
  const { offset, limit, filters, setFilter, setOffset } = useListParams(['action', 'target_type'] as const);
  const q = useQuery({
    queryKey: ['audit', 'list', filters, offset],
    queryFn: ({ signal }) =>
      api.get('/api/v1/audit', {
        query: { action: filters.action || undefined, target_type: filters.target_type || undefined, limit, offset },
        signal,
      }),
    placeholderData: keepPreviousData,
  });

  return (
    <div>
      <PageHeader title="Audit" />
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SearchBox label="Action (or prefix ending in .)" value={filters.action} onChange={(v) => setFilter('action', v)} placeholder="site." />
        <SearchBox label="Target type" value={filters.target_type} onChange={(v) => setFilter('target_type', v)} placeholder="site" />
      </div>
      <PagedTable
        q={q}
        empty="No audit entries match." page={{ offset, limit, onOffset: setOffset }}
        head={
          <>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col" className="hidden sm:table-cell">
            Actor
            </th>
            <th scope="col" className="hidden md:table-cell">
            Target
            </th>
            <th scope="col" className="hidden lg:table-cell">
            Summary
            </th>
          </>
        }
        row={(a) => (
                  <tr key={a.seq}>
                    <td className="whitespace-nowrap">
                      <When ts={a.at} />
                    </td>
                    <td>
                      <code className="text-xs">{a.action}</code>
                    </td>
                    <td className="hidden sm:table-cell">
                      {a.actor_role ?? 'system'}
                      {a.ip && <span className="block text-xs text-slate-500 dark:text-slate-400">{a.ip}</span>}
                    </td>
                    <td className="hidden md:table-cell">
                      {a.target_type}
                      {a.target_id && <code className="block max-w-[10rem] truncate text-xs" title={a.target_id}>{a.target_id}</code>}
                    </td>
                    <td className="hidden max-w-[24rem] lg:table-cell">
                      <code className="block truncate text-xs" title={JSON.stringify(a.summary)}>
                        {JSON.stringify(a.summary)}
                      </code>
                    </td>
                  </tr>
        )}
      />
    </div>
  );
}
