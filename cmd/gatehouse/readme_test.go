package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store/storetest"
)

// walkthroughSections are the README's sections whose shell blocks make
// one session, run in order: the GraphQL walkthrough, and the mailing it
// goes on with.
var walkthroughSections = []string{"## A GraphQL walkthrough", "## Mailings"}

// The README's walkthrough works as written, for a newcomer on a fresh
// data directory: its shell blocks run in order in one session of each
// shell it names (bash and zsh, those installed), with the real curl,
// against a gateway started as the quick start starts it (in the
// directory, on its default ./data). Two things are changed, and only
// these: `go run ./cmd/gatehouse` runs this test's gatehouse, and
// localhost:8080 is the address the gateway got. No answer may hold an
// error, the administrator's steps must succeed where the signed-up user
// would be refused, and the mailing, starting now, must be sent.
func TestREADMEWalkthrough(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("the walkthrough runs on the embedded store, once")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl: the README's walkthrough calls the gateway with it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, section := range walkthroughSections {
		for _, b := range fencedBlocks(t, sectionOf(t, string(readme), section)) {
			if b.lang != "sh" {
				t.Errorf("%s has a %q block: a step the test cannot run as written\n%s", section, b.lang, b.text)
				continue
			}
			blocks = append(blocks, b.text)
		}
	}
	if len(blocks) < 8 {
		t.Fatalf("%d shell blocks found in the walkthrough; the test would prove little", len(blocks))
	}

	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("no %s to run the README's shell blocks in", shell)
			}
			runWalkthrough(t, path, blocks)
		})
	}
}

// runWalkthrough runs the walkthrough's blocks in one session of shell,
// against a gateway of its own, and checks what they answer.
func runWalkthrough(t *testing.T, shell string, blocks []string) {
	dir := t.TempDir()
	gw := startGatehouse(t, dir, nil, "--addr", "127.0.0.1:0")
	addr, _ := gw.logs.wait(t, "listening", time.Minute)["addr"].(string)

	// Each block is preceded by a marker line, so that its output can be
	// told apart. The last block asks for the statistics; the dispatcher
	// may take longer than its sleep on a loaded machine, so the test asks
	// again, as the README says to, for up to 30 s.
	var script strings.Builder
	script.WriteString("set -e -o pipefail\n")
	for i, b := range blocks {
		b = strings.ReplaceAll(b, "go run ./cmd/gatehouse", `"$GATEHOUSE"`)
		b = strings.ReplaceAll(b, "localhost:8080", addr)
		script.WriteString("echo '@@ block " + string(rune('A'+i)) + "'\n" + b + "\n")
	}
	last := strings.ReplaceAll(blocks[len(blocks)-1], "localhost:8080", addr)
	last = strings.Replace(last, "sleep 3\n", "", 1)
	script.WriteString("for i in $(seq 30); do\n  out=$(" + last + ")\n  case $out in *'\"sent\":1'*) break ;; esac\n  sleep 1\ndone\necho '@@ again'\necho \"$out\"\n")

	cmd := exec.Command(shell, "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(freshEnv(), asGatehouse+"=1", "GATEHOUSE="+os.Args[0])
	out, err := cmd.CombinedOutput()
	t.Logf("the walkthrough's output:\n%s", out)
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\ngateway log:\n%s", err, gw.logs)
	}
	parts := regexp.MustCompile(`(?m)^@@ (block [A-Z]|again)\n`).Split(string(out), -1)[1:]
	if len(parts) != len(blocks)+1 {
		t.Fatalf("%d outputs for %d blocks", len(parts), len(blocks))
	}
	for i, p := range parts {
		if strings.Contains(p, `"errors"`) {
			t.Errorf("step %d answered an error:\n%s\n%s", i+1, blocks[min(i, len(blocks)-1)], p)
		}
	}
	all := string(out)
	for _, want := range []string{
		`"signUp":{"token":"`,                 // signed up
		`"me":{"id":"1","username":"kavehkm"`, // the token kept in $TOKEN is sent
		`"totalCount":1`,                      // users listed
		`Superuser "admin" created`,           // the administrator made
		`"vip":{"id":"1"},"mts":{"id":"1"}`,   // and its writes taken
		`"createClient":{"id":"1"}`,
		`"createMailing":{"id":"1","status":"`,
		`"total":1,`, // the mailing's one message
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %s in the walkthrough's output", want)
		}
	}
	if stats := parts[len(parts)-1]; !strings.Contains(stats, `"sent":1`) {
		t.Errorf("the mailing, started now, was not sent within 30 s: %s", stats)
	}
}

// fencedBlock is a fenced code block of a Markdown text.
type fencedBlock struct{ lang, text string }

// sectionOf is the text of the README section with the heading given, up
// to the next heading of its level.
func sectionOf(t *testing.T, readme, heading string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("the README has no section %q", heading)
	}
	rest := readme[i+1+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// fencedBlocks are the ``` blocks of text, in order.
func fencedBlocks(t *testing.T, text string) []fencedBlock {
	t.Helper()
	var blocks []fencedBlock
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("a ``` block is not closed:\n%s", strings.Join(body, "\n"))
		}
		blocks = append(blocks, fencedBlock{lang: lang, text: strings.Join(body, "\n")})
	}
	return blocks
}
