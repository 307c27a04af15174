// Remark plugin for Markdown files of the repository that pages include at build time (docs/architecture.md,
// bench/RESULTS.md): their leading `# Title` is dropped, since the including page already has its title.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const contentDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../content');

export function remarkIncluded() {
  return (tree, file) => {
    const source = file.path ? path.resolve(file.path) : '';
    if (!source || source.startsWith(contentDir + path.sep)) return;
    const first = tree.children.findIndex((node) => node.type !== 'yaml' && node.type !== 'html');
    if (first >= 0 && tree.children[first].type === 'heading' && tree.children[first].depth === 1) {
      tree.children.splice(first, 1);
    }
  };
}
