// Sites: the list (server-side pages, search by domain, a tenant filter
// from the tenants screen) and one site's detail.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { api } from '../api/client';
import type { SiteKind } from '../api/types';
import { useListParams } from '../components/listParams';
import { SearchBox } from '../components/SearchBox';
import { Card, Empty, ErrorBox, Loading, PageHeader, Pagination, Row, StateBadge, When } from '../components/ui';

export function kindLabel(kind: SiteKind): string {
  switch (kind.type) {
    case 'static':
      return 'Static';
    case 'php':
      return kind.version ? `PHP ${kind.version}` : 'PHP';
    case 'proxy':
      return `Proxy → ${kind.upstream}`;
    case 'redirect':
      return `Redirect → ${kind.to}`;
  }
}

export function SitesList() {
  const { offset, limit, filters, setFilter, setOffset } = useListParams(['q', 'tenant_id'] as const);
  const q = useQuery({
    queryKey: ['sites', 'list', filters, offset],
    queryFn: ({ signal }) =>
      api.get('/api/v1/sites', {
        query: { q: filters.q || undefined, tenant_id: filters.tenant_id || undefined, limit, offset },
        signal,
      }),
    placeholderData: keepPreviousData,
  });

  return (
    <div>
      <PageHeader title="Sites" />
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SearchBox label="Search domains" value={filters.q} onChange={(v) => setFilter('q', v)} placeholder="example.com" />
        {filters.tenant_id && (
          <p className="text-sm">
            Tenant filter on.{' '}
            <button type="button" className="link" onClick={() => setFilter('tenant_id', '')}>
              Show all tenants
            </button>
          </p>
        )}
      </div>
      <Card className="p-0 sm:p-0">
        {q.isError && <ErrorBox error={q.error} retry={() => void q.refetch()} />}
        {q.isPending ? (
          <Loading />
        ) : q.data && q.data.items.length === 0 ? (
          <Empty>{filters.q ? `No site matches “${filters.q}”.` : 'No sites yet.'}</Empty>
        ) : q.data ? (
          <div className="overflow-x-auto">
            <table className="table" aria-busy={q.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Domain</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="hidden sm:table-cell">
                    Node
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col" className="hidden md:table-cell">
                    Created
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.items.map((s) => (
                  <tr key={s.id}>
                    <td className="max-w-[14rem] break-words">
                      <Link to={`/sites/${s.id}`} className="link">
                        {s.domain}
                      </Link>
                      {s.aliases.length > 0 && (
                        <span className="block text-xs text-slate-500 dark:text-slate-400">+{s.aliases.length} alias{s.aliases.length > 1 ? 'es' : ''}</span>
                      )}
                    </td>
                    <td className="max-w-[12rem] break-words">{kindLabel(s.kind)}</td>
                    <td className="hidden sm:table-cell">{s.node}</td>
                    <td>
                      <StateBadge value={s.status} />
                    </td>
                    <td className="hidden whitespace-nowrap md:table-cell">
                      <When ts={s.created_at} />
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

const WWW: Record<string, string> = {
  none: 'Only the names listed',
  alias: 'www. answers too',
  redirect_to_www: 'Redirect to www.',
  redirect_to_bare: 'Redirect www. to the bare domain',
};

export function SiteDetail() {
  const { id = '' } = useParams();
  const site = useQuery({
    queryKey: ['sites', 'one', id],
    queryFn: ({ signal }) => api.get('/api/v1/sites/{id}', { path: { id }, signal }),
  });
  const certs = useQuery({
    queryKey: ['certificates', 'site', id],
    queryFn: ({ signal }) => api.get('/api/v1/certificates', { query: { site_id: id, limit: 5 }, signal }),
    enabled: site.isSuccess,
  });

  if (site.isPending) return <Loading />;
  if (site.isError) return <ErrorBox error={site.error} retry={() => void site.refetch()} />;
  const s = site.data;
  const o = s.options;
  const errorPages = Object.entries(o.error_pages ?? {});

  return (
    <div>
      <p className="mb-2 text-sm">
        <Link to="/sites" className="link">
          ← Sites
        </Link>
      </p>
      <PageHeader title={s.domain}>
        <StateBadge value={s.status} />
      </PageHeader>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card>
          <h2 className="mb-1 text-base font-semibold">Site</h2>
          <dl className="divide-y divide-slate-100 dark:divide-slate-800">
            <Row label="Domain">{s.domain}</Row>
            <Row label="Aliases">{s.aliases.length ? s.aliases.join(', ') : '—'}</Row>
            <Row label="Kind">{kindLabel(s.kind)}</Row>
            <Row label="Node">{s.node}</Row>
            <Row label="Document root">
              <code className="text-xs">{s.document_root}</code>
            </Row>
            <Row label="Last job">
              {s.last_job_id ? (
                <Link to={`/jobs/${s.last_job_id}`} className="link">
                  View job
                </Link>
              ) : (
                '—'
              )}
            </Row>
            <Row label="Created">
              <When ts={s.created_at} />
            </Row>
            <Row label="Updated">
              <When ts={s.updated_at} />
            </Row>
          </dl>
        </Card>
        <Card>
          <h2 className="mb-1 text-base font-semibold">Options</h2>
          <dl className="divide-y divide-slate-100 dark:divide-slate-800">
            <Row label="www">{o.www ? WWW[o.www] ?? o.www : '—'}</Row>
            <Row label="Force HTTPS">{o.force_https ? 'Yes' : 'No'}</Row>
            <Row label="HSTS">{o.hsts ? 'Yes' : 'No'}</Row>
            <Row label="Redirects">
              {o.redirects && o.redirects.length > 0 ? (
                <ul className="space-y-1">
                  {o.redirects.map((r) => (
                    <li key={r.from}>
                      <code className="text-xs">{r.from}</code> → <code className="text-xs">{r.to}</code> ({r.code})
                    </li>
                  ))}
                </ul>
              ) : (
                'None'
              )}
            </Row>
            <Row label="Error pages">
              {errorPages.length > 0 ? (
                <ul>
                  {errorPages.map(([code, path]) => (
                    <li key={code}>
                      {code}: <code className="text-xs">{path}</code>
                    </li>
                  ))}
                </ul>
              ) : (
                'Default'
              )}
            </Row>
          </dl>
        </Card>
        <Card className="lg:col-span-2">
          <h2 className="mb-1 text-base font-semibold">Certificate</h2>
          {certs.isPending ? (
            <Loading />
          ) : certs.isError ? (
            <ErrorBox error={certs.error} retry={() => void certs.refetch()} />
          ) : certs.data.items.length === 0 ? (
            <p className="text-sm text-slate-500 dark:text-slate-400">No certificate: the site answers on HTTP only.</p>
          ) : (
            <ul className="space-y-2 text-sm">
              {certs.data.items.map((c) => (
                <li key={c.id} className="flex flex-wrap items-center gap-2">
                  <StateBadge value={c.status} />
                  <span>{c.names.join(', ')}</span>
                  <span className="text-slate-500 dark:text-slate-400">
                    {c.source === 'acme' ? 'ACME' : 'uploaded'}
                    {c.days_left !== null && c.days_left !== undefined ? `, ${c.days_left} days left` : ''}
                  </span>
                  {c.last_error && <span className="text-red-700 dark:text-red-400">{c.last_error}</span>}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </div>
  );
}
