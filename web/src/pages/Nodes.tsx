// Every node: the panel's own (`local`) and the enrolled ones, with their
// state, last heartbeat, load and what they run.
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Node } from '../api/types';
import { Card, Empty, ErrorBox, Loading, PageHeader, StateBadge, When } from '../components/ui';

function pct(free: number, total: number): string {
  return total > 0 ? `${Math.round(((total - free) / total) * 100)}%` : '—';
}

function NodeCard({ n }: { n: Node }) {
  const m = n.metrics;
  const c = n.capabilities;
  return (
    <Card>
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h2 className="text-base font-semibold">{n.name}</h2>
        <StateBadge value={n.state} />
        <span className="text-sm text-slate-500 dark:text-slate-400">{n.roles.join(', ') || 'no roles'}</span>
      </div>
      <dl className="grid grid-cols-2 gap-x-4 gap-y-2 text-sm sm:grid-cols-4">
        <div>
          <dt className="text-slate-500 dark:text-slate-400">Sites</dt>
          <dd className="tabular-nums">{n.sites}</dd>
        </div>
        <div>
          <dt className="text-slate-500 dark:text-slate-400">Last seen</dt>
          <dd>
            <When ts={n.last_seen_at} />
          </dd>
        </div>
        <div>
          <dt className="text-slate-500 dark:text-slate-400">Address</dt>
          <dd className="break-all">{n.address ?? 'this machine'}</dd>
        </div>
        <div>
          <dt className="text-slate-500 dark:text-slate-400">Certificate until</dt>
          <dd>
            <When ts={n.cert_not_after} />
          </dd>
        </div>
        {m && (
          <>
            <div>
              <dt className="text-slate-500 dark:text-slate-400">CPU</dt>
              <dd className="tabular-nums">
                {Math.round(m.cpu_percent)}% of {m.cpu_cores} cores, load {m.load1.toFixed(2)}
              </dd>
            </div>
            <div>
              <dt className="text-slate-500 dark:text-slate-400">Memory used</dt>
              <dd className="tabular-nums">
                {pct(m.mem_available_mb, m.mem_total_mb)} of {(m.mem_total_mb / 1024).toFixed(1)} GiB
              </dd>
            </div>
            <div>
              <dt className="text-slate-500 dark:text-slate-400">Disk used</dt>
              <dd className="tabular-nums">
                {pct(m.disk_free_mb, m.disk_total_mb)} of {(m.disk_total_mb / 1024).toFixed(0)} GiB
              </dd>
            </div>
          </>
        )}
        {c && (
          <div>
            <dt className="text-slate-500 dark:text-slate-400">Software</dt>
            <dd>
              {[c.nginx ? `nginx ${c.nginx}` : null, c.php.length ? `PHP ${c.php.join(', ')}` : null, `agent ${c.agent_version}`]
                .filter(Boolean)
                .join(' · ')}
            </dd>
          </div>
        )}
      </dl>
      {c && <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">{c.os}</p>}
      {n.last_error && (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
          {n.last_error}
        </p>
      )}
    </Card>
  );
}

export function Nodes() {
  const q = useQuery({
    queryKey: ['nodes'],
    queryFn: ({ signal }) => api.get('/api/v1/nodes', { signal }),
    refetchInterval: 15_000,
  });
  return (
    <div>
      <PageHeader title="Nodes" />
      {q.isError && <ErrorBox error={q.error} retry={() => void q.refetch()} />}
      {q.isPending ? (
        <Loading />
      ) : q.data && q.data.length === 0 ? (
        <Empty>No nodes.</Empty>
      ) : (
        <div className="grid gap-4">{q.data?.map((n) => <NodeCard key={n.name} n={n} />)}</div>
      )}
    </div>
  );
}
