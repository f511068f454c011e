package main

import (
	"bufio"
	"context"
	"fmt"
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

// deliveries counts the webhook's calls by message id.
type deliveries struct {
	mu    sync.Mutex
	count map[string]int
}

func (d *deliveries) handler(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.count[strings.TrimPrefix(r.URL.Path, "/send/")]++
	d.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // a receiver that takes a moment
	w.WriteHeader(http.StatusAccepted)
}

// seen returns how many ids arrived and how many arrived more than once.
func (d *deliveries) seen() (ids, repeated int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.count {
		if n > 1 {
			repeated++
		}
	}
	return len(d.count), repeated
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
// dispatcher processes deliver a mailing exactly once; when one dispatcher
// is killed mid-mailing, the other takes its work over, and the receiver
// sees no more repeats than the killed one had sends in flight.
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
	got := &deliveries{count: map[string]int{}}
	receiver := httptest.NewServer(http.HandlerFunc(got.handler))
	t.Cleanup(receiver.Close)

	const concurrency = 4
	startProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--dispatch=false")
	dispatcher := func() *process {
		return startProcess(t, "dispatch", "--data", dir, "--sender", "webhook", "--webhook-url", receiver.URL+"/send/{id}",
			"--send-concurrency", fmt.Sprint(concurrency), "--send-timeout", "1s", "--dispatch-lease", "6s", "--shutdown-timeout", "1s")
	}
	first, _ := dispatcher(), dispatcher()

	now := time.Now()
	mailing := func(text string) {
		if _, err := s.CreateMailing(ctx, store.MailingInput{Text: text, Start: now.Add(-time.Minute), End: now.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}}); err != nil {
			t.Fatal(err)
		}
	}
	mailing("once")
	got.waitFor(t, clients, time.Minute)
	if ids, repeated := got.seen(); ids != clients || repeated != 0 {
		t.Fatalf("first mailing: %d ids delivered, %d of them more than once", ids, repeated)
	}

	// The second mailing: one dispatcher dies a little way in.
	mailing("kill")
	got.waitFor(t, clients+clients/4, time.Minute)
	first.kill(t)
	got.waitFor(t, 2*clients, 2*time.Minute)
	time.Sleep(500 * time.Millisecond) // anything late would arrive now
	ids, repeated := got.seen()
	if ids != 2*clients || repeated > concurrency {
		t.Errorf("after the kill: %d ids delivered, %d more than once (at most %d may be)", ids, repeated, concurrency)
	}
	t.Logf("%d messages delivered, %d twice after the kill", ids, repeated)
}
