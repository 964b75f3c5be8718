#!/usr/bin/env bash
# Stop the Compose network. The chain stays in the 'net' volume and the
# next 'bash docker/up.sh' resumes it; 'bash docker/down.sh -v' deletes it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_docker
compose down "$@"
