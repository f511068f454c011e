//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// flock takes no lock where the system has no flock: there copy cannot
// tell that a gateway is using a data directory, and relies on being run
// with the gateways stopped, as the README asks.
func flock(*os.File, bool) error { return nil }
