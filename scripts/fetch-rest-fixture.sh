#!/usr/bin/env bash
# Fetch the Apache Iceberg REST catalog test fixture (org.apache.iceberg.rest.RESTCatalogServer)
# into the local Maven repository and print the jar's absolute path on stdout.
#
# The self-contained runtime jar is the main artifact of org.apache.iceberg:iceberg-open-api
# (about 210 MB: the server, Jetty, Hadoop's local FileIO, the JDBC catalog and the SQLite
# JDBC driver, Main-Class RESTCatalogServer). The "test-fixtures" classifier jar of the same
# coordinates is thin and does not run on its own. Apache shipped the runtime from 1.8.0
# through 1.10.x only; 1.10.0 is pinned here.
#
# Idempotent: when the jar is already in the repository (and holds the server class) it is
# not fetched again. testenv.IcebergREST finds the jar at the same path, or at
# $FLOE_ICEBERG_REST_JAR. Environment:
#   FLOE_ICEBERG_REST_VERSION  version to fetch (default 1.10.0)
#   MAVEN_REPO                 local repository (default: mvn's, normally ~/.m2/repository)
# Progress goes to stderr; only the path goes to stdout, so callers can do
#   jar=$(scripts/fetch-rest-fixture.sh)
set -euo pipefail

version=${FLOE_ICEBERG_REST_VERSION:-1.10.0}
group=org.apache.iceberg
artifact=iceberg-open-api
class=org/apache/iceberg/rest/RESTCatalogServer.class

repo=${MAVEN_REPO:-${HOME}/.m2/repository}
jar=$repo/${group//.//}/$artifact/$version/$artifact-$version.jar

# has_server reports whether $1 is a jar holding the server class (a download cut short
# leaves no jar: Maven writes it under a temporary name and renames it when complete).
has_server() {
  [[ -s $1 ]] || return 1
  if command -v unzip > /dev/null; then
    unzip -l "$1" "$class" > /dev/null 2>&1
  else
    jar tf "$1" | grep -qxF "$class"
  fi
}

if ! has_server "$jar"; then
  command -v mvn > /dev/null || { echo "fetch-rest-fixture: mvn is not installed (apt-get install maven)" >&2; exit 1; }
  echo "fetch-rest-fixture: fetching $group:$artifact:$version (~210 MB) into $repo" >&2
  mvn -q -B dependency:get -Dartifact="$group:$artifact:$version" -Dtransitive=false \
    -Dmaven.repo.local="$repo" >&2
  if ! has_server "$jar"; then
    echo "fetch-rest-fixture: $jar was not fetched or lacks $class" >&2
    exit 1
  fi
fi
echo "$jar"
