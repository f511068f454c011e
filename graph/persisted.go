package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/auth"
)

// Persisted operations let an SPA send a document's hash instead of the
// document, as Apollo Client and urql do:
//
//   - automatic persisted queries (APQ): the client sends
//     extensions.persistedQuery {version: 1, sha256Hash}; a hash the gateway
//     does not know is answered PERSISTED_QUERY_NOT_FOUND, and the client
//     retries with the document, which is remembered once it has passed
//     admission. The memory is each instance's own and bounded in bytes; an
//     instance that forgot a document (or never saw it) only costs the
//     client one retry, so instances need not agree.
//   - trusted documents: a manifest of the operations the gateway's own
//     clients send (hash → document), loaded at start. With TrustedOnly, no
//     other document runs, except for staff (who explore the API in the
//     explorer) and the REST dialects' own operations, which run on the
//     in-process executor and never pass here.
//
// Either way the document then passes the same admission as any other.
type PersistedOperations struct {
	// Trusted maps the SHA-256 (hex) of each trusted document to it.
	Trusted map[string]string
	// TrustedOnly refuses documents that are not in Trusted.
	TrustedOnly bool
	// Remembered keeps the documents clients registered with APQ; nil
	// turns APQ off (trusted hashes are still looked up).
	Remembered *SizedCache[string]
}

var (
	_ graphql.HandlerExtension          = PersistedOperations{}
	_ graphql.OperationParameterMutator = PersistedOperations{}
	_ graphql.OperationContextMutator   = PersistedOperations{}
)

// ExtensionName implements graphql.HandlerExtension.
func (PersistedOperations) ExtensionName() string { return "PersistedOperations" }

// Validate implements graphql.HandlerExtension.
func (PersistedOperations) Validate(graphql.ExecutableSchema) error { return nil }

// persistedHashKey is where MutateOperationParameters leaves, for
// MutateOperationContext, the hash of a document sent in full with its
// hash: remembered only once the document is admitted, so that documents
// which fail validation or pricing cannot fill the memory.
const persistedHashKey = "persistedHash"

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it fills in the document of a hash, checks the hash of a document sent
// with one, and refuses untrusted documents when only trusted ones run.
func (p PersistedOperations) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	hash, err := persistedHash(params.Extensions)
	if err != nil {
		return err
	}
	switch {
	case hash != "" && params.Query == "":
		if doc, ok := p.Trusted[hash]; ok {
			params.Query = doc
			return nil
		}
		if doc, ok := p.remembered(ctx, hash); ok && !p.TrustedOnly {
			params.Query = doc
			return nil
		}
		return limitError(CodePersistedQueryNotFound, "PersistedQueryNotFound")
	case hash != "":
		if documentHash(params.Query) != hash {
			return limitError(CodeBadRequest, "The persisted query's sha256Hash is not the SHA-256 of the query sent with it.")
		}
	}
	if !p.TrustedOnly {
		if hash != "" && p.Remembered != nil {
			graphql.GetOperationContext(ctx).Stats.SetExtension(persistedHashKey, hash)
		}
		return nil
	}
	if _, ok := p.Trusted[documentHash(params.Query)]; ok {
		return nil
	}
	if auth.CallerFrom(ctx).Staff() {
		return nil
	}
	return limitError(CodeOperationNotTrusted,
		"This gateway runs only the operations its clients were built with; this document is not one of them.")
}

// MutateOperationContext implements graphql.OperationContextMutator: an
// admitted document sent with its hash is remembered. It must run after
// Admission.
func (p PersistedOperations) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if hash, ok := oc.Stats.GetExtension(persistedHashKey).(string); ok && p.Remembered != nil {
		p.Remembered.Add(ctx, hash, oc.RawQuery)
	}
	return nil
}

func (p PersistedOperations) remembered(ctx context.Context, hash string) (string, bool) {
	if p.Remembered == nil {
		return "", false
	}
	return p.Remembered.Get(ctx, hash)
}

// persistedHash reads extensions.persistedQuery: "" when there is none.
func persistedHash(extensions map[string]any) (string, *gqlerror.Error) {
	raw, ok := extensions["persistedQuery"]
	if !ok || raw == nil {
		return "", nil
	}
	pq, ok := raw.(map[string]any)
	if !ok {
		return "", limitError(CodeBadRequest, "extensions.persistedQuery must be an object.")
	}
	// 1 whether the transport decoded it as a json.Number or a float64.
	if fmt.Sprint(pq["version"]) != "1" {
		return "", limitError(CodeBadRequest, "extensions.persistedQuery.version must be 1.")
	}
	hash, _ := pq["sha256Hash"].(string)
	if len(hash) != sha256.Size*2 {
		return "", limitError(CodeBadRequest, "extensions.persistedQuery.sha256Hash must be 64 hex digits.")
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return "", limitError(CodeBadRequest, "extensions.persistedQuery.sha256Hash must be 64 hex digits.")
	}
	return hash, nil
}

func documentHash(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// LoadTrustedDocuments reads a manifest of trusted documents in either of
// the formats clients' build tools write: Apollo's persisted query
// manifest ({"format": "apollo-persisted-query-manifest", "operations":
// [{"id", "body"}…]}) or GraphQL Codegen's client preset ({"<hash>":
// "<document>"}). Every hash is checked against its document.
func LoadTrustedDocuments(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var apollo struct {
		Format     string `json:"format"`
		Operations []struct {
			ID   string `json:"id"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	docs := map[string]string{}
	if err := json.Unmarshal(b, &apollo); err == nil && apollo.Format != "" {
		if apollo.Format != "apollo-persisted-query-manifest" {
			return nil, fmt.Errorf("%s: unknown manifest format %q", path, apollo.Format)
		}
		for _, op := range apollo.Operations {
			docs[op.ID] = op.Body
		}
	} else if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("%s: neither an Apollo persisted query manifest nor a map of hashes to documents", path)
	}
	for hash, doc := range docs {
		if documentHash(doc) != hash {
			return nil, fmt.Errorf("%s: %.16s… is not the SHA-256 of its document", path, hash)
		}
	}
	return docs, nil
}
