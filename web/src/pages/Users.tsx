// A new client user of a tenant (staff): `/users/new?tenant_id=…` from a
// tenant's row. Without a password the panel makes one and shows it once.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { api } from '../api/client';
import { Field } from '../components/Field';
import { FormError, SelectField, formErrors } from '../components/forms';
import { Card, ErrorBox, PageHeader } from '../components/ui';

/** The tenants a form may offer (the first 100, by display name). */
export function useTenantOptions(enabled = true) {
  return useQuery({
    enabled,
    queryKey: ['tenants', 'options'],
    queryFn: ({ signal }) => api.get('/api/v1/tenants', { query: { limit: 100 }, signal }),
    select: (page) => [...page.items].sort((a, b) => a.display_name.localeCompare(b.display_name)),
  });
}

export function UserNew() {
  const [params] = useSearchParams();
  const qc = useQueryClient();
  const tenants = useTenantOptions();
  const [tenantId, setTenantId] = useState(params.get('tenant_id') ?? '');
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const create = useMutation({
    mutationFn: () =>
      api.post('/api/v1/users', {
        body: {
          email: email.trim(),
          name: name.trim(),
          role: 'client',
          tenant_id: tenantId || null,
          password: password === '' ? null : password,
        },
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['users'] }),
  });
  const errs = formErrors(create.error, ['email', 'name', 'tenant_id', 'password']);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const done = create.data;
  const tenant = tenants.data?.find((t) => t.id === tenantId);

  return (
    <div>
      <p className="mb-2 text-sm">
        <Link to="/tenants" className="link">
          ← Tenants
        </Link>
      </p>
      <PageHeader title="New user" />
      {done ? (
        <Card>
          <p role="status" className="text-sm">
            Client user <span className="font-medium">{done.user.email}</span>
            {tenant ? ` of ${tenant.display_name}` : ''} created.
          </p>
          {done.generated_password && (
            <div className="mt-3">
              <p className="text-sm">Their password, shown only now:</p>
              <code className="mt-1 inline-block select-all rounded bg-slate-100 px-2 py-1 text-sm dark:bg-slate-800" data-testid="generated-password">
                {done.generated_password}
              </code>
            </div>
          )}
          <div className="mt-3 flex flex-wrap gap-3">
            <button
              type="button"
              className="btn-secondary"
              onClick={() => {
                setEmail('');
                setName('');
                setPassword('');
                create.reset();
              }}
            >
              Another user
            </button>
            <Link to="/tenants" className="btn-secondary">
              Tenants
            </Link>
          </div>
        </Card>
      ) : (
        <Card>
          <form onSubmit={submit} noValidate aria-label="New user" className="grid max-w-xl gap-3">
            <FormError error={errs.general} />
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
            <Field
              label="Email"
              name="email"
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={errs.field('email')}
              autoComplete="off"
              required
            />
            <Field
              label="Name"
              name="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={errs.field('name')}
              autoComplete="off"
              required
            />
            <Field
              label="Password"
              name="password"
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={errs.field('password')}
              autoComplete="new-password"
              placeholder="Leave empty to generate one"
            />
            <p className="-mt-2 text-xs text-slate-500 dark:text-slate-400">The user gets the client role: their tenant only.</p>
            <div>
              <button type="submit" className="btn-primary" disabled={create.isPending}>
                {create.isPending ? 'Creating…' : 'Create user'}
              </button>
            </div>
          </form>
        </Card>
      )}
    </div>
  );
}
