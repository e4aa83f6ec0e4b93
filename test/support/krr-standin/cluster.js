// KRR_STANDIN_FROM_CLUSTER=1: replace each scan's `allocations` with what the live object (in the test
// API server) asks for now, so a scan after an apply reflects the change. Plain HTTP(S) GETs with the
// kubeconfig's bearer token; workloads that no longer exist drop out, like krr would not list them.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const YAML = require('yaml');
const { recomputeSeverities } = require('./severity');

class KubeConfigError extends Error {}

const API_BY_KIND = {
  Deployment: { group: 'apis/apps/v1', plural: 'deployments', containers: ['spec', 'template', 'spec', 'containers'] },
  StatefulSet: { group: 'apis/apps/v1', plural: 'statefulsets', containers: ['spec', 'template', 'spec', 'containers'] },
  DaemonSet: { group: 'apis/apps/v1', plural: 'daemonsets', containers: ['spec', 'template', 'spec', 'containers'] },
  Job: { group: 'apis/batch/v1', plural: 'jobs', containers: ['spec', 'template', 'spec', 'containers'] },
  CronJob: { group: 'apis/batch/v1', plural: 'cronjobs', containers: ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers'] },
  Rollout: { group: 'apis/argoproj.io/v1alpha1', plural: 'rollouts', containers: ['spec', 'template', 'spec', 'containers'] },
};

const SUFFIXES = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

function parseQuantity(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return value;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(value).trim());
  if (!match) throw new Error(`cannot parse quantity ${JSON.stringify(value)}`);
  // Dividing keeps 87m at 0.087 exactly (87 * 1e-3 is 0.08700000000000001).
  return match[2] === 'm' ? Number(match[1]) / 1000 : Number(match[1]) * SUFFIXES[match[2] ?? ''];
}

function readKubeconfig(kubeconfigPath, contextName) {
  const file = kubeconfigPath || (process.env.KUBECONFIG || '').split(path.delimiter).find(Boolean) || path.join(os.homedir(), '.kube', 'config');
  let config;
  try {
    config = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new KubeConfigError('Invalid kube-config file. No configuration found.');
  }
  const name = contextName || config?.['current-context'];
  const context = config?.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new KubeConfigError(`Invalid kube-config file. Expected object with name ${name} in ${file}/contexts list`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new KubeConfigError(`Invalid kube-config file. Expected object with name ${context.cluster} in ${file}/clusters list`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  const token = user.token ?? (user.tokenFile ? fs.readFileSync(user.tokenFile, 'utf8').trim() : undefined);
  const ca = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64')
    : cluster['certificate-authority']
      ? fs.readFileSync(cluster['certificate-authority'])
      : undefined;
  return { contextName: name, server: cluster.server.replace(/\/$/, ''), token, ca, insecure: Boolean(cluster['insecure-skip-tls-verify']) };
}

function getJson(target, apiPath) {
  const url = new URL(target.server + apiPath);
  const client = url.protocol === 'https:' ? https : http;
  const headers = { Accept: 'application/json' };
  if (target.token) headers.Authorization = `Bearer ${target.token}`;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers, ca: target.ca, rejectUnauthorized: !target.insecure, timeout: 10000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode === 404) resolve(null);
        else if (response.statusCode !== 200) reject(new Error(`GET ${apiPath}: HTTP ${response.statusCode} ${body.slice(0, 200)}`));
        else resolve(JSON.parse(body));
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${apiPath}: timed out`)));
    request.on('error', reject);
  });
}

async function loadLiveAllocations(report, { kubeconfig, context }) {
  const target = readKubeconfig(kubeconfig, context);
  const live = new Map();
  for (const scan of report.scans) {
    const { namespace, kind, name } = scan.object;
    const api = API_BY_KIND[kind];
    const key = `${namespace}/${kind}/${name}`;
    if (!api || live.has(key)) continue;
    const object = await getJson(target, `/${api.group}/namespaces/${encodeURIComponent(namespace)}/${api.plural}/${encodeURIComponent(name)}`);
    live.set(key, object ? api.containers.reduce((node, segment) => node?.[segment], object) ?? [] : null);
  }
  report.scans = report.scans.filter((scan) => {
    const { namespace, kind, name } = scan.object;
    const containers = live.get(`${namespace}/${kind}/${name}`);
    if (containers === undefined) return true; // a kind we do not read: keep the report's values
    const container = containers?.find((c) => c.name === scan.object.container);
    if (!container) return false;
    const resources = container.resources ?? {};
    scan.object.cluster = target.contextName;
    scan.object.allocations = {
      requests: { cpu: parseQuantity(resources.requests?.cpu), memory: parseQuantity(resources.requests?.memory) },
      limits: { cpu: parseQuantity(resources.limits?.cpu), memory: parseQuantity(resources.limits?.memory) },
      info: {},
    };
    return true;
  });
  recomputeSeverities(report);
  return report;
}

module.exports = { loadLiveAllocations, KubeConfigError, parseQuantity };
