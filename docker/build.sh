#!/usr/bin/env bash
# Build the DataDragon image, and publish it when REGISTRY is set.
#
#   bash docker/build.sh                                  # datadragon:VERSION and datadragon:latest
#   REGISTRY=registry.example.com/team bash docker/build.sh   # also tag and push REGISTRY/datadragon:…
#
# Environment:
#   IMAGE     image name (default datadragon)
#   VERSION   version tag (default: git describe --tags --always --dirty, else "dev");
#             also linked into the binary ('datadragon version')
#   LATEST    1 (default) also tags IMAGE:latest; 0 does not
#   REGISTRY  if set, tag REGISTRY/IMAGE:VERSION (and :latest) and docker push them;
#             log in first with 'docker login REGISTRY-HOST'
#   GO        the go command (default go)
#
# The binary is built outside Docker with CGO_ENABLED=0, so the image is
# FROM scratch and no base image has to be pulled.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE="${IMAGE:-datadragon}"
LATEST="${LATEST:-1}"
GO="${GO:-go}"
if [[ -z "${VERSION:-}" ]]; then
	VERSION="$(git -C "$DD_ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)"
fi
# A Docker tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
TAG="$(printf '%s' "$VERSION" | tr -c 'A-Za-z0-9_.-' '-' | cut -c1-128)"

need_docker

ctx="$(mktemp -d "${TMPDIR:-/tmp}/datadragon-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT

echo "building the static binary (version $VERSION)"
(cd "$DD_ROOT" && CGO_ENABLED=0 "$GO" build -trimpath \
	-ldflags "-s -w -X main.version=$VERSION" -o "$ctx/datadragon" ./cmd/datadragon)
mkdir -p "$ctx/net" "$ctx/tmp"
chmod 0755 "$ctx/datadragon" "$ctx/net"
chmod 1777 "$ctx/tmp"
cp "$DD_ROOT/docker/Dockerfile" "$ctx/Dockerfile"

refs=("$IMAGE:$TAG")
[[ "$LATEST" == 1 ]] && refs+=("$IMAGE:latest")
tags=()
for ref in "${refs[@]}"; do tags+=(-t "$ref"); done
echo "building image ${refs[*]}"
# BuildKit needs the buildx plugin; without it use the classic builder.
if [[ -z "${DOCKER_BUILDKIT:-}" ]] && ! docker buildx version >/dev/null 2>&1; then
	export DOCKER_BUILDKIT=0
fi
docker build --quiet "${tags[@]}" \
	--label "org.opencontainers.image.version=$VERSION" "$ctx" >/dev/null
echo "built $IMAGE:$TAG"

if [[ -n "${REGISTRY:-}" ]]; then
	REGISTRY="${REGISTRY%/}"
	for ref in "${refs[@]}"; do
		docker tag "$ref" "$REGISTRY/$ref"
		echo "pushing $REGISTRY/$ref"
		docker push "$REGISTRY/$ref"
	done
fi
