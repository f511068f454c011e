// Package explorer serves Gatehouse's GraphQL explorer: GraphiQL, with the
// React it runs on, bundled in the binary, so that the page works where
// the gateway runs, offline or behind a firewall, and loads nothing from
// anywhere else.
//
// The page is served with a Content-Security-Policy that lets it load and
// connect to the gateway's own origin only (its websocket included), run
// no inline script and be framed by no one. The assets are served under a
// path that holds a hash of their content, so browsers may keep them for
// good: a new release of GraphiQL is a new path.
//
// GraphiQL's files are third-party, fetched by fetch.sh from the npm
// registry at pinned versions and checked against the registry's sha512
// integrity; third_party/MANIFEST lists them.
package explorer

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed page.html explorer.css explorer.js welcome.graphql
//go:embed third_party/graphiql/graphiql.min.js third_party/graphiql/graphiql.min.css
//go:embed third_party/react/react.production.min.js third_party/react-dom/react-dom.production.min.js
//go:embed third_party/MANIFEST third_party/*/LICENSE third_party/graphiql/BUNDLED_LICENSES
var files embed.FS

// assetFiles are the files the page loads, by the name it loads them by.
var assetFiles = map[string]string{
	"graphiql.min.js":             "third_party/graphiql/graphiql.min.js",
	"graphiql.min.css":            "third_party/graphiql/graphiql.min.css",
	"react.production.min.js":     "third_party/react/react.production.min.js",
	"react-dom.production.min.js": "third_party/react-dom/react-dom.production.min.js",
	"explorer.js":                 "explorer.js",
	"explorer.css":                "explorer.css",
}

// Welcome is the operation the explorer opens with: one an anonymous
// visitor can run, with a comment on how to sign in.
var Welcome = string(mustRead("welcome.graphql"))

var page = template.Must(template.ParseFS(files, "page.html"))

// Handler serves the explorer at base (/playground): the page at base
// itself, its assets below base/assets/<hash>/, and the licences of the
// third-party files at base/licenses. endpoint is the GraphQL endpoint the
// page talks to, over HTTP and websocket (/graphql). host answers the host
// the browser asked for, which the page's policy lets it open a websocket
// to; nil takes the request's Host.
func Handler(base, endpoint string, host func(*http.Request) string) http.Handler {
	if host == nil {
		host = func(r *http.Request) string { return r.Host }
	}
	h := &handler{base: base, endpoint: endpoint, host: host, assets: map[string]*asset{}}
	// One hash for the whole set: the page names them all under one path,
	// and a change to any of them is a new release of the explorer.
	sum := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(assetFiles)) {
		data := mustRead(assetFiles[name])
		own := sha256.Sum256(data)
		h.assets[name] = &asset{data: data, contentType: contentTypes[path.Ext(name)], etag: `"` + hex.EncodeToString(own[:16]) + `"`}
		sum.Write([]byte(name))
		sum.Write(own[:])
	}
	h.assetBase = base + "/assets/" + hex.EncodeToString(sum.Sum(nil))[:16]
	return h
}

type handler struct {
	base, endpoint string
	host           func(*http.Request) string
	// assetBase is the path the assets are served under.
	assetBase string
	assets    map[string]*asset
}

// asset is one file the page loads, kept gzipped too once a browser has
// asked for it so.
type asset struct {
	contentType, etag string
	data              []byte
	gzipOnce          sync.Once
	gzipped           []byte
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	switch p := r.URL.Path; {
	case p == h.base:
		h.page(w, r)
	case p == h.base+"/licenses":
		h.licenses(w)
	case strings.HasPrefix(p, h.assetBase+"/"):
		a := h.assets[strings.TrimPrefix(p, h.assetBase+"/")]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		a.serve(w, r)
	default:
		// Unknown paths, and assets under another release's hash (a page
		// left open across an upgrade): reloading it fetches this
		// release's.
		http.NotFound(w, r)
	}
}

// securityHeaders are sent with everything the explorer serves.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

type pageData struct {
	Assets, Endpoint, StyleNonce, Welcome string
}

// page serves the page, with a policy of its own: a fresh style nonce, and
// the websocket origin of the host the browser asked for.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	var buf bytes.Buffer
	if err := page.Execute(&buf, pageData{Assets: h.assetBase, Endpoint: h.endpoint, StyleNonce: nonce, Welcome: Welcome}); err != nil {
		http.Error(w, "explorer page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", Policy(nonce, h.host(r)))
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// The page holds a nonce of its own each time: never reuse it.
	hdr.Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}

// Policy is the page's Content-Security-Policy. Everything is the
// gateway's own origin: scripts (no inline ones), styles (GraphiQL's
// stylesheet, plus the <style> elements its dialogs add, which carry
// nonce), and connections, to which the websocket origins of host are
// added, since not every browser counts ws: and wss: as 'self'. GraphiQL's
// fonts and icons are data: URLs inside its stylesheet. Nothing may frame
// the page, and it posts no form.
func Policy(nonce, host string) string {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self' 'nonce-" + nonce + "'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + connect,
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// hostPattern is what a host[:port] may hold, so that a Host header cannot
// write anything else into the policy.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

func validHost(h string) bool { return hostPattern.MatchString(h) }

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// serve answers an asset: immutable, since its path changes with its
// content, and gzipped for a browser that takes it.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	// Added to what the middleware varies on (Origin, for CORS).
	hdr.Add("Vary", "Accept-Encoding")
	body, etag := a.data, a.etag
	if acceptsGzip(r) {
		a.gzipOnce.Do(a.compress)
		body, etag = a.gzipped, strings.TrimSuffix(etag, `"`)+`-gzip"`
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (a *asset) compress() {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(a.data)
	_ = zw.Close()
	a.gzipped = buf.Bytes()
}

// acceptsGzip reads Accept-Encoding as browsers send it: a list, gzip in
// it unless given q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// licenses serves the licences of the third-party files the explorer
// bundles, and of the packages GraphiQL's bundle holds, with the manifest
// that pins them.
func (h *handler) licenses(w http.ResponseWriter) {
	var buf bytes.Buffer
	buf.Write(mustRead("third_party/MANIFEST"))
	licences, _ := fs.Glob(files, "third_party/*/LICENSE")
	for _, name := range append(licences, "third_party/graphiql/BUNDLED_LICENSES") {
		buf.WriteString("\n==> " + name + " <==\n")
		buf.Write(mustRead(name))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}
