// The Authorization header krr sends to Prometheus: kept in VS Code's secret storage (never in settings or logs),
// set or removed by "KRR: Set Prometheus Auth Header"; the composition root reads it when it builds the session.
import * as vscode from 'vscode';
import type { CommandHost } from './commandHost';

export const prometheusSecretKey = 'krr.prometheusAuthHeader';

export async function setPrometheusAuthHeader(host: CommandHost): Promise<void> {
  const value = await vscode.window.showInputBox({
    title: 'KRR: Prometheus auth header',
    prompt: 'Value of the Authorization header krr sends to Prometheus, e.g. "Bearer eyJ…". Stored in VS Code\'s secret storage, never in settings or logs. Empty: remove it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) return;
  if (value.trim() === '') {
    await host.secrets.delete(prometheusSecretKey);
    void vscode.window.showInformationMessage('KRR: Prometheus auth header removed.');
  } else {
    await host.secrets.store(prometheusSecretKey, value.trim());
    void vscode.window.showInformationMessage('KRR: Prometheus auth header stored in secret storage.');
  }
}
