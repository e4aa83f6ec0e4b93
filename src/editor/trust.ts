// Whether writes are allowed, from workspace trust and krr.readOnly alone. Kept apart from settings.ts so the
// status bar can show it at activation without loading the settings schema (zod).
export const untrustedReason = 'workspace is not trusted';
export const readOnlySettingReason = 'the setting krr.readOnly is on';

/** Whether writes are allowed now, and why not; `untrusted` says the cause is Restricted Mode (no setting can lift it). */
export interface WriteGate {
  readOnly: boolean;
  reason: string | null;
  untrusted: boolean;
}

/** Every write is disabled in an untrusted workspace; scans still work (untrustedWorkspaces: limited). */
export function decideReadOnly(trusted: boolean, readOnlySetting: boolean): { readOnly: boolean; readOnlyReason?: string } {
  if (!trusted) return { readOnly: true, readOnlyReason: untrustedReason };
  if (readOnlySetting) return { readOnly: true, readOnlyReason: readOnlySettingReason };
  return { readOnly: false };
}

