package explorer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "gateway.example:8080"
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assetPaths are the paths the page loads its scripts and stylesheets from.
var assetPaths = regexp.MustCompile(`(?:src|href)="(/playground/assets/[^"]+)"`)

// The page loads nothing but the gateway's own files, under a policy that
// lets it load and connect to nothing else, and run no inline script.
func TestPageIsSelfContained(t *testing.T) {
	h := Handler("/playground", "/graphql", nil)
	resp := serve(t, h, "/playground", nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, own := range []string{page, string(mustRead("explorer.js")), string(mustRead("explorer.css"))} {
		if u := regexp.MustCompile(`(?i)(https?:|wss?:)?//[a-z0-9]`).FindString(own); u != "" {
			t.Errorf("names another origin: %q", u)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(page) || strings.Contains(page, "<style") || strings.Contains(page, " style=") {
		t.Error("the page holds inline script or style")
	}
	loads := assetPaths.FindAllStringSubmatch(page, -1)
	if len(loads) != len(assetFiles) {
		t.Errorf("the page loads %d assets, there are %d", len(loads), len(assetFiles))
	}

	csp := resp.Header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`data-style-nonce="([A-Za-z0-9_-]{22})"`).FindStringSubmatch(page)
	if nonce == nil {
		t.Fatal("the page holds no style nonce")
	}
	for _, want := range []string{
		"default-src 'self'", "script-src 'self';", "style-src 'self' 'nonce-" + nonce[1] + "';",
		"connect-src 'self' ws://gateway.example:8080 wss://gateway.example:8080;", "frame-ancestors 'none'",
		"object-src 'none'", "base-uri 'none'",
	} {
		if !strings.Contains(csp+";", want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("policy %q allows more than the gateway", csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}

	// Each page has a nonce of its own.
	again := body(t, serve(t, h, "/playground", nil))
	if strings.Contains(again, nonce[1]) {
		t.Error("two pages share a nonce")
	}
}

// A Host header that is not a host cannot write into the policy: the
// websocket origins are left out and 'self' stands alone.
func TestPolicyTakesOnlyAHost(t *testing.T) {
	for host, want := range map[string]string{
		"gateway.example":                 "connect-src 'self' ws://gateway.example wss://gateway.example",
		"[::1]:8080":                      "connect-src 'self' ws://[::1]:8080 wss://[::1]:8080",
		"evil; script-src *":              "connect-src 'self';",
		"gateway.example https://evil.io": "connect-src 'self';",
		"":                                "connect-src 'self';",
	} {
		if got := Policy("n", host); !strings.Contains(got+";", want) {
			t.Errorf("host %q: %q, want %q", host, got, want)
		}
	}
}

// Assets are served under a path that changes with their content, so
// browsers keep them for good; gzipped for a browser that asks, and
// revalidated by ETag.
func TestAssetsAreImmutableAndCompressed(t *testing.T) {
	h := Handler("/playground", "/graphql", nil)
	page := body(t, serve(t, h, "/playground", nil))
	for _, m := range assetPaths.FindAllStringSubmatch(page, -1) {
		path := m[1]
		name := path[strings.LastIndex(path, "/")+1:]
		want := mustRead(assetFiles[name])

		plain := serve(t, h, path, nil)
		if got := body(t, plain); plain.StatusCode != http.StatusOK || got != string(want) {
			t.Errorf("%s: %d, %d bytes, want %d", path, plain.StatusCode, len(got), len(want))
		}
		if cc := plain.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		if ct := plain.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if plain.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}

		zipped := serve(t, h, path, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
		if zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: not gzipped", path)
		}
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(zr); !bytes.Equal(got, want) {
			t.Errorf("%s: gzipped body is not the file", path)
		}
		if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
			t.Errorf("%s: one ETag for two bodies", path)
		}
		if again := serve(t, h, path, http.Header{"If-None-Match": {plain.Header.Get("ETag")}}); again.StatusCode != http.StatusNotModified {
			t.Errorf("%s: revalidated with its ETag: %d", path, again.StatusCode)
		}
		if none := serve(t, h, path, http.Header{"Accept-Encoding": {"gzip;q=0"}}); none.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: gzipped for a browser that refused it", path)
		}

		// Another release's path is not this one's file.
		other := strings.Replace(path, "/assets/", "/assets/0", 1)
		if resp := serve(t, h, other, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", other, resp.StatusCode)
		}
	}
	if resp := serve(t, h, "/playground/assets/graphiql.min.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an asset without its hash: %d", resp.StatusCode)
	}
}

// The binary carries the licences of what it bundles.
func TestLicensesAreServed(t *testing.T) {
	resp := serve(t, Handler("/playground", "/graphql", nil), "/playground/licenses", nil)
	text := body(t, resp)
	for _, want := range []string{"graphiql@4.1.2 sha512-", "react@18.3.1", "react-dom@18.3.1", "third_party/graphiql/LICENSE", "MIT License", "==> graphql@16.", "==> codemirror@5."} {
		if !strings.Contains(text, want) {
			t.Errorf("the licences lack %q", want)
		}
	}
}

// What third_party/ holds is what fetch.sh fetched: each file's sha256 is
// the one the manifest recorded, and every file the page loads is in it.
func TestThirdPartyFilesAreAsFetched(t *testing.T) {
	f, err := os.Open("third_party/MANIFEST")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	line := regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("third_party", m[2]))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != m[1] {
			t.Errorf("%s has changed since fetch.sh fetched it", m[2])
		}
		listed["third_party/"+m[2]] = true
	}
	for _, file := range assetFiles {
		if strings.HasPrefix(file, "third_party/") && !listed[file] {
			t.Errorf("%s is not in the manifest", file)
		}
	}
}
