// Package docker holds DataDragon's container packaging — the FROM scratch
// Dockerfile, the Compose network of 4 validators and 2 data sources, and
// the scripts that build, publish, start and stop them (see README.md,
// "Docker") — and the container test that brings the network up on a real
// Docker engine. It has no Go API.
package docker
