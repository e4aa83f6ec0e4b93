import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SnapshotError, SnapshotStore, type Snapshot, type SnapshotObject } from '../../src/core/snapshots';

const deployment = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name,
    namespace: 'shop',
    resourceVersion: '101',
    labels: { app: name },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"' + 'x'.repeat(5000) + '"}',
      'team.example.com/owner': 'payments',
    },
    managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { template: { spec: { containers: [{ name: 'api', resources: { requests: { cpu: '500m' } } }] } } },
  ...extra,
});

const object = (name: string, before: Record<string, unknown> = deployment(name)): SnapshotObject => ({
  ref: { namespace: 'shop', kind: 'Deployment', name },
  apiVersion: 'apps/v1',
  resourceVersionBefore: '101',
  replaced: [
    { path: '/spec/template/spec/containers/0/resources/requests/cpu', value: '500m' },
    { path: '/spec/template/spec/containers/0/resources/limits', absent: true },
  ],
  before,
  written: false,
});

const input = (objects: SnapshotObject[] = [object('api')]): Omit<Snapshot, 'id' | 'createdAt'> => ({
  context: 'kind-dev',
  server: 'https://127.0.0.1:6443',
  planId: 'plan-7',
  digest: 'a'.repeat(64),
  objects,
  kind: 'apply',
});

const isCode = (code: SnapshotError['code']) => (error: unknown) => error instanceof SnapshotError && error.code === code;

describe('snapshot store', () => {
  let root: string;
  let directory: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'krr-snapshots-'));
    directory = path.join(root, 'snapshots');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('saves and gets a snapshot back, with a well-formed id, as a private file', async () => {
    const store = new SnapshotStore(directory, { now: () => new Date('2026-11-23T10:44:00.123Z') });
    const saved = await store.save(input());
    assert.match(saved.id, /^snap-20261123T104400Z-[0-9a-f]{6}$/);
    assert.equal(saved.createdAt, '2026-11-23T10:44:00.123Z');
    assert.deepEqual(await store.get(saved.id), saved);
    const got = await store.get(saved.id);
    assert.deepEqual(got.objects[0]?.replaced, input().objects[0]?.replaced);
    assert.equal(got.context, 'kind-dev');
    assert.equal((await stat(path.join(directory, `${saved.id}.json`))).mode & 0o777, 0o600);
  });

  it('strips managedFields and the last-applied annotation, and keeps everything else', async () => {
    const store = new SnapshotStore(directory);
    const original = input();
    const saved = await store.save(original);
    const text = await readFile(path.join(directory, `${saved.id}.json`), 'utf8');
    assert.ok(!text.includes('managedFields'));
    assert.ok(!text.includes('last-applied-configuration'));
    const metadata = (await store.get(saved.id)).objects[0]?.before.metadata as Record<string, unknown>;
    assert.deepEqual(metadata.annotations, { 'team.example.com/owner': 'payments' });
    assert.deepEqual(metadata.labels, { app: 'api' });
    assert.ok(text.includes('"cpu": "500m"'));
    // The caller's object is not modified.
    assert.ok('managedFields' in (original.objects[0]?.before.metadata as object));
  });

  it('refuses to store a Secret', async () => {
    const store = new SnapshotStore(directory);
    const secret = { ...object('creds', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { password: 'aHVudGVyMg==' } }), ref: { namespace: 'shop', kind: 'Secret', name: 'creds' } };
    await assert.rejects(store.save(input([secret])), isCode('refused'));
    assert.deepEqual(await readdir(directory).catch(() => []), []);
  });

  it('leaves no temp files behind', async () => {
    const store = new SnapshotStore(directory);
    const ids = await Promise.all([store.save(input()), store.save(input()), store.save(input())]);
    const names = (await readdir(directory)).sort();
    assert.deepEqual(names, ids.map((snapshot) => `${snapshot.id}.json`).sort());
  });

  it('throws when the snapshot directory cannot be used (a regular file is in the way)', async () => {
    await writeFile(path.join(root, 'snapshots'), 'not a directory');
    const store = new SnapshotStore(directory);
    await assert.rejects(store.save(input()), isCode('write-failed'));
    assert.deepEqual(await readdir(root), ['snapshots']);
  });

  it('throws and leaves nothing when the write fails part-way (file size limit), and a failed update keeps the old file', async function () {
    this.timeout(20_000);
    const store = new SnapshotStore(directory);
    const existing = await store.save(input());
    const existingText = await readFile(path.join(directory, `${existing.id}.json`), 'utf8');
    const modulePath = path.resolve('src/core/snapshots.ts');
    const script = `
      import { SnapshotStore } from ${JSON.stringify(modulePath)};
      const store = new SnapshotStore(${JSON.stringify(directory)});
      const big = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big' }, spec: { note: 'n'.repeat(50000) } };
      const object = { ref: { namespace: 'shop', kind: 'Deployment', name: 'big' }, apiVersion: 'apps/v1', resourceVersionBefore: '1', replaced: [], before: big, written: false };
      const outcome = [];
      try { await store.save({ context: 'c', server: 's', planId: 'p', digest: 'd', objects: [object], kind: 'apply' }); outcome.push('saved'); }
      catch (error) { outcome.push('save:' + error.code); }
      try { await store.update(${JSON.stringify(existing.id)}, (s) => ({ ...s, objects: [...s.objects, object] })); outcome.push('updated'); }
      catch (error) { outcome.push('update:' + error.code); }
      console.log(outcome.join(' '));`;
    const { execa } = await import('execa'); // tests load as CommonJS; execa's dependencies export only `import`
    const result = await execa('prlimit', ['--fsize=16384', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]);
    assert.equal(result.stdout.trim(), 'save:write-failed update:write-failed');
    assert.deepEqual(await readdir(directory), [`${existing.id}.json`]);
    assert.equal(await readFile(path.join(directory, `${existing.id}.json`), 'utf8'), existingText);
  });

  it('rejects ids that could leave the directory, before touching the disk', async () => {
    const store = new SnapshotStore(directory);
    const saved = await store.save(input());
    // A valid snapshot file outside the directory must stay unreachable.
    await writeFile(path.join(root, 'x.json'), await readFile(path.join(directory, `${saved.id}.json`)));
    for (const id of ['../x', 'snap-../../etc', `${saved.id}/../../x`, `../snapshots/${saved.id}`, `${saved.id}.json`, '', 'snap-20261123T104400Z-ABCDEF']) {
      await assert.rejects(store.get(id), isCode('invalid-id'), id);
      await assert.rejects(store.update(id, (snapshot) => snapshot), isCode('invalid-id'), id);
    }
    await assert.rejects(store.get(12 as unknown as string), isCode('invalid-id'));
    await assert.rejects(store.get('snap-20200101T000000Z-abcdef'), isCode('not-found'));
  });

  it('lists newest first, and reports corrupt files instead of crashing', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z');
    const store = new SnapshotStore(directory, { now: () => new Date((clock += 3_600_000)) });
    const first = await store.save(input());
    const second = await store.save({ ...input([object('api'), object('web')]), kind: 'rollback', planId: 'plan-8' });
    await writeFile(path.join(directory, 'snap-20261105T000000Z-aaaaaa.json'), '{"id": "snap-2026');
    await writeFile(path.join(directory, 'snap-20261106T000000Z-bbbbbb.json'), JSON.stringify({ id: 'snap-20261106T000000Z-bbbbbb', objects: 'many' }));
    const moved = JSON.parse(await readFile(path.join(directory, `${first.id}.json`), 'utf8')) as Snapshot;
    await writeFile(path.join(directory, 'snap-20261107T000000Z-cccccc.json'), JSON.stringify(moved)); // holds another id
    await writeFile(path.join(directory, 'notes.txt'), 'ignored');

    const corrupt: string[] = [];
    const listed = await store.list({ onCorrupt: (problem) => corrupt.push(path.basename(problem.file)) });
    assert.deepEqual(listed, [
      { id: second.id, createdAt: second.createdAt, context: 'kind-dev', planId: 'plan-8', kind: 'rollback', objects: 2 },
      { id: first.id, createdAt: first.createdAt, context: 'kind-dev', planId: 'plan-7', kind: 'apply', objects: 1 },
    ]);
    assert.deepEqual(corrupt.sort(), ['snap-20261105T000000Z-aaaaaa.json', 'snap-20261106T000000Z-bbbbbb.json', 'snap-20261107T000000Z-cccccc.json']);
    await assert.rejects(store.get('snap-20261105T000000Z-aaaaaa'), (error: unknown) => isCode('corrupt')(error) && /not valid JSON/.test((error as Error).message));
    await assert.rejects(store.get('snap-20261107T000000Z-cccccc'), isCode('corrupt'));
    assert.deepEqual(await new SnapshotStore(path.join(root, 'none')).list(), []);
  });

  it('updates atomically, one change after another, and never changes the id', async () => {
    const store = new SnapshotStore(directory);
    const saved = await store.save(input([object('a'), object('b'), object('c'), object('d')]));
    // Concurrent read-modify-write updates: each marks one object; none may be lost.
    await Promise.all(
      saved.objects.map((_, index) =>
        store.update(saved.id, (snapshot) => ({
          ...snapshot,
          objects: snapshot.objects.map((item, position) => (position === index ? { ...item, written: true, resourceVersionAfter: String(200 + index) } : item)),
        })),
      ),
    );
    const updated = await store.get(saved.id);
    assert.deepEqual(updated.objects.map((item) => [item.written, item.resourceVersionAfter]), [
      [true, '200'],
      [true, '201'],
      [true, '202'],
      [true, '203'],
    ]);
    await assert.rejects(store.update(saved.id, (snapshot) => ({ ...snapshot, id: 'snap-20200101T000000Z-abcdef' })), isCode('refused'));
    await assert.rejects(store.update(saved.id, () => { throw new Error('caller bug'); }), /caller bug/);
    assert.deepEqual(await store.get(saved.id), updated);
    assert.deepEqual((await readdir(directory)).length, 1);
    await assert.rejects(store.update('snap-20200101T000000Z-abcdef', (snapshot) => snapshot), isCode('not-found'));
  });

  it('prunes snapshots older than the retention, using the injected clock, and stale temp files', async () => {
    let now = new Date('2026-10-01T12:00:00Z');
    const store = new SnapshotStore(directory, { retentionDays: 30, now: () => now });
    const old = await store.save(input());
    now = new Date('2026-10-20T12:00:00Z');
    const middle = await store.save(input());
    now = new Date('2026-11-05T12:00:00Z');
    const recent = await store.save(input());
    const staleTemp = path.join(directory, '.snap-20261001T120000Z-abcdef.json.1234abcd.tmp');
    await writeFile(staleTemp, '{');
    await utimes(staleTemp, new Date('2026-10-01T00:00:00Z'), new Date('2026-10-01T00:00:00Z'));

    now = new Date('2026-11-10T12:00:00Z'); // cutoff 2026-10-11T12:00Z
    assert.deepEqual(await store.prune(), [old.id]);
    now = new Date('2026-11-19T12:00:01Z'); // cutoff just past the middle one
    assert.deepEqual(await store.prune(), [middle.id]);
    assert.deepEqual((await store.list()).map((snapshot) => snapshot.id), [recent.id]);
    assert.deepEqual(await readdir(directory), [`${recent.id}.json`]);
    assert.throws(() => new SnapshotStore(directory, { retentionDays: 0 }), RangeError);
  });

  it('refuses a snapshot that cannot be serialised, leaving nothing', async () => {
    const store = new SnapshotStore(directory);
    const bad = object('api', { ...deployment('api'), size: BigInt(1) });
    await assert.rejects(store.save(input([bad])), isCode('write-failed'));
    assert.deepEqual(await readdir(directory), []);
  });
});
