// Names for the generated schema types the screens use.
import type { Schemas } from './client';

export type User = Schemas['User'];
export type Role = Schemas['Role'];
export type Site = Schemas['Site'];
export type SiteKind = Schemas['SiteKind'];
export type Tenant = Schemas['Tenant'];
export type Job = Schemas['Job'];
export type JobState = Schemas['JobState'];
export type JobStep = Schemas['JobStep'];
export type JobLogLine = Schemas['JobLogLine'];
export type Certificate = Schemas['Certificate'];
export type CertStatus = Schemas['CertStatus'];
export type CertificateSummary = Schemas['CertificateSummary'];
export type Node = Schemas['Node'];
export type AuditEntry = Schemas['AuditEntry'];
export type LoginRequest = Schemas['LoginRequest'];

export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'];
export const CERT_STATUSES: readonly CertStatus[] = ['pending', 'valid', 'failing', 'failed', 'expired'];
export const TENANT_STATUSES: readonly Schemas['TenantStatus'][] = ['active', 'suspended'];
export type Package = Schemas['Package'];
export type Limits = Schemas['Limits'];
export type SiteLog = Schemas['SiteLog'];
export type SiteChange = Schemas['SiteChange'];
