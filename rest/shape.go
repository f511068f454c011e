package rest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
)

// pick walks the data of an operation down to path; null on the way (a
// user that does not exist) is errNotFound.
func pick(data json.RawMessage, path ...string) (json.RawMessage, error) {
	for _, key := range path {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return nil, err
		}
		v, ok := fields[key]
		if !ok || string(v) == "null" {
			return nil, errNotFound
		}
		data = v
	}
	return data, nil
}

// pickInto decodes the data at path into v.
func pickInto(data json.RawMessage, v any, path ...string) error {
	raw, err := pick(data, path...)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// idNumber is a GraphQL ID ("66") as the integer DRF shows; the schema's
// IDs are always positive integers.
func idNumber(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// idString writes an id as GraphQL's ID does.
func idString(id int64) string { return strconv.FormatInt(id, 10) }

// ref is an object of which only the id was asked for.
type ref struct {
	ID string `json:"id"`
}

// idList is a list of references as DRF's PrimaryKeyRelatedField writes
// them: ascending ids.
func idList(refs []ref) []int64 {
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = idNumber(r.ID)
	}
	slices.Sort(ids)
	return ids
}

// noContent is the answer of a delete: 204 and no body.
func noContent(*request, json.RawMessage) (int, any, error) { return 204, nil, nil }

// optionalTime writes an instant or null in the request's zone.
func (r *request) optionalTime(t *time.Time) any { return drfTimeOrNull(t, r.Zone) }

// listChunk is the most users one operation of a list route reads: a
// page of GraphQL's largest size with every field a dialect shows would
// pass the complexity limit, so longer pages are read in chunks.
const listChunk = 50

// nodePage is the connection field of a list operation: totalCount or
// pageInfo, whichever it asks for, and the nodes.
type nodePage[T any] struct {
	TotalCount *int `json:"totalCount"`
	PageInfo   *struct {
		HasNextPage bool `json:"hasNextPage"`
	} `json:"pageInfo"`
	Nodes []T `json:"nodes"`
}

// readUsers collects up to want users (want < 0: all of them) from the
// route's operation; see readNodes.
func readUsers[T any](req *request, data json.RawMessage, offset, want int) (users []T, total int, err error) {
	return readNodes[T](req, data, "users", offset, want)
}

// readNodes collects up to want nodes (want < 0: all of them) of the
// connection field of the route's operation, whose data is the
// first chunk, bound with offset and a limit of at most a chunk (listChunk,
// or less for a dialect whose nodes cost more), running it again for each
// next chunk. total is the totalCount, when the operation asks for it.
func readNodes[T any](req *request, data json.RawMessage, field string, offset, want int) (nodes []T, total int, err error) {
	// The first chunk's limit is the chunk size whenever more than one
	// chunk is read.
	chunk, _ := req.vars["limit"].(int)
	if chunk <= 0 {
		chunk = listChunk
	}
	asked := chunk
	for {
		var page nodePage[T]
		if err := pickInto(data, &page, field); err != nil {
			return nil, 0, err
		}
		nodes = append(nodes, page.Nodes...)
		hasNext := page.PageInfo != nil && page.PageInfo.HasNextPage
		if page.TotalCount != nil {
			total = *page.TotalCount
			hasNext = offset+len(nodes) < total
		}
		// A short or empty chunk is the end of the list whatever the count
		// says (rows can go while the list is read): the loop never asks
		// for more than the list had.
		if !hasNext || len(page.Nodes) < asked || want >= 0 && len(nodes) >= want {
			return nodes, total, nil
		}
		vars := maps.Clone(req.vars)
		vars["offset"] = offset + len(nodes)
		asked = chunk
		if want >= 0 {
			asked = min(chunk, want-len(nodes))
		}
		vars["limit"] = asked
		if data, err = req.again(vars); err != nil {
			return nil, 0, err
		}
	}
}
