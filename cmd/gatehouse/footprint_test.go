package main

// What a client can make the gateway hold is shown by measuring it: the
// goroutines, live heap and resident memory of the process, which the
// tests' gateways share with the tests.

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// footprint is what the process holds at one moment, after a collection.
type footprint struct {
	goroutines int
	heap       uint64 // bytes of live heap
	rss        uint64 // bytes resident, as the kernel counts them
}

func measure(t testing.TB) footprint {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return footprint{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc, rss: residentBytes(t)}
}

// residentBytes reads VmRSS from /proc/self/status (0 where there is none).
func residentBytes(t testing.TB) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (f footprint) String() string {
	return fmt.Sprintf("%d goroutines, heap %.1f MB, RSS %.1f MB", f.goroutines, float64(f.heap)/(1<<20), float64(f.rss)/(1<<20))
}

// settled waits until the process holds at most limit goroutines, and
// answers its footprint then (or after a generous wait).
func settled(t testing.TB, limit int) footprint {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f := measure(t)
		if f.goroutines <= limit || time.Now().After(deadline) {
			return f
		}
		time.Sleep(50 * time.Millisecond)
	}
}
