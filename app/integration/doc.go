// Package integration holds the test that runs the app under a real
// in-process CometBFT node. It is a package of its own so that the app's
// unit tests do not build CometBFT's whole node.
package integration
