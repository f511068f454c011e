package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// goCmd runs the go command in dir (the module root when empty).
func (r runner) goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	return r.run1(ctx, dir, "go", args...)
}

// run1 runs a program with the chosen engines and returns what it
// printed. When ctx ends, the whole process group goes: go test's test
// binaries, and any server a test started, not only the program itself.
func (r runner) run1(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_TEST_ENGINES="+r.engines)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	return out.String(), err
}
