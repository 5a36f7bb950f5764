// The signed-in frame: a sidebar with the screens the role may use (a menu
// button opens it on a phone), a top bar with the theme toggle and the user
// menu, and the current screen.
import { useEffect, useState, type ComponentType, type SVGProps } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { useMe } from '../auth/AuthProvider';
import { canUse, type Screen } from '../auth/roles';
import {
  IconAudit,
  IconBerth,
  IconCert,
  IconClose,
  IconDashboard,
  IconJobs,
  IconMenu,
  IconNodes,
  IconPackages,
  IconSites,
  IconTenants,
} from './Icons';
import { ThemeToggle } from './ThemeToggle';
import { UserMenu } from './UserMenu';

type NavItem = { screen: Screen; to: string; label: string; icon: ComponentType<SVGProps<SVGSVGElement>> };

export const NAV: readonly NavItem[] = [
  { screen: 'dashboard', to: '/', label: 'Dashboard', icon: IconDashboard },
  { screen: 'packages', to: '/packages', label: 'Packages', icon: IconPackages },
  { screen: 'tenants', to: '/tenants', label: 'Tenants', icon: IconTenants },
  { screen: 'sites', to: '/sites', label: 'Sites', icon: IconSites },
  { screen: 'certificates', to: '/certificates', label: 'Certificates', icon: IconCert },
  { screen: 'jobs', to: '/jobs', label: 'Jobs', icon: IconJobs },
  { screen: 'nodes', to: '/nodes', label: 'Nodes', icon: IconNodes },
  { screen: 'audit', to: '/audit', label: 'Audit', icon: IconAudit },
];

function SideNav({ onNavigate }: { onNavigate?: () => void }) {
  const me = useMe();
  return (
    <nav aria-label="Main" className="flex flex-col gap-1 p-3">
      {NAV.filter((n) => canUse(me.role, n.screen)).map(({ to, label, icon: Icon }) => (
        <NavLink
          key={to}
          to={to}
          end={to === '/'}
          onClick={onNavigate}
          className={({ isActive }) =>
            `flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium ${
              isActive
                ? 'bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-100'
                : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800'
            }`
          }
        >
          <Icon />
          {label}
        </NavLink>
      ))}
    </nav>
  );
}

function Brand() {
  return (
    <span className="flex items-center gap-2 text-lg font-semibold tracking-tight">
      <IconBerth className="text-sky-700 dark:text-sky-400" width={24} height={24} />
      Berth
    </span>
  );
}

export function Layout() {
  const [open, setOpen] = useState(false);
  const location = useLocation();

  // Close the phone menu on navigation and on Escape.
  useEffect(() => setOpen(false), [location.pathname]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);

  return (
    <div className="min-h-screen md:flex">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-slate-900"
      >
        Skip to content
      </a>
      <aside className="hidden w-56 shrink-0 border-r border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900 md:block">
        <div className="flex h-14 items-center px-6">
          <Brand />
        </div>
        <SideNav />
      </aside>

      {open && (
        <div className="fixed inset-0 z-40 md:hidden" role="dialog" aria-modal="true" aria-label="Menu">
          <button
            type="button"
            aria-label="Close menu"
            className="absolute inset-0 h-full w-full cursor-default bg-slate-900/40"
            onClick={() => setOpen(false)}
          />
          <div className="absolute inset-y-0 left-0 w-64 max-w-[80%] bg-white shadow-xl dark:bg-slate-900">
            <div className="flex h-14 items-center justify-between px-4">
              <Brand />
              <button type="button" className="btn-icon" aria-label="Close menu" onClick={() => setOpen(false)}>
                <IconClose />
              </button>
            </div>
            <SideNav onNavigate={() => setOpen(false)} />
          </div>
        </div>
      )}

      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 items-center justify-between gap-2 border-b border-slate-200 bg-white px-3 dark:border-slate-800 dark:bg-slate-900 sm:px-6">
          <div className="flex items-center gap-2">
            <button
              type="button"
              className="btn-icon md:hidden"
              aria-label="Open menu"
              aria-expanded={open}
              onClick={() => setOpen(true)}
            >
              <IconMenu />
            </button>
            <span className="md:hidden">
              <Brand />
            </span>
          </div>
          <div className="flex items-center gap-1">
            <ThemeToggle />
            <UserMenu />
          </div>
        </header>
        <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 p-3 sm:p-6">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
