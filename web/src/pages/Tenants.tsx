// Tenants in the user's scope: search by name, filter by status, pages.
// A row opens the sites list filtered to that tenant, and for staff the form
// for a new client user of it. `/tenants/new` creates a tenant.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import { TENANT_STATUSES, type Tenant } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { canUse } from '../auth/roles';
import { Field } from '../components/Field';
import { FormError, SelectField, formErrors } from '../components/forms';
import { useListParams } from '../components/listParams';
import { SearchBox, SelectFilter } from '../components/SearchBox';
import { Card, ErrorBox, PageHeader, PagedTable, StateBadge, When } from '../components/ui';

export function Tenants() {
  const me = useMe();
  const staff = canUse(me.role, 'users');
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
      <PageHeader title="Tenants">
        <Link to="/tenants/new" className="btn-primary">
          New tenant
        </Link>
      </PageHeader>
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SearchBox label="Search tenants" value={filters.q} onChange={(v) => setFilter('q', v)} />
        <SelectFilter label="Status" value={filters.status} options={TENANT_STATUSES} onChange={(v) => setFilter('status', v)} />
      </div>
      <PagedTable
        q={q}
        empty="No tenants match." page={{ offset, limit, onOffset: setOffset }}
        head={
          <>
            <th scope="col">Tenant</th>
            <th scope="col">Status</th>
            <th scope="col" className="hidden sm:table-cell">
            Created
            </th>
            <th scope="col">
            <span className="sr-only">Actions</span>
            </th>
          </>
        }
        row={(t) => (
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
                    <td className="whitespace-nowrap">
                      <Link to={`/sites?tenant_id=${encodeURIComponent(t.id)}`} className="link">
                        Sites
                      </Link>
                      {staff && (
                        <Link
                          to={`/users/new?tenant_id=${encodeURIComponent(t.id)}`}
                          className="link ml-3"
                          aria-label={`New user for ${t.name}`}
                        >
                          New user
                        </Link>
                      )}
                    </td>
                  </tr>
        )}
      />
    </div>
  );
}

/** The packages a form may offer (the first 100, by name). */
export function usePackages() {
  return useQuery({
    queryKey: ['packages', 'options'],
    queryFn: ({ signal }) => api.get('/api/v1/packages', { query: { limit: 100 }, signal }),
    select: (page) => [...page.items].sort((a, b) => a.name.localeCompare(b.name)),
  });
}

export function TenantNew() {
  const me = useMe();
  const qc = useQueryClient();
  const packages = usePackages();
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [packageId, setPackageId] = useState('');
  const create = useMutation({
    mutationFn: () =>
      api.post('/api/v1/tenants', {
        body: { name: name.trim(), display_name: displayName.trim(), package_id: packageId || null },
      }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tenants'] });
    },
  });
  const errs = formErrors(create.error, ['name', 'display_name', 'package_id']);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const t = create.data;

  return (
    <div>
      <p className="mb-2 text-sm">
        <Link to="/tenants" className="link">
          ← Tenants
        </Link>
      </p>
      <PageHeader title="New tenant" />
      {t ? (
        <Card>
          <p role="status" className="text-sm">
            Tenant <span className="font-medium">{t.display_name}</span> (<code className="text-xs">{t.name}</code>)
            created.
          </p>
          <div className="mt-3 flex flex-wrap gap-3">
            {canUse(me.role, 'users') && (
              <Link to={`/users/new?tenant_id=${encodeURIComponent(t.id)}`} className="btn-primary">
                New user for {t.name}
              </Link>
            )}
            <Link to={`/sites?tenant_id=${encodeURIComponent(t.id)}`} className="btn-secondary">
              Its sites
            </Link>
            <button type="button" className="btn-secondary" onClick={() => create.reset()}>
              Another tenant
            </button>
          </div>
        </Card>
      ) : (
        <Card>
          <form onSubmit={submit} noValidate aria-label="New tenant" className="grid max-w-xl gap-3">
            <FormError error={errs.general} />
            <Field
              label="Account name"
              name="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={errs.field('name')}
              autoComplete="off"
              spellCheck={false}
              placeholder="acme"
              required
            />
            <p className="-mt-2 text-xs text-slate-500 dark:text-slate-400">
              Lower-case letters, digits and hyphens; also the name of its Linux user.
            </p>
            <Field
              label="Display name"
              name="display_name"
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
              error={errs.field('display_name')}
              autoComplete="off"
              placeholder="Acme Ltd"
              required
            />
            <SelectField
              label="Package"
              name="package_id"
              value={packageId}
              onChange={(e) => setPackageId(e.target.value)}
              error={errs.field('package_id')}
              disabled={packages.isPending}
            >
              <option value="">No package (unlimited)</option>
              {(packages.data ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </SelectField>
            {packages.isError && <ErrorBox error={packages.error} retry={() => void packages.refetch()} />}
            <div>
              <button type="submit" className="btn-primary" disabled={create.isPending}>
                {create.isPending ? 'Creating…' : 'Create tenant'}
              </button>
            </div>
          </form>
        </Card>
      )}
    </div>
  );
}
