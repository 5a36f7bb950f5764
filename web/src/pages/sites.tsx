// Sites: the list (server-side pages, search by domain, a tenant filter
// from the tenants screen), a new site with its job's progress live, and one
// site's detail with its access and error logs.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api } from '../api/client';
import type { SiteChange, SiteKind } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { Field } from '../components/Field';
import { FormError, SelectField, formErrors } from '../components/forms';
import { useListParams } from '../components/listParams';
import { SearchBox } from '../components/SearchBox';
import { Card, ErrorBox, Loading, PageHeader, PagedTable, Row, StateBadge, When } from '../components/ui';
import { JobProgress } from './jobs';
import { useTenantOptions } from './Users';

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
      <PageHeader title="Sites">
        <Link
          to={filters.tenant_id ? `/sites/new?tenant_id=${encodeURIComponent(filters.tenant_id)}` : '/sites/new'}
          className="btn-primary"
        >
          New site
        </Link>
      </PageHeader>
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
      <PagedTable
        q={q}
        empty={filters.q ? `No site matches “${filters.q}”.` : 'No sites yet.'} page={{ offset, limit, onOffset: setOffset }}
        head={
          <>
            <th scope="col">Domain</th>
            <th scope="col">Kind</th>
            <th scope="col" className="hidden sm:table-cell">
            Node
            </th>
            <th scope="col">Status</th>
            <th scope="col" className="hidden md:table-cell">
            Created
            </th>
          </>
        }
        row={(s) => (
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
        )}
      />
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
        <SiteLogs id={s.id} />
      </div>
    </div>
  );
}

type LogName = 'access' | 'error';
const LOG_LINES = 200;

/** The last lines of the site's access or error log, newest at the bottom. */
function SiteLogs({ id }: { id: string }) {
  const [log, setLog] = useState<LogName>('access');
  const q = useQuery({
    queryKey: ['sites', 'logs', id, log],
    queryFn: ({ signal }) => api.get('/api/v1/sites/{id}/logs', { path: { id }, query: { log, lines: LOG_LINES }, signal }),
  });
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [q.data]);

  return (
    <Card className="lg:col-span-2">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-base font-semibold">Logs</h2>
        <div className="flex flex-wrap items-center gap-2">
          <div role="group" aria-label="Which log" className="inline-flex rounded-md border border-slate-300 p-0.5 dark:border-slate-700">
            {(['access', 'error'] as const).map((name) => (
              <button
                key={name}
                type="button"
                aria-pressed={log === name}
                onClick={() => setLog(name)}
                className={`rounded px-3 py-1 text-sm font-medium ${
                  log === name
                    ? 'bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-100'
                    : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800'
                }`}
              >
                {name === 'access' ? 'Access' : 'Error'}
              </button>
            ))}
          </div>
          <button type="button" className="btn-secondary" disabled={q.isFetching} onClick={() => void q.refetch()}>
            {q.isFetching && !q.isPending ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </div>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.lines.length === 0 ? (
        <p className="py-4 text-sm text-slate-500 dark:text-slate-400" data-testid="site-log-empty">
          No lines yet in the {log} log.
        </p>
      ) : (
        <>
          <pre
            ref={box}
            className="max-h-[28rem] overflow-auto whitespace-pre rounded bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-100"
            data-testid="site-log"
            aria-label={`Last lines of the ${log} log`}
            tabIndex={0}
          >
            {q.data.lines.join('\n')}
          </pre>
          <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
            Last {q.data.lines.length} line{q.data.lines.length === 1 ? '' : 's'} of {formatBytes(q.data.size)}.
          </p>
        </>
      )}
    </Card>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

type KindName = SiteKind['type'];
const KINDS: readonly { value: KindName; label: string }[] = [
  { value: 'static', label: 'Static files' },
  { value: 'php', label: 'PHP' },
  { value: 'proxy', label: 'Proxy to a local app' },
  { value: 'redirect', label: 'Redirect' },
];

export function SiteNew() {
  const me = useMe();
  const qc = useQueryClient();
  const [params] = useSearchParams();
  // A client has exactly one tenant; anyone else picks one.
  const client = me.role === 'client';
  const tenants = useTenantOptions(!client);
  const [tenantId, setTenantId] = useState(client ? me.tenant_id ?? '' : params.get('tenant_id') ?? '');
  const [domain, setDomain] = useState('');
  const [kind, setKind] = useState<KindName>('static');
  const [version, setVersion] = useState('');
  const [upstream, setUpstream] = useState('');
  const [to, setTo] = useState('');
  const [permanent, setPermanent] = useState(true);
  const [created, setCreated] = useState<SiteChange | null>(null);

  const siteKind = (): SiteKind => {
    switch (kind) {
      case 'static':
        return { type: 'static' };
      case 'php':
        return { type: 'php', version: version.trim() || null };
      case 'proxy':
        return { type: 'proxy', upstream: upstream.trim() };
      case 'redirect':
        return { type: 'redirect', to: to.trim(), permanent };
    }
  };
  const create = useMutation({
    mutationFn: () =>
      api.post('/api/v1/sites', { body: { tenant_id: tenantId, domain: domain.trim().toLowerCase(), kind: siteKind() } }),
    onSuccess: (c) => {
      setCreated(c);
      void qc.invalidateQueries({ queryKey: ['sites'] });
    },
  });
  const errs = formErrors(create.error, ['tenant_id', 'domain', 'kind', 'kind.version', 'kind.upstream', 'kind.to']);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };

  return (
    <div>
      <p className="mb-2 text-sm">
        <Link to="/sites" className="link">
          ← Sites
        </Link>
      </p>
      <PageHeader title={created ? `New site: ${created.site.domain}` : 'New site'} />
      {created ? (
        <Card>
          <h2 className="mb-2 text-base font-semibold">Putting it on {created.site.node}</h2>
          <JobProgress
            id={created.job_id}
            onSucceeded={() => void qc.invalidateQueries({ queryKey: ['sites'] })}
            done={
              <>
                <Link to={`/sites/${created.site.id}`} className="link">
                  Open {created.site.domain}
                </Link>
                <Link to="/sites" className="link">
                  All sites
                </Link>
              </>
            }
          />
        </Card>
      ) : (
        <Card>
          <form onSubmit={submit} noValidate aria-label="New site" className="grid max-w-xl gap-3">
            <FormError error={errs.general} />
            {client ? (
              !me.tenant_id && <ErrorBox error={new Error('Your user belongs to no tenant, so it cannot own a site.')} />
            ) : (
              <>
                <SelectField
                  label="Tenant"
                  name="tenant_id"
                  value={tenantId}
                  onChange={(e) => setTenantId(e.target.value)}
                  error={errs.field('tenant_id')}
                  disabled={tenants.isPending}
                  required
                >
                  <option value="">Choose a tenant…</option>
                  {(tenants.data ?? []).map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.display_name} ({t.name})
                    </option>
                  ))}
                </SelectField>
                {tenants.isError && <ErrorBox error={tenants.error} retry={() => void tenants.refetch()} />}
              </>
            )}
            <Field
              label="Domain"
              name="domain"
              value={domain}
              onChange={(e) => setDomain(e.target.value)}
              error={errs.field('domain')}
              autoComplete="off"
              spellCheck={false}
              placeholder="www.example.com"
              required
            />
            <SelectField
              label="Kind"
              name="kind"
              value={kind}
              onChange={(e) => setKind(e.target.value as KindName)}
              error={errs.field('kind')}
            >
              {KINDS.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </SelectField>
            {kind === 'static' && (
              <p className="-mt-2 text-xs text-slate-500 dark:text-slate-400">Serves the files in the site&apos;s public_html.</p>
            )}
            {kind === 'php' && (
              <Field
                label="PHP version"
                name="kind.version"
                value={version}
                onChange={(e) => setVersion(e.target.value)}
                error={errs.field('kind.version')}
                placeholder="The node's newest"
                autoComplete="off"
              />
            )}
            {kind === 'proxy' && (
              <Field
                label="Upstream (on loopback)"
                name="kind.upstream"
                value={upstream}
                onChange={(e) => setUpstream(e.target.value)}
                error={errs.field('kind.upstream')}
                placeholder="127.0.0.1:3000"
                autoComplete="off"
                required
              />
            )}
            {kind === 'redirect' && (
              <>
                <Field
                  label="Redirect to"
                  name="kind.to"
                  type="url"
                  value={to}
                  onChange={(e) => setTo(e.target.value)}
                  error={errs.field('kind.to')}
                  placeholder="https://example.org/"
                  autoComplete="off"
                  required
                />
                <label className="flex items-center gap-2 text-sm">
                  <input type="checkbox" checked={permanent} onChange={(e) => setPermanent(e.target.checked)} />
                  Permanent redirect
                </label>
              </>
            )}
            <div>
              <button type="submit" className="btn-primary" disabled={create.isPending || (client && !me.tenant_id)}>
                {create.isPending ? 'Creating…' : 'Create site'}
              </button>
            </div>
          </form>
        </Card>
      )}
    </div>
  );
}
