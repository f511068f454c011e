//go:build race

package main

// raceDetector tells tests built with -race, where the embedded store runs
// some twenty times slower, to send less of what they measure.
const raceDetector = true
