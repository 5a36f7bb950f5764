// Routes. Every screen but the login page needs a session; a screen the
// role may not use answers "Not available for your role".
import type { ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth, useMe } from './auth/AuthProvider';
import { canUse, type Screen } from './auth/roles';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { Audit } from './pages/Audit';
import { Certificates } from './pages/Certificates';
import { Dashboard } from './pages/Dashboard';
import { JobDetail, JobsList } from './pages/jobs';
import { Login } from './pages/Login';
import { Nodes } from './pages/Nodes';
import { Packages } from './pages/Packages';
import { SiteDetail, SiteNew, SitesList } from './pages/sites';
import { TenantNew, Tenants } from './pages/Tenants';
import { UserNew } from './pages/Users';
import { NotAvailable, NotFound } from './pages/Unavailable';

function RequireSession() {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === 'loading') {
    return (
      <div className="p-6">
        <Loading label="Checking your session…" />
      </div>
    );
  }
  if (state.status === 'anonymous') {
    // Come back here after logging in, unless the user logged out on purpose
    // (the next one to log in should not land on the last one's screen).
    const back = state.reason === null || state.reason === 'expired';
    return <Navigate to="/login" replace state={back ? { from: location.pathname + location.search } : null} />;
  }
  return <Layout />;
}

function Allowed({ screen, children }: { screen: Screen; children: ReactNode }) {
  const me = useMe();
  return canUse(me.role, screen) ? <>{children}</> : <NotAvailable />;
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route element={<RequireSession />}>
        <Route index element={<Dashboard />} />
        <Route path="packages" element={<Allowed screen="packages"><Packages /></Allowed>} />
        <Route path="tenants" element={<Allowed screen="tenants"><Tenants /></Allowed>} />
        <Route path="tenants/new" element={<Allowed screen="tenants"><TenantNew /></Allowed>} />
        <Route path="users/new" element={<Allowed screen="users"><UserNew /></Allowed>} />
        <Route path="sites" element={<Allowed screen="sites"><SitesList /></Allowed>} />
        <Route path="sites/new" element={<Allowed screen="sites"><SiteNew /></Allowed>} />
        <Route path="sites/:id" element={<Allowed screen="sites"><SiteDetail /></Allowed>} />
        <Route path="certificates" element={<Allowed screen="certificates"><Certificates /></Allowed>} />
        <Route path="jobs" element={<Allowed screen="jobs"><JobsList /></Allowed>} />
        <Route path="jobs/:id" element={<Allowed screen="jobs"><JobDetail /></Allowed>} />
        <Route path="nodes" element={<Allowed screen="nodes"><Nodes /></Allowed>} />
        <Route path="audit" element={<Allowed screen="audit"><Audit /></Allowed>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
