// Command mutate checks that Gatehouse's tests notice the bugs they are
// meant to catch. It makes small changes (mutants) to the files that hold
// the gateway's rules, one at a time, runs the tests that guard each file
// against the changed source, and reports every mutant the tests let
// through.
//
//	go run ./cmd/mutate                 # every target below
//	go run ./cmd/mutate graph dispatch  # some of them
//	go run ./cmd/mutate -list auth      # the mutants, without running tests
//
// The source tree is never written: each run hands go test an overlay
// (go help build, -overlay) that replaces one file, so runs may go side by
// side (-workers) and an interrupted run leaves nothing behind. Tests run on
// the SQLite engine alone by default (-engines): the rules are the same on
// both, and a run on two engines takes twice as long.
//
// Each test of a target is first run alone on the unchanged source, to
// learn which lines it runs; a mutant then runs only the tests that ran its
// line. It is killed when they fail (or run past the time limit), survives
// when they pass, and is not covered when no test of its target runs its
// line: those are counted as survivors without a run. A
// mutant that does not compile is left out of the score. docs/mutation.md
// lists the survivors worth knowing and why each may stay.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A target is a set of files that hold rules and the test packages that
// guard them. Tests of a package's rules also live in the end-to-end suite
// (cmd/gatehouse) where a rule is only visible through HTTP.
type target struct {
	name  string
	files []string
	tests []string
}

var targets = []target{
	{"auth", []string{"auth/password.go", "auth/throttle.go", "auth/token.go", "auth/header.go", "auth/clientip.go", "auth/authenticator.go", "auth/cache.go"},
		[]string{"./auth/", "./cmd/gatehouse/"}},
	{"graph", []string{"graph/prices.go", "graph/limits.go", "graph/directives.go", "graph/filterbounds.go"},
		[]string{"./graph/", "./cmd/gatehouse/"}},
	{"dispatch", []string{"dispatch/lease.go", "dispatch/chunk.go", "dispatch/webhook.go", "dispatch/retry.go"},
		[]string{"./dispatch/"}},
	{"sqlite", []string{"store/docdb/sqlite/query.go"},
		[]string{"./store/docdb/sqlite/", "./store/"}},
	{"rest", []string{"rest/drf.go", "rest/drf_fields.go"},
		[]string{"./rest/"}},
}

type outcome string

const (
	killed     outcome = "killed"
	timedOut   outcome = "timed out" // counted as killed
	survived   outcome = "SURVIVED"
	notCovered outcome = "NOT COVERED" // counted as a survivor
	invalid    outcome = "does not compile"
)

func main() {
	var (
		workers = flag.Int("workers", max(1, runtime.NumCPU()/2), "mutants tested side by side")
		engines = flag.String("engines", "sqlite", "GATEHOUSE_TEST_ENGINES for the tests")
		list    = flag.Bool("list", false, "list the mutants and run nothing")
		verbose = flag.Bool("v", false, "print every mutant's outcome, not only survivors")
	)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mutate [flags] [target ...]\ntargets:")
		for _, t := range targets {
			fmt.Fprintf(flag.CommandLine.Output(), " %s", t.name)
		}
		fmt.Fprintln(flag.CommandLine.Output())
		flag.PrintDefaults()
	}
	flag.Parse()
	chosen, err := choose(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		flag.Usage()
		os.Exit(2)
	}
	r := runner{workers: *workers, engines: *engines, verbose: *verbose}
	// Interrupted, the run cancels its go test commands, which kills each
	// one's process group: no test binary outlives it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := r.run(ctx, chosen, *list); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func choose(names []string) ([]target, error) {
	if len(names) == 0 {
		return targets, nil
	}
	var out []target
	for _, n := range names {
		i := indexOf(n)
		if i < 0 {
			return nil, fmt.Errorf("no target %q", n)
		}
		out = append(out, targets[i])
	}
	return out, nil
}

func indexOf(name string) int {
	for i, t := range targets {
		if t.name == name {
			return i
		}
	}
	return -1
}

type runner struct {
	workers int
	engines string
	verbose bool
}

// score counts outcomes; the score is the share of mutants that compile
// which the tests killed.
type score map[outcome]int

func (s score) String() string {
	caught := s[killed] + s[timedOut]
	all := caught + s[survived] + s[notCovered]
	pct := 100.0
	if all > 0 {
		pct = 100 * float64(caught) / float64(all)
	}
	return fmt.Sprintf("%d of %d killed (%.1f%%): %d survived, %d not covered, %d timed out, %d did not compile",
		caught, all, pct, s[survived], s[notCovered], s[timedOut], s[invalid])
}

func (r runner) run(ctx context.Context, chosen []target, list bool) error {
	module, err := modulePath()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "gatehouse-mutate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var tests suite
	if !list {
		if tests, err = r.measureAll(ctx, chosen, module, work); err != nil {
			return err
		}
	}
	total := score{}
	for _, t := range chosen {
		var all []mutant
		for _, f := range t.files {
			src, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			ms, err := mutants(f, src)
			if err != nil {
				return err
			}
			all = append(all, ms...)
		}
		if list {
			for _, m := range all {
				fmt.Println(m)
			}
			fmt.Printf("%s: %d mutants\n", t.name, len(all))
			continue
		}
		s := r.target(ctx, t, all, tests.of(t.tests), work)
		fmt.Printf("== %s: %s\n", t.name, s)
		for k, v := range s {
			total[k] += v
		}
	}
	if !list {
		fmt.Printf("== all: %s\n", total)
	}
	return nil
}

// measureAll measures, once, every test of the chosen targets' test
// packages, with coverage of every file they mutate.
func (r runner) measureAll(ctx context.Context, chosen []target, module, work string) (suite, error) {
	var pkgs, covered []string
	for _, t := range chosen {
		pkgs = append(pkgs, t.tests...)
		for _, f := range t.files {
			covered = append(covered, module+"/"+filepath.Dir(f))
		}
	}
	start := time.Now()
	tests, err := r.measure(ctx, unique(pkgs), unique(covered), module, work)
	if err != nil {
		return nil, err
	}
	fmt.Printf("== %d tests measured in %s\n", len(tests), time.Since(start).Round(time.Second))
	return tests, nil
}

// target runs, for each of its mutants, the tests that ran its line.
func (r runner) target(ctx context.Context, t target, all []mutant, tests suite, work string) score {
	fmt.Printf("== %s: %d mutants, %d tests\n", t.name, len(all), len(tests))

	s := score{}
	var mu sync.Mutex
	r.each(len(all), func(i int) {
		m := all[i]
		o := notCovered
		if reach, took := tests.reaching(m); len(reach) > 0 {
			// A mutant's run may take longer than the clean one (a loop
			// that no longer ends, a retry that waits); past three times
			// and a minute to build, it is called killed by time.
			limit := 3*took + time.Minute
			o = r.test(ctx, reach, m, filepath.Join(work, fmt.Sprintf("%s-%d", t.name, i)), limit)
		}
		mu.Lock()
		defer mu.Unlock()
		s[o]++
		if r.verbose || o == survived || o == notCovered {
			fmt.Printf("%-16s %s\n", o, m)
		}
	})
	return s
}

// test runs the tests that reach a mutant with the mutant in place of its
// file.
func (r runner) test(ctx context.Context, reach suite, m mutant, dir string, limit time.Duration) outcome {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return invalid
	}
	defer os.RemoveAll(dir)
	abs, err := filepath.Abs(m.File)
	if err != nil {
		return invalid
	}
	changed := filepath.Join(dir, filepath.Base(m.File))
	overlay := filepath.Join(dir, "overlay.json")
	if os.WriteFile(changed, m.Source, 0o644) != nil ||
		os.WriteFile(overlay, []byte(fmt.Sprintf(`{"Replace":{%q:%q}}`, abs, changed)), 0o644) != nil {
		return invalid
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	args := append([]string{"test", "-count=1", "-vet=off", "-failfast", "-overlay=" + overlay, "-run", reach.pattern()}, reach.packages()...)
	out, err := r.goCmd(ctx, "", args...)
	switch {
	case err == nil:
		return survived
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return timedOut
	case strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]"):
		return invalid
	}
	return killed
}

func unique(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
