#!/usr/bin/env bash
# Moves every pinned reference to the dataops image, and to the action and
# GitLab templates of a release, to VERSION (1.2.3): action.yml, the GitLab
# component's default image-version, the plain GitLab template, and the
# README's examples. The release workflow runs it; a test checks it.
#
# usage: .github/release-version.sh VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: $0 VERSION (e.g. 1.2.3)}
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || { echo "$0: $version is not a version like 1.2.3" >&2; exit 2; }

v='[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?'
sed -i -E "s#(docker://ghcr\.io/dataops-dev/dataops:)${v}#\1${version}#" action.yml
sed -i -E "s#(ghcr\.io/dataops-dev/dataops:)${v}#\1${version}#; s#(dataops-dev/dataops/)v${v}(/ci/gitlab)#\1v${version}\3#" ci/gitlab/dataops.gitlab-ci.yml
sed -i -E "/^    image-version:/,/^    [a-z]/ s#(default: \")${v}\"#\1${version}\"#; s#(/dataops@)v${v}#\1v${version}#" templates/dataops.yml
sed -i -E "s#(dataops-dev/dataops@)v${v}#\1v${version}#g; s#(ghcr\.io/dataops-dev/dataops:)${v}#\1${version}#g; s#(dataops-dev/dataops/dataops@)v${v}#\1v${version}#g; s#(dataops-dev/dataops/)v${v}(/ci/gitlab)#\1v${version}\3#g" README.md
