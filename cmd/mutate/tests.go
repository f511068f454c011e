package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// A testCase is one top-level test of a test package, with what it ran of
// the target's files and how long it took on the unchanged source.
type testCase struct {
	pkg   string // the package as the target names it (./auth/)
	name  string
	took  time.Duration
	cover coverage
}

// suite is every test of some test packages, each measured alone.
// A mutant then runs only the tests that ran its line: a change no test
// reaches is not covered, and one that a few tests reach costs those few,
// not the whole package.
type suite []testCase

// measure builds each test package once with coverage of the packages
// that mutants change, lists its tests and runs each alone (in the package's
// directory, as go test would), keeping what each covered. Every test
// must pass: a mutant can only be judged against tests that pass without
// it.
func (r runner) measure(ctx context.Context, pkgs, coverPkgs []string, module, work string) (suite, error) {
	var all suite
	for i, pkg := range pkgs {
		bin, err := filepath.Abs(filepath.Join(work, fmt.Sprintf("pkg-%d.test", i)))
		if err != nil {
			return nil, err
		}
		if out, err := r.goCmd(ctx, "", "test", "-c", "-o", bin, "-cover", "-coverpkg="+strings.Join(coverPkgs, ","), pkg); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
		out, err := r.command(ctx, pkg, bin, "-test.list", ".")
		if err != nil {
			return nil, fmt.Errorf("listing %s: %v\n%s", pkg, err, out)
		}
		for _, name := range strings.Fields(out) {
			if strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "Fuzz") {
				all = append(all, testCase{pkg: pkg, name: name})
			}
		}
		var (
			mu       sync.Mutex
			failures []string
		)
		r.each(len(all), func(j int) {
			tc := &all[j]
			if tc.pkg != pkg || tc.cover != nil {
				return
			}
			profile := filepath.Join(work, fmt.Sprintf("test-%d.cover", j))
			start := time.Now()
			out, err := r.command(ctx, pkg, bin, "-test.count=1", "-test.run", "^"+regexp.QuoteMeta(tc.name)+"$", "-test.coverprofile="+profile)
			tc.took = time.Since(start)
			if err == nil {
				tc.cover, err = readCoverage(profile, module)
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%s %s: %v\n%s", pkg, tc.name, err, out))
				mu.Unlock()
			}
		})
		if len(failures) > 0 {
			return nil, fmt.Errorf("tests fail before any change, so no mutant can be judged:\n%s", strings.Join(failures, "\n"))
		}
	}
	return all, nil
}

// of keeps the tests of the given packages.
func (s suite) of(pkgs []string) suite {
	var out suite
	for _, tc := range s {
		if slices.Contains(pkgs, tc.pkg) {
			out = append(out, tc)
		}
	}
	return out
}

// reaching returns the tests that ran a mutant's line, and how long they
// took together.
func (s suite) reaching(m mutant) (suite, time.Duration) {
	var out suite
	var took time.Duration
	for _, tc := range s {
		if tc.cover.covers(m.File, m.AtLine, m.AtCol) || (m.Package && filepath.Clean(tc.pkg) == filepath.Dir(m.File)) {
			out = append(out, tc)
			took += tc.took
		}
	}
	return out, took
}

// packages and pattern are go test's arguments for running these tests
// alone: their packages, and a -run pattern matching their names.
func (s suite) packages() []string {
	var pkgs []string
	for _, tc := range s {
		pkgs = append(pkgs, tc.pkg)
	}
	return unique(pkgs)
}

func (s suite) pattern() string {
	var names []string
	for _, tc := range s {
		names = append(names, regexp.QuoteMeta(tc.name))
	}
	return "^(" + strings.Join(unique(names), "|") + ")$"
}

// each calls f(0)…f(n-1) on the runner's workers.
func (r runner) each(n int, f func(int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < r.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// command runs a test binary in its package's directory.
func (r runner) command(ctx context.Context, pkg, bin string, args ...string) (string, error) {
	dir, err := filepath.Abs(pkg)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return r.run1(ctx, dir, bin, args...)
}
