package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func sha256Hex(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// persistedQuery is the extension Apollo Client and urql send.
func persistedQuery(doc string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": sha256Hex(doc)}}
}

// postPersisted sends a hash, with the document or without it.
func (g *testGateway) postPersisted(t *testing.T, token, doc string, withDocument bool) gqlResponse {
	t.Helper()
	body := map[string]any{"extensions": persistedQuery(doc)}
	if withDocument {
		body["query"] = doc
	}
	b, _ := json.Marshal(body)
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Token "+token)
	}
	return g.post(t, h, b)
}

// getPersisted sends a hash alone over GET, as Apollo Client does for
// queries when told to.
func (g *testGateway) getPersisted(t *testing.T, doc string) gqlResponse {
	t.Helper()
	ext, _ := json.Marshal(persistedQuery(doc))
	req, err := http.NewRequest(http.MethodGet, g.srv.URL+"/graphql?extensions="+url.QueryEscape(string(ext)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return g.do(t, req)
}

// Automatic persisted queries as Apollo Client and urql use them: an
// unknown hash is PERSISTED_QUERY_NOT_FOUND, the retry with the document
// registers it, and then the hash alone runs it over POST, GET and a
// websocket. A document is remembered only once it has passed admission.
func TestAutomaticPersistedQueries(t *testing.T) {
	g := newServedGateway(t)
	token := g.signUp(t, "persisted", "persisted-password")
	const me = `query Me { me { username } }`

	if r := g.postPersisted(t, token, me, false); r.code() != "PERSISTED_QUERY_NOT_FOUND" || r.Data != nil {
		t.Fatalf("an unknown hash: %+v", r)
	}
	if r := g.postPersisted(t, token, me, true); dig(r.mustData(t), "me", "username") != "persisted" {
		t.Fatalf("the document with its hash: %+v", r)
	}
	if r := g.postPersisted(t, token, me, false); dig(r.mustData(t), "me", "username") != "persisted" {
		t.Fatalf("the hash alone over POST: %+v", r)
	}
	const anonymous = `{ __typename }`
	g.postPersisted(t, "", anonymous, true)
	if r := g.getPersisted(t, anonymous); dig(r.mustData(t), "__typename") != "Query" {
		t.Fatalf("the hash alone over GET: %+v", r)
	}
	ws := newSockets(t, g, nil)
	c := ws.client(t, token)
	c.send(map[string]any{"id": "apq", "type": "subscribe", "payload": map[string]any{"extensions": persistedQuery(me)}})
	if m, err := c.next(); err != nil || m.Type != "next" || !bytes.Contains(m.Payload, []byte(`"username":"persisted"`)) {
		t.Fatalf("the hash alone over a websocket: %v %s %s", err, m.Type, m.Payload)
	}

	// A hash that is not the document's is refused, and registers nothing.
	b, _ := json.Marshal(map[string]any{"query": `{ __typename }`, "extensions": persistedQuery(`{ me { id } }`)})
	if r := g.post(t, http.Header{"Content-Type": {"application/json"}}, b); r.code() != "BAD_REQUEST" {
		t.Fatalf("a mismatched hash: %+v", r)
	}
	// A document that fails admission is not remembered.
	tooDeep := "{ me { " + strings.Repeat("createdBy { ", 12) + "id" + strings.Repeat(" }", 12) + " } }"
	if r := g.postPersisted(t, token, tooDeep, true); r.code() != "DEPTH_LIMIT_EXCEEDED" {
		t.Fatalf("a document past the depth limit: %+v", r)
	}
	if r := g.postPersisted(t, token, tooDeep, false); r.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("a refused document was remembered: %+v", r)
	}
}

// With trusted documents only, the gateway runs the documents its own
// clients were built with, sent in full or as a hash, and refuses any
// other, over HTTP and websockets alike; staff may still explore, and the
// REST dialects' own operations always run. Both manifest formats load.
func TestTrustedDocumentsOnly(t *testing.T) {
	const me, typename = `query Me { me { username } }`, `query Typename { __typename }`
	dir := t.TempDir()
	apollo, _ := json.Marshal(map[string]any{
		"format": "apollo-persisted-query-manifest", "version": 1,
		"operations": []map[string]any{{"id": sha256Hex(me), "name": "Me", "type": "query", "body": me}},
	})
	codegen, _ := json.Marshal(map[string]string{sha256Hex(typename): typename})
	for name, manifest := range map[string][]byte{"apollo.json": apollo, "codegen.json": codegen} {
		if err := os.WriteFile(filepath.Join(dir, name), manifest, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for name, trusted := range map[string]string{"apollo.json": me, "codegen.json": typename} {
		t.Run(name, func(t *testing.T) {
			g := newServedGateway(t, "--trusted-documents="+filepath.Join(dir, name), "--trusted-documents-only")
			// The accounts dialect's sign-up and sign-in run their own
			// operations, which are always trusted.
			token := g.restSignUp(t, "trusting")
			operator := g.restSignUp(t, "operator")
			u, err := g.store.UserByUsername(context.Background(), "operator")
			if err != nil {
				t.Fatal(err)
			}
			yes := true
			if _, err := g.store.UpdateUser(context.Background(), u.ID, store.UserUpdate{IsStaff: &yes}); err != nil {
				t.Fatal(err)
			}
			g.authenticator.ForgetUser(int64(u.ID))
			if r := g.postPersisted(t, token, trusted, false); len(r.Errors) > 0 || r.Data == nil {
				t.Fatalf("a trusted hash alone: %+v", r)
			}
			if r := g.query(t, token, trusted, nil); len(r.Errors) > 0 {
				t.Fatalf("a trusted document in full: %+v", r)
			}
			const other = `{ me { id } }`
			if r := g.query(t, token, other, nil); r.code() != "OPERATION_NOT_TRUSTED" || r.Data != nil {
				t.Fatalf("another document: %+v", r)
			}
			// Registering a document with APQ does not make it trusted.
			g.postPersisted(t, token, other, true)
			if r := g.postPersisted(t, token, other, false); r.code() != "PERSISTED_QUERY_NOT_FOUND" {
				t.Fatalf("an untrusted hash: %+v", r)
			}
			ws := newSockets(t, g, nil)
			if r := ws.send(t, token, other, nil); r.code() != "OPERATION_NOT_TRUSTED" {
				t.Fatalf("another document over a websocket: %+v", r)
			}
			if r := g.query(t, operator, other, nil); len(r.Errors) > 0 {
				t.Fatalf("staff exploring: %+v", r)
			}
		})
	}
}

// restSignUp signs a user up and in through the accounts dialect, and
// answers their token.
func (g *testGateway) restSignUp(t *testing.T, username string) string {
	t.Helper()
	call := func(path string, want int) map[string]any {
		body, _ := json.Marshal(map[string]string{"username": username, "password": username + "-password"})
		resp, err := http.Post(g.srv.URL+"/api/users"+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&answer)
		if resp.StatusCode != want {
			t.Fatalf("POST /api/users%s: %d %v", path, resp.StatusCode, answer)
		}
		return answer
	}
	call("/signup", http.StatusCreated)
	token, _ := call("/signin", http.StatusOK)["token"].(string)
	return token
}
