package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/store"
)

// browserPath finds a Chromium to drive: $GATEHOUSE_BROWSER, or Debian's
// chromium. Without one the browser tests skip, unless
// GATEHOUSE_REQUIRE_BROWSER=1 (CI installs Chromium and sets it), where a
// missing browser fails them.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("GATEHOUSE_BROWSER"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GATEHOUSE_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found (apt-get install chromium), and GATEHOUSE_REQUIRE_BROWSER=1")
	}
	t.Skip("no Chromium found (apt-get install chromium, or set GATEHOUSE_BROWSER)")
	return ""
}

// artifactDir is where a browser test leaves its screenshots:
// $GATEHOUSE_TEST_ARTIFACTS when set, kept after the run; otherwise the
// test's temporary directory.
func artifactDir(t *testing.T) string {
	if dir := os.Getenv("GATEHOUSE_TEST_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// pageWatch is what a page did that a test checks afterwards: every URL it
// asked for, websockets included, every uncaught exception, and every
// console error.
type pageWatch struct {
	mu         sync.Mutex
	urls       []string
	exceptions []string
	console    []string
}

func (w *pageWatch) listen(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		w.urls = append(w.urls, ev.Request.URL)
	case *network.EventWebSocketCreated:
		w.urls = append(w.urls, ev.URL)
	case *runtime.EventExceptionThrown:
		text := ev.ExceptionDetails.Text
		if e := ev.ExceptionDetails.Exception; e != nil {
			text += " " + e.Description
		}
		w.exceptions = append(w.exceptions, text)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			w.console = append(w.console, strings.Join(parts, " "))
		}
	}
}

// foreign are the URLs the page asked for outside origin; data: URLs (the
// fonts and icons in GraphiQL's stylesheet) stay in the page.
func (w *pageWatch) foreign(gateway *url.URL) (all, foreign []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, raw := range w.urls {
		u, err := url.Parse(raw)
		switch {
		case err == nil && (u.Scheme == "data" || u.Scheme == "blob" || raw == "about:blank"):
		case err == nil && u.Host == gateway.Host && (u.Scheme == "http" || u.Scheme == "ws"):
		default:
			foreign = append(foreign, raw)
		}
		if !strings.HasPrefix(raw, "data:") {
			all = append(all, raw)
		}
	}
	return all, foreign
}

// cspWatch runs in the page before its own scripts and keeps every
// Content-Security-Policy violation, which the page's scripts cannot see.
const cspWatch = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});`

// GraphiQL's parts, as the tests find them.
const (
	jsQueryEditor  = `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror`
	jsHeaderEditor = `document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror`
	jsResult       = `(document.querySelector('.result-window .CodeMirror') || {CodeMirror: {getValue: () => ''}}).CodeMirror.getValue()`
)

// The explorer, in a real browser: GraphiQL renders from the gateway's
// own files with the network to anywhere else unused, the welcome
// operation runs signed out, the docs list the schema's root types, a
// query with a token in the Headers pane answers as that user, and a
// subscription hears a mailing's progress over the gateway's websocket,
// signed in by the same header. A screenshot is left for people to look
// at.
func TestExplorerInABrowser(t *testing.T) {
	chromium := browserPath(t)
	g, root := mailingWorldOn(t, newServedGateway(t))
	start := time.Now().Add(-time.Minute)
	if _, err := g.store.CreateMailing(context.Background(), store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}}); err != nil {
		t.Fatal(err)
	}
	gatewayURL, _ := url.Parse(g.srv.URL)

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()), // a cold cache
		chromedp.WindowSize(1400, 900),
		chromedp.DisableGPU,
		// What a browser does on its own (updates, QUIC probes) is no part
		// of the page, and this machine's network refuses it.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	watch := &pageWatch{}
	ctx, cancelBrowser := chromedp.NewContext(ctx, chromedp.WithListener(watch.listen))
	defer cancelBrowser()

	began := time.Now()
	browse(t, ctx, "start "+chromium, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
		return err
	}))
	browserUp := time.Since(began)

	// Ready is the docs pane listing the schema's root types: GraphiQL has
	// rendered, and has introspected the schema.
	began = time.Now()
	browse(t, ctx, "open the explorer",
		chromedp.Navigate(g.srv.URL+"/playground"),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-query-editor .CodeMirror`)),
	)
	rendered := time.Since(began)
	browse(t, ctx, "open the docs",
		chromedp.Click(chromedp.CSS(`.graphiql-sidebar button[aria-label="Show Documentation Explorer"]`)),
		poll(`document.querySelectorAll('.graphiql-doc-explorer .graphiql-doc-explorer-type-name').length >= 3`),
	)
	ready := time.Since(began)
	rootTypes := evaluate[[]string](t, ctx, `[...document.querySelectorAll('.graphiql-doc-explorer .graphiql-doc-explorer-type-name')].map(e => e.textContent)`)
	if !slices.Contains(rootTypes, "Query") || !slices.Contains(rootTypes, "Subscription") {
		t.Errorf("the docs list %v as root types", rootTypes)
	}

	// The welcome operation, as a visitor finds it, signed out.
	welcome := evaluate[string](t, ctx, jsQueryEditor+`.getValue()`)
	if !strings.Contains(welcome, "query Welcome") || !strings.Contains(welcome, `"Authorization": "Token`) {
		t.Errorf("the explorer opened with %q", welcome)
	}
	browse(t, ctx, "run the welcome operation",
		chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
		poll(jsResult+`.includes('"canSignUp": true')`),
	)

	// A query, signed in by the Headers pane.
	headers, _ := json.Marshal(map[string]string{"Authorization": "Token " + root})
	browse(t, ctx, "query with a token",
		setEditor(jsHeaderEditor, string(headers)),
		setEditor(jsQueryEditor, `query SignedIn { me { username isSuperuser } }`),
		operationNamed("SignedIn"),
		chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
		poll(jsResult+`.includes('"username": "root"')`),
	)

	// A subscription, over the websocket, signed in by the same header: it
	// hears the mailing's numbers, then a send.
	browse(t, ctx, "subscribe",
		setEditor(jsQueryEditor, `subscription Progress { mailingProgress(id: "1") { total sent mailing { status } } }`),
		operationNamed("Progress"),
		chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
		poll(jsResult+`.includes('"mailingProgress"') && `+jsResult+`.includes('"total": 0')`),
	)
	now := time.Now().UTC()
	sent := store.Message{ID: 1, MailingID: 1, ClientID: 1, Status: store.MessageSent, SendDate: &now, Attempts: 1}
	if _, err := g.store.Collection("messages").Insert(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, "hear a send", poll(jsResult+`.includes('"total": 1')`))

	// GraphiQL's settings dialog adds a <style> element, which the page's
	// policy lets in by its nonce.
	browse(t, ctx, "open and close the settings",
		chromedp.Click(chromedp.CSS(`.graphiql-sidebar button[aria-label="Open settings dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="dialog"]`)),
		chromedp.KeyEvent("\x1b"),
		chromedp.WaitNotPresent(chromedp.CSS(`[role="dialog"]`)),
	)

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), "explorer.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	if violations := evaluate[[]string](t, ctx, `window.__cspViolations`); len(violations) > 0 {
		t.Errorf("Content-Security-Policy violations: %q", violations)
	}
	all, foreign := watch.foreign(gatewayURL)
	t.Logf("browser started in %v; explorer rendered %v and ready (schema in the docs) %v after navigating, from a cold cache", browserUp.Round(time.Millisecond), rendered.Round(time.Millisecond), ready.Round(time.Millisecond))
	t.Logf("the page asked for %d URLs, none of another origin but data: URLs:\n%s", len(all), strings.Join(all, "\n"))
	if len(foreign) > 0 {
		t.Errorf("the page asked for URLs outside the gateway: %q", foreign)
	}
	if !slices.ContainsFunc(all, func(u string) bool { return strings.HasPrefix(u, "ws://"+gatewayURL.Host+"/graphql") }) {
		t.Errorf("no websocket to the gateway's /graphql among %q", all)
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if len(watch.exceptions) > 0 || len(watch.console) > 0 {
		t.Errorf("the page threw %q and logged errors %q", watch.exceptions, watch.console)
	}
}

// browse runs browser actions, failing the test with what was being done.
func browse(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		result, _ := chromedp.Run(ctx, chromedp.Evaluate[string](jsResult))
		t.Fatalf("%s: %v (GraphiQL's result pane: %q)", what, err, result)
	}
}

// evaluate answers a JavaScript expression's value in the page.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// poll waits until a JavaScript expression is true in the page.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))
}

// operationNamed waits until GraphiQL has read the operation's name from
// its editor, a moment after a change, so that it runs that operation.
func operationNamed(name string) chromedp.Action[chromedp.Void] {
	return poll(fmt.Sprintf(`document.querySelector('.graphiql-tab-active').textContent.trim() === %q`, name))
}

// setEditor puts text in one of GraphiQL's editors, as typing would.
func setEditor(editor, text string) chromedp.Action[chromedp.Void] {
	quoted, _ := json.Marshal(text)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`%s.setValue(%s)`, editor, quoted))
}
