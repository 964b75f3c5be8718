# Shared by up.sh, down.sh and build.sh; source it, do not run it.

# The repository root, whatever the caller's working directory.
DD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DD_COMPOSE_FILE="$DD_ROOT/docker/docker-compose.yml"

# compose_cmd prints the Docker Compose command installed: the
# 'docker compose' plugin (v2) if present, else the standalone
# 'docker-compose' (v1.29 or later).
compose_cmd() {
	if docker compose version >/dev/null 2>&1; then
		echo "docker compose"
	elif command -v docker-compose >/dev/null 2>&1; then
		echo "docker-compose"
	else
		echo "neither 'docker compose' nor 'docker-compose' is installed" >&2
		return 1
	fi
}

# compose runs Docker Compose on docker/docker-compose.yml.
compose() {
	local cmd
	cmd="$(compose_cmd)" || return 1
	# shellcheck disable=SC2086 # "docker compose" is two words
	$cmd -f "$DD_COMPOSE_FILE" "$@"
}

need_docker() {
	if ! command -v docker >/dev/null 2>&1; then
		echo "docker is not installed" >&2
		exit 1
	fi
	if ! docker info >/dev/null 2>&1; then
		echo "the Docker engine is not reachable (is dockerd running, may this user use it?)" >&2
		exit 1
	fi
}
