package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// process is a gatehouse process of the test's: the test binary run as
// gatehouse (see asGatehouse).
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...)}
	p.cmd.Env = append(os.Environ(), asGatehouse+"=1", "GATEHOUSE_LOG_FORMAT=json")
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			p.mu.Lock()
			p.logs.WriteString(lines.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", strings.Join(args, " "), p.log())
		}
	})
	return p
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// deliveries is the webhook of the test's dispatcher processes. Each
// calls it at a path of its own (/NAME/send/{id}), so the test knows who
// sent what. It counts the calls by message id and notes which process
// delivered each message (the first call answered). Once a victim is
// named, it answers that process's next calls, then holds the ones after
// unanswered until the process dies, and keeps the others' calls waiting
// until the victim holds a call in every send slot: the victim then
// certainly has sends in flight, and cannot be left without work by the
// others.
type deliveries struct {
	mu        sync.Mutex
	calls     map[string]int
	delivered map[string]string // message id → the process whose call was answered

	victim  string
	answer  int             // the victim's calls still to answer
	held    map[string]bool // the ids of the victim's calls held
	slots   int
	full    chan struct{} // closed once the victim holds slots calls
	stopped chan struct{} // closed when the test ends
}

func newDeliveries(t *testing.T) *deliveries {
	d := &deliveries{calls: map[string]int{}, delivered: map[string]string{}, held: map[string]bool{}, stopped: make(chan struct{})}
	t.Cleanup(func() { close(d.stopped) })
	return d
}

// hold names the victim: its next answer calls are answered, and the
// slots after them held.
func (d *deliveries) hold(victim string, answer, slots int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.victim, d.answer, d.slots, d.full = victim, answer, slots, make(chan struct{})
}

func (d *deliveries) handler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body) // then the server notices a caller that dies
	who, id, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/send/")
	d.mu.Lock()
	d.calls[id]++
	var wait <-chan struct{}
	held := false
	switch {
	case d.victim == "":
	case who != d.victim:
		wait = d.full
	case d.answer > 0:
		d.answer--
	default:
		held = true
		d.held[id] = true
		if len(d.held) == d.slots {
			close(d.full)
		}
	}
	d.mu.Unlock()
	if held {
		wait = nil // never: the call ends with its caller
	}
	if held || wait != nil {
		select {
		case <-wait:
		case <-r.Context().Done():
			return
		case <-d.stopped:
			return
		}
	}
	time.Sleep(5 * time.Millisecond) // a receiver that takes a moment
	d.mu.Lock()
	if _, ok := d.delivered[id]; !ok {
		d.delivered[id] = who
	}
	d.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// seen returns how many ids were delivered and how many were called more
// than once.
func (d *deliveries) seen() (ids, repeated int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.calls {
		if n > 1 {
			repeated++
		}
	}
	return len(d.delivered), repeated
}

// heldBy returns the ids of the victim's held calls, and who delivered
// each in the end.
func (d *deliveries) heldBy() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for id := range d.held {
		out[id] = d.delivered[id]
	}
	return out
}

func (d *deliveries) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ids, _ := d.seen(); ids >= n {
			return
		}
		if time.Now().After(deadline) {
			ids, _ := d.seen()
			t.Fatalf("%d of %d messages delivered after %v", ids, n, within)
		}
		time.Sleep(20 * time.Millisecond) // a poll with a deadline
	}
}

// On one embedded data directory, a gateway that does not dispatch and two
// dispatcher processes deliver a mailing exactly once. When one dispatcher
// is killed mid-mailing, with a call in each of its send slots, the other
// takes its work over: it delivers the messages the dead one had in
// flight, and the receiver sees no more repeats than the killed one had
// send slots (each outcome is recorded before its slot sends again).
func TestDispatcherProcessesShareOneDataDirectory(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("processes sharing the embedded store's file")
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s := openDataDir(t, dir)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tag, _ := s.CreateTag(ctx, "vip")
	code, _ := s.CreateOperatorCode(ctx, "916")
	const clients = 400
	in := make([]store.ClientInput, clients)
	for i := range in {
		in[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("7916%07d", i), OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}
	}
	if _, err := s.CreateClients(ctx, in); err != nil {
		t.Fatal(err)
	}
	got := newDeliveries(t)
	receiver := httptest.NewServer(http.HandlerFunc(got.handler))
	t.Cleanup(receiver.Close)

	const concurrency = 4
	startProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--dispatch=false")
	dispatcher := func(name string, sendTimeout, lease time.Duration) *process {
		return startProcess(t, "dispatch", "--data", dir, "--sender", "webhook", "--webhook-url", receiver.URL+"/"+name+"/send/{id}",
			"--send-concurrency", fmt.Sprint(concurrency), "--send-timeout", sendTimeout.String(), "--dispatch-lease", lease.String(), "--shutdown-timeout", "1s")
	}
	// The victim's calls are held until the kill, which comes at once: its
	// send timeout only has to outlast that moment, and its lease (the
	// wait for the takeover) is the shortest that timeout allows. The
	// survivor's calls wait until the victim is full: its timeout outlasts
	// that wait.
	victim := dispatcher("victim", 4*time.Second, 10*time.Second)
	dispatcher("survivor", 30*time.Second, time.Minute)

	now := time.Now()
	mailing := func(text string) store.ID {
		m, err := s.CreateMailing(ctx, store.MailingInput{Text: text, Start: now.Add(-time.Minute), End: now.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	mailing("once")
	got.waitFor(t, clients, time.Minute)
	if ids, repeated := got.seen(); ids != clients || repeated != 0 {
		t.Fatalf("first mailing: %d ids delivered, %d of them called more than once", ids, repeated)
	}

	// The second mailing: the victim delivers a few, then is killed with a
	// call in each send slot.
	got.hold("victim", 20, concurrency)
	second := mailing("kill")
	select {
	case <-got.full:
	case <-time.After(time.Minute):
		t.Fatal("the victim did not fill its send slots within a minute")
	}
	victim.kill(t)
	// The mailing finishes once every message is final: no send is left
	// to come after that.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, err := s.MailingByID(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status.Final() {
			break
		}
		if time.Now().After(deadline) {
			ids, _ := got.seen()
			t.Fatalf("the second mailing is %s after 2m, %d of %d messages delivered", m.Status, ids, 2*clients)
		}
		time.Sleep(20 * time.Millisecond) // a poll with a deadline
	}
	held := got.heldBy()
	if len(held) != concurrency {
		t.Fatalf("the victim had %d calls held, want one per send slot (%d): a held call timed out before the kill", len(held), concurrency)
	}
	for id, by := range held {
		if by != "survivor" {
			t.Errorf("message %s, in flight at the kill, delivered by %q: not taken over", id, by)
		}
	}
	ids, repeated := got.seen()
	if ids != 2*clients || repeated > concurrency {
		t.Errorf("after the kill: %d ids delivered, %d called more than once (at most %d may be)", ids, repeated, concurrency)
	}
	t.Logf("%d messages delivered, %d called twice after the kill", ids, repeated)
}

// freshEnv is this process's environment without Gatehouse's settings, as
// a newcomer's shell has it, so the defaults the README relies on apply.
func freshEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEHOUSE_") || strings.HasPrefix(kv, "MONGODB_URI=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// gatehouseIn is a gatehouse process run in a directory of the test's.
type gatehouseIn struct {
	cmd  *exec.Cmd
	logs *logWatch
	done chan error
}

// startGatehouse runs gatehouse (the test binary as main) in dir with
// args, its logs in JSON; the test's end stops it.
func startGatehouse(t *testing.T, dir string, env []string, args ...string) *gatehouseIn {
	t.Helper()
	p := &gatehouseIn{cmd: exec.Command(os.Args[0], args...), logs: newLogWatch(), done: make(chan error, 1)}
	p.cmd.Dir = dir
	p.cmd.Env = append(append(freshEnv(), asGatehouse+"=1", "GATEHOUSE_LOG_FORMAT=json"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("gatehouse %v did not stop within 30s of SIGTERM", args)
		}
	})
	return p
}

// exited waits up to d for the process to end, and returns what it wrote
// and how it ended.
func (p *gatehouseIn) exited(t *testing.T, d time.Duration) (string, error) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return p.logs.String(), err
	case <-time.After(d):
		t.Fatalf("gatehouse still runs after %v:\n%s", d, p.logs)
		return "", nil
	}
}
