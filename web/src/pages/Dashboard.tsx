// The dashboard: counts for what the role can see. Every figure is a list
// endpoint's `total` (limit=1), the node list, or the certificate summary.
import { useQueries, useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import { JOB_STATES, type JobState } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { canUse } from '../auth/roles';
import { Card, ErrorBox, PageHeader } from '../components/ui';

type StatProps = {
  id: string;
  label: string;
  value: number | undefined;
  to?: string;
  /** Draw attention when the value is not zero. */
  alarm?: 'red' | 'amber';
  sub?: string;
};

function Stat({ id, label, value, to, alarm, sub }: StatProps) {
  const hot = alarm && value !== undefined && value > 0;
  const ring = hot
    ? alarm === 'red'
      ? 'border-red-400 bg-red-50 dark:border-red-700 dark:bg-red-950/50'
      : 'border-amber-400 bg-amber-50 dark:border-amber-700 dark:bg-amber-950/40'
    : 'border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900';
  const body = (
    <>
      <span className="text-sm text-slate-600 dark:text-slate-400">{label}</span>
      <span
        className={`text-2xl font-semibold tabular-nums ${hot ? (alarm === 'red' ? 'text-red-700 dark:text-red-300' : 'text-amber-800 dark:text-amber-200') : ''}`}
        data-testid={`stat-${id}`}
        data-value={value ?? ''}
      >
        {value ?? '…'}
      </span>
      {sub && <span className="text-xs text-slate-500 dark:text-slate-400">{sub}</span>}
    </>
  );
  const cls = `flex flex-col gap-1 rounded-lg border p-4 shadow-sm ${ring}`;
  return to ? (
    <Link to={to} className={`${cls} hover:border-sky-400 dark:hover:border-sky-600`}>
      {body}
    </Link>
  ) : (
    <div className={cls}>{body}</div>
  );
}

const JOB_ALARM: Partial<Record<JobState, 'red' | 'amber'>> = { failed: 'red', dead: 'red' };

export function Dashboard() {
  const me = useMe();
  const staff = canUse(me.role, 'nodes');
  const tenantsToo = canUse(me.role, 'tenants');

  const sites = useQuery({
    queryKey: ['sites', 'count'],
    queryFn: ({ signal }) => api.get('/api/v1/sites', { query: { limit: 1 }, signal }),
  });
  const tenants = useQuery({
    queryKey: ['tenants', 'count'],
    queryFn: ({ signal }) => api.get('/api/v1/tenants', { query: { limit: 1 }, signal }),
    enabled: tenantsToo,
  });
  const nodes = useQuery({
    queryKey: ['nodes'],
    queryFn: ({ signal }) => api.get('/api/v1/nodes', { signal }),
    enabled: staff,
  });
  const certs = useQuery({
    queryKey: ['certificates', 'summary'],
    queryFn: ({ signal }) => api.get('/api/v1/certificates/summary', { signal }),
  });
  const jobs = useQueries({
    queries: JOB_STATES.map((state) => ({
      queryKey: ['jobs', 'count', state],
      queryFn: ({ signal }: { signal: AbortSignal }) => api.get('/api/v1/jobs', { query: { state, limit: 1 }, signal }),
    })),
  });

  const all = [sites, certs, ...jobs, ...(tenantsToo ? [tenants] : []), ...(staff ? [nodes] : [])];
  const ready = all.every((q) => q.isSuccess);
  const failed = all.find((q) => q.isError);

  // For measurements (e2e): when the page's figures first all showed.
  useEffect(() => {
    if (ready && performance.getEntriesByName('berth:dashboard-ready').length === 0) {
      performance.mark('berth:dashboard-ready');
    }
  }, [ready]);

  const trusted = nodes.data?.filter((n) => n.state === 'trusted').length;
  const nodeErrors = nodes.data?.filter((n) => n.last_error).length;

  return (
    <div data-testid="dashboard" data-ready={ready ? 'true' : 'false'}>
      <PageHeader title="Dashboard" />
      {failed && <ErrorBox error={failed.error} retry={() => all.forEach((q) => q.isError && void q.refetch())} />}

      <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
        <Stat id="sites" label="Sites" value={sites.data?.total} to="/sites" />
        {tenantsToo && <Stat id="tenants" label="Tenants" value={tenants.data?.total} to="/tenants" />}
        {staff && (
          <Stat
            id="nodes"
            label="Nodes"
            value={nodes.data?.length}
            to="/nodes"
            sub={trusted !== undefined ? `${trusted} trusted${nodeErrors ? `, ${nodeErrors} with errors` : ''}` : undefined}
          />
        )}
        <Stat id="certificates" label="Certificates" value={certs.data?.total} to="/certificates" />
      </div>

      <h2 className="mb-2 mt-6 text-base font-semibold">Jobs</h2>
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
        {JOB_STATES.map((state, i) => (
          <Stat
            key={state}
            id={`jobs-${state}`}
            label={state[0]?.toUpperCase() + state.slice(1)}
            value={jobs[i]?.data?.total}
            to={`/jobs?state=${state}`}
            alarm={JOB_ALARM[state]}
          />
        ))}
      </div>

      <h2 className="mb-2 mt-6 text-base font-semibold">Certificates</h2>
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
        <Stat id="certs-valid" label="Valid" value={certs.data?.valid} to="/certificates?status=valid" />
        <Stat id="certs-pending" label="Pending" value={certs.data?.pending} to="/certificates?status=pending" />
        <Stat id="certs-expiring" label="Expiring soon" value={certs.data?.expiring_soon} alarm="amber" />
        <Stat id="certs-failing" label="Failing" value={certs.data?.failing} to="/certificates?status=failing" alarm="amber" />
        <Stat id="certs-failed" label="Failed" value={certs.data?.failed} to="/certificates?status=failed" alarm="red" />
        <Stat id="certs-expired" label="Expired" value={certs.data?.expired} to="/certificates?status=expired" alarm="red" />
      </div>

      {staff && nodes.data && nodes.data.some((n) => n.last_error) && (
        <Card className="mt-6">
          <h2 className="mb-2 text-base font-semibold">Node problems</h2>
          <ul className="space-y-1 text-sm">
            {nodes.data
              .filter((n) => n.last_error)
              .map((n) => (
                <li key={n.name}>
                  <span className="font-medium">{n.name}</span>: {n.last_error}
                </li>
              ))}
          </ul>
        </Card>
      )}
    </div>
  );
}
