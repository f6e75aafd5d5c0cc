#!/usr/bin/env bash
# Updates the repository's copy of the Unleash client specification
# (crates/flagpole-core/tests/data/client-specification) from the npm package
# @unleash/client-specification, and shows what changed.
#   scripts/update-client-specification.sh [VERSION]   (default: the newest published)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=crates/flagpole-core/tests/data/client-specification
version="${1:-$(npm view @unleash/client-specification version)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@unleash/client-specification@$version" >/dev/null && tar xzf ./*.tgz)
echo "== @unleash/client-specification $(cat "$dest/VERSION") -> $version"
diff -ru "$dest/specifications" "$work/package/specifications" || true
diff -u "$dest/LICENSE" "$work/package/LICENSE" || true
rm -rf "$dest/specifications"
cp -r "$work/package/specifications" "$dest/specifications"
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "$version" >"$dest/VERSION"
echo "== updated $dest; run: cargo test -p flagpole-core --test client_specification -- --nocapture"
