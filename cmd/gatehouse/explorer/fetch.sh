#!/bin/sh
# fetch.sh: brings the explorer's third-party files (GraphiQL and the React
# it runs on) from the npm registry into third_party/, where the binary
# embeds them. The build never runs it: its output is committed, so that a
# build needs no network. Run it again only to move to another release:
# change a pin below, run it, and commit what it writes.
#
# Each package is pinned by version and by the sha512 integrity the registry
# published for its tarball (`npm view NAME@VERSION dist.integrity`). The
# script refuses a registry that now answers another integrity, and a
# tarball whose own sha512 is not the pinned one, so what is committed is
# byte for byte what those releases published. Needs npm, tar, openssl and
# base64, and node for the licences of what GraphiQL's bundle holds.
set -eu

# name version integrity: files to keep (path in the tarball, below package/)
PINS='
graphiql 4.1.2 sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg== graphiql.min.js graphiql.min.css LICENSE
react 18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ== umd/react.production.min.js LICENSE
react-dom 18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw== umd/react-dom.production.min.js LICENSE
'

here=$(cd "$(dirname "$0")" && pwd)
out="$here/third_party"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sums="$work/SHA256SUMS"
: >"$sums"
echo "$PINS" | while read -r name version integrity files; do
  [ -n "$name" ] || continue
  published=$(npm view "$name@$version" dist.integrity)
  if [ "$published" != "$integrity" ]; then
    echo "$name@$version: the registry now publishes integrity $published, not the pinned $integrity" >&2
    exit 1
  fi
  tarball=$(cd "$work" && npm pack --silent "$name@$version")
  got="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 | tr -d '\n')"
  if [ "$got" != "$integrity" ]; then
    echo "$name@$version: tarball sha512 is $got, not the pinned $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name"
  rm -rf "${out:?}/$name"
  mkdir -p "$out/$name"
  for f in $files; do
    cp "$work/$name/package/$f" "$out/$name/$(basename "$f")"
    (cd "$out" && sha256sum "$name/$(basename "$f")") >>"$sums"
  done
  echo "$name@$version $integrity" >>"$work/PINS"
done

# GraphiQL's bundle holds other packages (graphql-js, graphql-ws,
# CodeMirror, Radix, markdown-it and more) whose licences travel with it.
# Its source map, in the same tarball, names them; npm installs graphiql
# with its dependencies as the registry resolves them now (and, by name,
# those it bundled without depending on them), and each bundled package's
# licence is taken from there into third_party/graphiql/BUNDLED_LICENSES.
# The versions are today's resolution, not necessarily those the bundle
# was built from: the licence texts are what the names need.
licences() {
  node "$here/bundled-licenses.js" "$work/graphiql/package/graphiql.min.js.map" "$@"
}
npm install --silent --prefix "$work/deps" --ignore-scripts --no-audit --no-fund --no-save \
  graphiql@4.1.2 react@18.3.1 react-dom@18.3.1 graphql@16 >/dev/null
missing=$(licences --missing "$work/deps/node_modules")
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086 # one word per package
  npm install --silent --prefix "$work/more" --ignore-scripts --no-audit --no-fund --no-save $missing >/dev/null
fi
licences "$work/deps/node_modules" "$work/more/node_modules" >"$out/graphiql/BUNDLED_LICENSES"
(cd "$out" && sha256sum graphiql/BUNDLED_LICENSES) >>"$sums"

{
  echo "# Written by ../fetch.sh: each package as pinned, then the sha256 of"
  echo "# every file it kept. Edit fetch.sh, not this file."
  cat "$work/PINS"
  echo
  cat "$sums"
} >"$out/MANIFEST"
echo "wrote $out"
