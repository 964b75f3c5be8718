#!/usr/bin/env bash
# Build the image and start the Compose network: 4 validators, 2 sources.
#   bash docker/up.sh
# Skip the build with NO_BUILD=1 (uses the existing ${DD_IMAGE:-datadragon:latest}).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_docker
compose_cmd >/dev/null
if [[ "${NO_BUILD:-0}" != 1 ]]; then
	bash "$DD_ROOT/docker/build.sh"
fi
# The write token of the push stream 'uploads': made once, kept beside
# this script (not in git), its SHA-256 goes into the genesis.
token_file="$DD_ROOT/docker/.upload-token"
if [[ ! -s "$token_file" ]]; then
	(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file")
fi
DD_UPLOAD_TOKEN_SHA256="$(tr -d '\n' <"$token_file" | sha256sum | cut -d' ' -f1)"
export DD_UPLOAD_TOKEN_SHA256
compose up -d
compose ps
bind="${DD_BIND:-127.0.0.1}"
cat <<MSG

DataDragon is starting (first blocks within a few seconds):
  node0 API  http://$bind:${DD_NODE0_PORT:-8080}/v1/status   (node1..3 on ${DD_NODE1_PORT:-8081}..${DD_NODE3_PORT:-8083})
  records    http://$bind:${DD_NODE0_PORT:-8080}/v1/streams/sensors/records
  sources    ws://$bind:${DD_SENSORS_PORT:-9001}/stream (sensors), ws://$bind:${DD_TICKS_PORT:-9002}/stream (ticks)
  explorer   http://$bind:${DD_NODE0_PORT:-8080}/
  push       datadragon stream --node http://$bind:${DD_NODE0_PORT:-8080} --stream uploads --token "\$(cat docker/.upload-token)" FILE   (writes FILE.ddr; check it: datadragon verify FILE.ddr --genesis genesis.json)
Logs: $(compose_cmd) -f docker/docker-compose.yml logs -f node0     Stop: bash docker/down.sh
MSG
