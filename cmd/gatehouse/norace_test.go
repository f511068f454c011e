//go:build !race

package main

// raceDetector tells tests built with -race, whose CPU and allocations
// are the detector's as much as the code's.
const raceDetector = false
