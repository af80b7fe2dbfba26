#!/usr/bin/env bash
# Proves the published packages work outside the monorepo: builds, packs every workspace, installs
# the tarballs into an empty project, then imports each package, type-checks an import of each
# against its shipped .d.ts, and checks that declared bins are installed.
#
#   bash scripts/check-pack.sh              # build first (what CI runs)
#   bash scripts/check-pack.sh --skip-build # reuse the dist/ folders already built
#   KEEP_PACK_DIR=1 bash scripts/check-pack.sh  # keep the temporary project for inspection
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1
for arg in "$@"; do
  case "$arg" in
    --skip-build) build=0 ;;
    *)
      echo "check-pack: unknown argument '$arg'; expected --skip-build or nothing" >&2
      exit 2
      ;;
  esac
done

say() { printf '[check-pack %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/galore-ts-pack.XXXXXX")"
cleanup() {
  if [[ "${KEEP_PACK_DIR:-0}" == 1 ]]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [[ "$build" == 1 ]]; then
  say 'building'
  npm run build
fi

# Workspace folders and package names, in the order the root package.json lists them.
mapfile -t workspaces < <(node -e 'for (const w of require("./package.json").workspaces) console.log(w)')
names=()
for ws in "${workspaces[@]}"; do
  if [[ ! -f "$ws/dist/index.js" || ! -f "$ws/dist/index.d.ts" ]]; then
    echo "check-pack: $ws/dist/index.js or index.d.ts is missing; run 'npm run build' first" >&2
    exit 1
  fi
  names+=("$(node -p "require('./$ws/package.json').name")")
done

# Hoisting in the test project would hide a sibling package imported but never declared, so check
# every bare import in each dist/ against that package's own dependency lists first.
say 'checking that every package declares what its dist/ imports'
node --input-type=module - "${workspaces[@]}" <<'EOF'
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const importRe = /(?:\bfrom|\bimport)\s*\(?\s*["']([^"'./][^"']*)["']/g;
const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2) : spec.split('/').slice(0, 1)).join('/');
let problems = 0;
for (const ws of process.argv.slice(2)) {
  const pkg = JSON.parse(readFileSync(join(ws, 'package.json'), 'utf8'));
  const declared = new Set(
    [pkg.dependencies, pkg.peerDependencies, pkg.optionalDependencies].flatMap((deps) => Object.keys(deps ?? {})),
  );
  const files = readdirSync(join(ws, 'dist'), { recursive: true }).filter((f) => /\.(js|d\.ts)$/.test(f));
  for (const file of files) {
    const text = readFileSync(join(ws, 'dist', file), 'utf8');
    for (const spec of new Set(Array.from(text.matchAll(importRe), (m) => m[1]))) {
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      const name = packageOf(spec);
      if (name === pkg.name || declared.has(name)) continue;
      console.error(`check-pack: ${pkg.name} imports '${spec}' in dist/${file}, but does not declare '${name}' as a dependency`);
      problems++;
    }
  }
}
process.exit(problems > 0 ? 1 : 0);
EOF

say "packing ${#workspaces[@]} packages into $work"
npm pack --workspaces --pack-destination "$work" --silent >/dev/null
shopt -s nullglob
tarballs=("$work"/*.tgz)
if [[ ${#tarballs[@]} -ne ${#workspaces[@]} ]]; then
  echo "check-pack: expected ${#workspaces[@]} tarballs, got ${#tarballs[@]}: ${tarballs[*]}" >&2
  exit 1
fi

project="$work/project"
mkdir "$project"
cd "$project"
printf '{ "name": "galore-ts-pack-check", "private": true, "type": "module" }\n' >package.json
say 'installing the tarballs into an empty project'
npm install --no-audit --no-fund --loglevel=error "${tarballs[@]}"

for name in "${names[@]}"; do
  say "importing $name"
  PACKAGE="$name" node --input-type=module -e '
    const name = process.env.PACKAGE;
    const m = await import(name);
    console.log(`  ${name}: ${Object.keys(m).length} exports`);
  '
done

say 'type-checking an import of every package against its shipped .d.ts'
{
  for i in "${!names[@]}"; do printf 'import * as package%d from %s;\n' "$i" "'${names[$i]}'"; done
  printf 'export const packages = [%s];\n' "$(for i in "${!names[@]}"; do printf 'package%d, ' "$i"; done)"
} >check.ts
cat >tsconfig.json <<EOF
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"],
    "typeRoots": ["$root/node_modules/@types"]
  },
  "files": ["check.ts"]
}
EOF
"$root/node_modules/.bin/tsc" -p tsconfig.json

# Every bin a package declares must be installed as an executable and answer --help.
for name in "${names[@]}"; do
  while IFS= read -r bin; do
    [[ -z "$bin" ]] && continue
    if [[ ! -x "node_modules/.bin/$bin" ]]; then
      echo "check-pack: $name declares bin '$bin', but node_modules/.bin/$bin is not an installed executable" >&2
      exit 1
    fi
    if ! help="$("node_modules/.bin/$bin" --help 2>&1 </dev/null)"; then
      echo "check-pack: '$bin --help' (from $name) failed:" >&2
      echo "$help" >&2
      exit 1
    fi
    say "bin $bin of $name is installed and answers --help"
  done < <(PACKAGE="$name" node -e '
    const pkg = require(`./node_modules/${process.env.PACKAGE}/package.json`);
    const bins = typeof pkg.bin === "string" ? [pkg.name.split("/").pop()] : Object.keys(pkg.bin ?? {});
    for (const b of bins) console.log(b);
  ')
done

say "ok: ${names[*]}"
