#!/usr/bin/env bash
# Fetch and build the three servers the local stack runs, from package registries only:
#   kafka          Apache Kafka jars from Maven Central (KRaft, no ZooKeeper)
#   elasticsearch  the integration-test distribution from Maven Central + our analysis plugin
#   ferretdb       FerretDB built from its Go module (PostgreSQL backend)
#   postgres       PostgreSQL, FerretDB's storage, from Debian's `postgresql` package
# Everything lands in $NEWSFLOW_CACHE (default ~/.cache/newsflow, or /var/cache/newsflow for root:
# Elasticsearch runs as an unprivileged user, who cannot traverse /root); each step is skipped when
# its output is already there, so a second run costs nothing.
#
# usage: deploy/local/fetch.sh [kafka|elasticsearch|ferretdb|plugin|postgres|all]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/newsflow; else default_cache="$HOME/.cache/newsflow"; fi
cache="${NEWSFLOW_CACHE:-$default_cache}"
mkdir -p "$cache"

log() { printf '[fetch] %s\n' "$*" >&2; }

need_debian_tools() {
  local missing=()
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v go >/dev/null 2>&1 || missing+=(golang-go)
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
  fi
}

# The newest JDK on the machine (Elasticsearch 9 and its plugin API need Java 21+).
modern_java_home() {
  if [ -n "${NEWSFLOW_ES_JAVA_HOME:-}" ]; then echo "$NEWSFLOW_ES_JAVA_HOME"; return; fi
  local best="" best_v=0 d v
  for d in /usr/lib/jvm/*/; do
    d="${d%/}"
    [ -x "$d/bin/java" ] && [ ! -L "$d" ] || continue
    v="$("$d/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
    v="${v%%.*}"
    if [[ "$v" =~ ^[0-9]+$ ]] && ((v > best_v)); then best="$d"; best_v="$v"; fi
  done
  if ((best_v < 21)); then
    log "no JDK 21+ found under /usr/lib/jvm; installing openjdk-21 is not possible on Debian 12 — set NEWSFLOW_ES_JAVA_HOME"
    return 1
  fi
  echo "$best"
}

mvn_q() { mvn -B -q -Dmaven.repo.local="${NEWSFLOW_M2:-$HOME/.m2/repository}" "$@"; }

fetch_kafka() {
  local dest="$cache/kafka-$KAFKA_VERSION"
  if [ -f "$dest/.complete" ]; then log "kafka $KAFKA_VERSION cached"; return; fi
  log "kafka $KAFKA_VERSION: resolving jars"
  local work
  work="$(mktemp -d)"
  sed -e "s/@KAFKA_VERSION@/$KAFKA_VERSION/g" -e "s/@LOG4J_VERSION@/$LOG4J_VERSION/g" \
    "$here/kafka-pom.xml" >"$work/pom.xml"
  rm -rf "$dest" && mkdir -p "$dest/libs"
  (cd "$work" && mvn_q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dest/libs")
  rm -rf "$work"
  touch "$dest/.complete"
}

fetch_elasticsearch() {
  local dest="$cache/elasticsearch-$ES_VERSION"
  if [ -f "$dest/.complete" ]; then log "elasticsearch $ES_VERSION cached"; return; fi
  log "elasticsearch $ES_VERSION: fetching the integration-test distribution"
  local artifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
  mvn_q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get -Dartifact="$artifact" -Dtransitive=false
  local zip="${NEWSFLOW_M2:-$HOME/.m2/repository}/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  rm -rf "$dest" "$cache/es-unzip" && mkdir -p "$cache/es-unzip"
  unzip -q "$zip" -d "$cache/es-unzip"   # unzip keeps the execute bits; Python's zipfile drops them
  mv "$cache/es-unzip/elasticsearch-$ES_VERSION" "$dest"
  rm -rf "$cache/es-unzip"
  touch "$dest/.complete"
}

# The analysis plugin (deploy/elasticsearch/analysis-plugin): built with Maven on JDK 21+, then
# installed into the cached distribution. Rebuilt when its sources change (hash stamp).
fetch_plugin() {
  fetch_elasticsearch
  local src="$root/deploy/elasticsearch/analysis-plugin"
  local es="$cache/elasticsearch-$ES_VERSION"
  local stamp
  stamp="$(cd "$src" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  if [ -f "$es/.plugin-$stamp" ]; then log "analysis plugin $stamp installed"; return; fi
  local jh
  jh="$(modern_java_home)"
  log "analysis plugin: building with $jh"
  (cd "$src" && JAVA_HOME="$jh" mvn_q -DskipTests -Des.version="$ES_VERSION" -Dlucene.version="$LUCENE_VERSION" package)
  local zip
  zip="$(ls "$src"/target/newsflow-analysis-*.zip | head -n 1)"
  rm -f "$es"/.plugin-*
  ES_JAVA_HOME="$jh" "$es/bin/elasticsearch-plugin" remove --purge newsflow-analysis >/dev/null 2>&1 || true
  ES_JAVA_HOME="$jh" "$es/bin/elasticsearch-plugin" install --batch "file://$zip"
  touch "$es/.plugin-$stamp"
}

fetch_ferretdb() {
  local dest="$cache/ferretdb-$FERRETDB_VERSION"
  if [ -x "$dest/ferretdb" ]; then log "ferretdb $FERRETDB_VERSION cached"; return; fi
  log "ferretdb $FERRETDB_VERSION: building from the Go module"
  local dir work
  dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  work="$(mktemp -d)"
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  # The generated version file is not part of the module zip; without it the binary panics.
  mkdir -p "$work/build/version"
  echo "$FERRETDB_VERSION" >"$work/build/version/version.txt"
  mkdir -p "$dest"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$dest/ferretdb" ./cmd/ferretdb)
  rm -rf "$work"
}

need_debian_tools
case "${1:-all}" in
  kafka) fetch_kafka ;;
  elasticsearch) fetch_elasticsearch ;;
  plugin) fetch_plugin ;;
  ferretdb) fetch_ferretdb ;;
  postgres) ;;  # need_debian_tools above installed it
  all)
    fetch_kafka
    fetch_ferretdb
    fetch_plugin
    ;;
  *) echo "usage: $0 [kafka|elasticsearch|plugin|ferretdb|postgres|all]" >&2; exit 2 ;;
esac
