//go:build race

package sandbox

// The race detector maps shadow memory for every mapping, which an
// address-space limit cannot allow for.
const raceDetector = true
