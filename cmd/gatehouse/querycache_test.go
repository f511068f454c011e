package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// postDocuments POSTs each document anonymously, four at a time, and
// insists on its answer.
func postDocuments(t *testing.T, g *testGateway, n int, document func(i int) string, want string) {
	t.Helper()
	work := make(chan int)
	var senders sync.WaitGroup
	for range 4 {
		senders.Go(func() {
			for i := range work {
				body, _ := json.Marshal(map[string]any{"query": document(i)})
				req, err := http.NewRequest(http.MethodPost, g.srv.URL+"/graphql", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := g.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var got bytes.Buffer
				_, _ = got.ReadFrom(resp.Body)
				resp.Body.Close()
				if !strings.Contains(got.String(), want) {
					t.Errorf("document %d (%d bytes): %d %.200s", i, len(body), resp.StatusCode, got.String())
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	senders.Wait()
}

// The parsed-document cache is bounded by what its documents hold, not by
// their number. A thousand distinct documents of about a megabyte (a
// comment makes them long) are each parsed, answered and forgotten: the
// heap after them is what it was before. Kept, as they were by an LRU of a
// thousand entries, they held a gigabyte until other documents pushed them
// out.
func TestParsedDocumentCacheHoldsNoLongDocuments(t *testing.T) {
	documents := 1000
	if raceDetector {
		documents = 100
	}
	g := newTestGateway(t)
	before := measure(t)
	comment := strings.Repeat("x", 1_000_000)
	postDocuments(t, g, documents, func(i int) string {
		return fmt.Sprintf("query Long%d { __typename } #%s", i, comment)
	}, `{"data":{"__typename":"Query"}}`)
	after := measure(t)
	t.Logf("before: %v; after %d documents of 1 MB: %v", before, documents, after)
	if grown := int64(after.heap) - int64(before.heap); grown > 48<<20 {
		t.Errorf("the heap grew by %.1f MB and stayed", float64(grown)/(1<<20))
	}
}

// Short documents can hold much more than their text: 700 aliased
// __typename fields are 12 KB of text and 300 KB of validated syntax tree.
// The cache weighs each by its nodes, so a thousand distinct such
// documents leave at most its 16 MB behind, however many it keeps. Kept
// by count, they held 300 MB.
func TestParsedDocumentCacheWeighsSyntaxTrees(t *testing.T) {
	documents := 1000
	if raceDetector {
		documents = 250
	}
	g := newTestGateway(t)
	before := measure(t)
	var fields strings.Builder
	for i := range 700 {
		fmt.Fprintf(&fields, "a%d: __typename ", i)
	}
	postDocuments(t, g, documents, func(i int) string {
		return fmt.Sprintf("query Wide%d { %s}", i, fields.String())
	}, `"a699":"Query"`)
	after := measure(t)
	t.Logf("before: %v; after %d documents of 700 fields: %v", before, documents, after)
	if grown := int64(after.heap) - int64(before.heap); grown > 24<<20 {
		t.Errorf("the heap grew by %.1f MB and stayed", float64(grown)/(1<<20))
	}
}
