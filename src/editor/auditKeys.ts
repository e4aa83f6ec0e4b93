// The audit log's HMAC key in VS Code's SecretStorage (the OS keychain), not in the storage folder beside the
// log: whoever can edit the log file cannot read the key from the same place.
import { createHash } from 'node:crypto';
import type * as vscode from 'vscode';
import type { AuditKeyStore } from '../core/auditKey';

export function secretAuditKeyStore(secrets: vscode.SecretStorage, stateDir: string): AuditKeyStore {
  // One key per state directory (each workspace has its own log); the path is hashed to keep the name short.
  const name = `krr.auditKey.${createHash('sha256').update(stateDir).digest('hex').slice(0, 16)}`;
  return {
    description: "VS Code's secret storage",
    read: async () => (await secrets.get(name)) || undefined,
    async write(record) {
      // Never replace a key: entries signed with it would stop verifying.
      if (await secrets.get(name)) throw new Error('an audit key is already stored');
      await secrets.store(name, record);
    },
  };
}
