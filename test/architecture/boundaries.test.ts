import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { FUSION_MIGRATIONS, ORCHESTRATOR_MIGRATIONS, SERVICES, repoRoot, type Migration } from '@omniaffect/core';

/**
 * The architecture's two rules, checked on the sources so a shortcut cannot creep back in:
 * services talk to each other only over gRPC and queues (no service imports another), and each
 * table has one owner (the orchestrator's and fusion's migrations name them; nobody else's SQL may).
 */

const root = repoRoot();

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const serviceSources = (name: string) =>
  sourceFiles(path.join(root, 'services', name, 'src')).map((f) => ({ file: path.relative(root, f), text: readFileSync(f, 'utf8') }));

const importsOf = (text: string): string[] => [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);

const tablesCreatedBy = (migrations: Migration[]): Set<string> =>
  new Set(migrations.flatMap((m) => [...m.sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)/g)].map((x) => x[1])));

/** Table names an SQL string in the source refers to (FROM / JOIN / INTO / UPDATE / DELETE FROM / LOCK TABLE). */
function tablesReferenced(text: string, known: Set<string>): Set<string> {
  const found = new Set<string>();
  for (const m of text.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_]+)/g)) if (known.has(m[1])) found.add(m[1]);
  return found;
}

test('no service imports another service; services depend only on the shared packages', () => {
  const shared = new Set(['@omniaffect/core', '@omniaffect/models', '@omniaffect/features', '@omniaffect/policy', '@omniaffect/explain']);
  for (const name of SERVICES) {
    const files = serviceSources(name);
    assert.ok(files.length > 0, `services/${name}/src has sources`);
    for (const { file, text } of files) {
      for (const spec of importsOf(text)) {
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(path.join(root, file)), spec);
          assert.ok(target.startsWith(path.join(root, 'services', name) + path.sep), `${file} imports ${spec}, outside its service`);
        } else if (spec.startsWith('@omniaffect/')) {
          assert.ok(shared.has(spec), `${file} imports ${spec}: a service may use only ${[...shared].join(', ')}`);
        }
      }
    }
  }
});

test('only the orchestrator and fusion open the database, and each touches only the tables it migrates', () => {
  const orchestratorTables = tablesCreatedBy(ORCHESTRATOR_MIGRATIONS);
  const fusionTables = tablesCreatedBy(FUSION_MIGRATIONS);
  // the lists themselves must be disjoint and cover what each side needs
  assert.ok(orchestratorTables.has('videos') && orchestratorTables.has('results') && orchestratorTables.has('webhook_deliveries'));
  assert.ok(fusionTables.has('embeddings'));
  for (const t of fusionTables) assert.ok(!orchestratorTables.has(t), `${t} is migrated by both services`);
  const all = new Set([...orchestratorTables, ...fusionTables]);
  const owned: Record<string, Set<string>> = { orchestrator: orchestratorTables, fusion: fusionTables };
  for (const name of SERVICES) {
    for (const { file, text } of serviceSources(name)) {
      const touched = tablesReferenced(text, all);
      const mine = owned[name] ?? new Set<string>();
      for (const t of touched) assert.ok(mine.has(t), `${file} uses table ${t}, which ${name} does not own`);
      if (!owned[name]) assert.ok(!importsOf(text).includes('pg'), `${file}: ${name} must not open the database`);
    }
  }
});

test('the table check notices a foreign table (it is not vacuous)', () => {
  const all = new Set(['embeddings', 'videos']);
  assert.deepEqual([...tablesReferenced("await q.query('SELECT data FROM embeddings WHERE video_id = $1')", all)], ['embeddings']);
  assert.deepEqual([...tablesReferenced('DELETE FROM videos WHERE id = $1', all)], ['videos']);
  assert.deepEqual(importsOf("import { Pool } from 'pg';\nexport { x } from './y';"), ['pg', './y']);
});
