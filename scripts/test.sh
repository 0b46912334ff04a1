#!/usr/bin/env bash
# The whole Rollcall test suite, for a fresh Debian machine and for CI.
#
# Installs what the tests need when it is missing (Debian packages:
# PostgreSQL, Chromium, SimpleSAMLphp with PHP, xmlsec1; npm packages are
# installed by the tests that use them), starts a throwaway PostgreSQL
# cluster on a free loopback port, runs the checks and every test on both
# database engines with the race detector, a short fuzz run of every fuzz
# target, every benchmark once, and stops what it started.
#
# Environment: FUZZTIME (default 100000x, i.e. executions per fuzz target),
# SKIP_INSTALL=1 to skip package installation.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

step() { printf '\n==> %s\n' "$*"; }

# ---- dependencies --------------------------------------------------------
packages=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in postgresql chromium simplesamlphp php8.2-cli php8.2-xml php8.2-mbstring php8.2-curl xmlsec1; do
  have_pkg "$p" || packages+=("$p")
done
# Node.js may come from elsewhere (NodeSource bundles npm with nodejs, and
# Debian's npm package conflicts with it): look for the commands instead.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ ${#packages[@]} -gt 0 ] && [ "${SKIP_INSTALL:-}" != 1 ]; then
  step "installing Debian packages: ${packages[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# ---- throwaway PostgreSQL --------------------------------------------------
tmp=$(mktemp -d /tmp/rollcall-test.XXXXXX)
chmod 755 "$tmp"
cleanup() { scripts/pg.sh stop "$tmp/pg" || true; rm -rf "$tmp"; }
trap cleanup EXIT
step "starting PostgreSQL"
ROLLCALL_TEST_POSTGRES=$(scripts/pg.sh start "$tmp/pg")
export ROLLCALL_TEST_POSTGRES
export ROLLCALL_TEST_STRICT=1 # a missing engine or tool fails, never skips
echo "$ROLLCALL_TEST_POSTGRES"

# ---- checks ----------------------------------------------------------------
step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
step "go vet"
go vet ./...
step "staticcheck"
go tool staticcheck ./...
step "go.mod tidy"
go mod tidy -diff
step "static binary"
CGO_ENABLED=0 go build -o "$tmp/rollcall" ./cmd/rollcall

# ---- tests -----------------------------------------------------------------
step "go test -race (SQLite and PostgreSQL)"
go test -race -count=1 -timeout 15m ./...

# The budget is a count of executions, not a duration: with a duration,
# Go 1.26's fuzz coordinator can report its own deadline as a failure
# ("context deadline exceeded", no failing input; go.dev/issue/75804, fixed
# in Go 1.27). -timeout still bounds a target that turns slow.
fuzztime="${FUZZTIME:-100000x}"
step "fuzz ($fuzztime per target)"
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "--- $pkg $f"
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s -timeout 5m "$pkg"
  done
done

step "benchmarks (once)"
go test -run='^$' -bench=. -benchtime=1x -timeout 10m ./...

step "all green"
