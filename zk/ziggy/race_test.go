//go:build race

package ziggy

// raceEnabled reports a -race build, where verification is about five
// times slower and the exhaustive tests sample instead.
const raceEnabled = true
