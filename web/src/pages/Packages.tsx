// Packages (staff): the list with each package's main limits, and a form to
// create one. An empty limit is unlimited.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { Limits, Package } from '../api/types';
import { Field } from '../components/Field';
import { FormError, formErrors, optionalCount } from '../components/forms';
import { useListParams } from '../components/listParams';
import { Card, PageHeader, PagedTable, When } from '../components/ui';

type LimitKey = keyof Limits;

/** The limits the form offers, in the order shown. */
export const LIMIT_FIELDS: readonly { key: LimitKey; label: string }[] = [
  { key: 'sites', label: 'Sites' },
  { key: 'domains', label: 'Domains' },
  { key: 'dns_zones', label: 'DNS zones' },
  { key: 'databases', label: 'Databases' },
  { key: 'mailboxes', label: 'Mailboxes' },
  { key: 'disk_mb', label: 'Disk (MB)' },
  { key: 'php_workers', label: 'PHP workers' },
  { key: 'php_memory_mb', label: 'PHP memory (MB)' },
];

function limitText(limits: Limits, key: LimitKey): string {
  const v = limits[key];
  return v === null || v === undefined ? '∞' : String(v);
}

function NewPackage({ onCreated }: { onCreated: (p: Package) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [limits, setLimits] = useState<Partial<Record<LimitKey, string>>>({});
  const create = useMutation({
    mutationFn: () => {
      const body: Limits = {};
      for (const { key } of LIMIT_FIELDS) {
        const n = optionalCount(limits[key] ?? '');
        if (n !== null) body[key] = n;
      }
      return api.post('/api/v1/packages', { body: { name: name.trim(), limits: body } });
    },
    onSuccess: (p) => {
      setName('');
      setLimits({});
      void qc.invalidateQueries({ queryKey: ['packages'] });
      onCreated(p);
    },
  });
  const errs = formErrors(create.error, ['name', ...LIMIT_FIELDS.map((f) => `limits.${f.key}`)]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };

  return (
    <Card className="mb-4">
      <h2 className="mb-3 text-base font-semibold">New package</h2>
      <form onSubmit={submit} noValidate aria-label="New package">
        <FormError error={errs.general} />
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <div className="sm:col-span-2 lg:col-span-4">
            <Field
              label="Name"
              name="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={errs.field('name')}
              autoComplete="off"
              required
            />
          </div>
          {LIMIT_FIELDS.map(({ key, label }) => (
            <Field
              key={key}
              label={label}
              name={`limits.${key}`}
              type="number"
              min={0}
              inputMode="numeric"
              placeholder="Unlimited"
              value={limits[key] ?? ''}
              onChange={(e) => setLimits((l) => ({ ...l, [key]: e.target.value }))}
              error={errs.field(`limits.${key}`)}
            />
          ))}
        </div>
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">Leave a limit empty for unlimited; 0 allows none.</p>
        <div className="mt-3">
          <button type="submit" className="btn-primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create package'}
          </button>
        </div>
      </form>
    </Card>
  );
}

export function Packages() {
  const { offset, limit, setOffset } = useListParams([] as const);
  const [created, setCreated] = useState<string | null>(null);
  const q = useQuery({
    queryKey: ['packages', 'list', offset],
    queryFn: ({ signal }) => api.get('/api/v1/packages', { query: { limit, offset }, signal }),
    placeholderData: keepPreviousData,
  });

  return (
    <div>
      <PageHeader title="Packages" />
      <NewPackage onCreated={(p) => setCreated(p.name)} />
      {created && (
        <p role="status" className="mb-3 text-sm text-emerald-800 dark:text-emerald-300">
          Package “{created}” created.
        </p>
      )}
      <PagedTable
        q={q}
        empty="No packages yet." page={{ offset, limit, onOffset: setOffset }}
        head={
          <>
            <th scope="col">Package</th>
            <th scope="col">Sites</th>
            <th scope="col" className="hidden sm:table-cell">
            Databases
            </th>
            <th scope="col" className="hidden md:table-cell">
            Disk (MB)
            </th>
            <th scope="col" className="hidden md:table-cell">
            PHP workers
            </th>
            <th scope="col" className="hidden lg:table-cell">
            Created
            </th>
          </>
        }
        row={(p) => (
                  <tr key={p.id} data-testid="package-row">
                    <td className="max-w-[16rem] break-words font-medium">{p.name}</td>
                    <td className="tabular-nums">{limitText(p.limits, 'sites')}</td>
                    <td className="hidden tabular-nums sm:table-cell">{limitText(p.limits, 'databases')}</td>
                    <td className="hidden tabular-nums md:table-cell">{limitText(p.limits, 'disk_mb')}</td>
                    <td className="hidden tabular-nums md:table-cell">{limitText(p.limits, 'php_workers')}</td>
                    <td className="hidden whitespace-nowrap lg:table-cell">
                      <When ts={p.created_at} />
                    </td>
                  </tr>
        )}
      />
    </div>
  );
}
