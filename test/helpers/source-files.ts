import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The text of every file below `folder` (a path from `repo`) whose name `include` accepts,
 * keyed by its path from `repo`: what the tests over the whole source tree read.
 */
export function sourceFiles(
  repo: string,
  folder: string,
  include: (name: string) => boolean,
): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (include(entry.name)) out.set(path, readFileSync(join(repo, path), 'utf8'));
    }
  };
  walk(folder);
  return out;
}
