// Which screens each role may use. The navigation shows only these, and a
// route for any other screen answers "Not available for your role".
import type { Role } from '../api/types';

export type Screen =
  | 'dashboard'
  | 'packages'
  | 'tenants'
  | 'users'
  | 'sites'
  | 'certificates'
  | 'jobs'
  | 'nodes'
  | 'audit';

const STAFF: readonly Role[] = ['superadmin', 'admin'];
const ALL: readonly Role[] = ['superadmin', 'admin', 'reseller', 'client'];

const ACCESS: Record<Screen, readonly Role[]> = {
  dashboard: ALL,
  packages: STAFF,
  tenants: [...STAFF, 'reseller'],
  users: STAFF,
  sites: ALL,
  certificates: ALL,
  jobs: ALL,
  nodes: STAFF,
  audit: STAFF,
};

export function canUse(role: Role, screen: Screen): boolean {
  return ACCESS[screen].includes(role);
}

export function isStaff(role: Role): boolean {
  return STAFF.includes(role);
}

export const ROLE_LABEL: Record<Role, string> = {
  superadmin: 'Superadmin',
  admin: 'Admin',
  reseller: 'Reseller',
  client: 'Client',
};
