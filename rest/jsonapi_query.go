package rest

import (
	"slices"
	"strconv"
	"strings"
)

// jsonapi's collections are numbered pages: page (from 1) and page_size
// (default 20, at most GraphQL's largest page, 100).
const (
	jsonapiPageSize    = 20
	jsonapiMaxPageSize = 100
)

// checkQuery refuses what JSON:API tells a server to refuse: a parameter
// named as the specification's own are (only a-z, or a family such as
// page[size] or fields[users]) that the route does not process. Names
// with another character are implementation-specific; unknown ones are
// ignored, as the legacy service ignored them.
func checkQuery(q queryParams, known ...string) error {
	p := &problems{}
	seen := map[string]bool{}
	for _, param := range q {
		base, _, family := strings.Cut(param.name, "[")
		if !family && !onlyLowerAZ(base) || seen[param.name] {
			continue
		}
		seen[param.name] = true
		if !family && slices.Contains(known, base) {
			continue
		}
		p.atParameter(param.name, `The query parameter "`+param.name+`" is not supported here.`)
	}
	return p.err()
}

func onlyLowerAZ(s string) bool {
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// readJSONAPIPage reads page and page_size: each must be a positive whole
// number (400 naming it otherwise); a page_size over the largest is
// served as the largest.
func readJSONAPIPage(q queryParams, p *problems) pageNumber {
	out := pageNumber{page: 1, size: jsonapiPageSize}
	if s, ok := q.get("page"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			p.atParameter("page", "page must be a whole number from 1.")
		} else {
			out.page = n
		}
	}
	if s, ok := q.get("page_size"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			p.atParameter("page_size", "page_size must be a whole number from 1.")
		} else {
			out.size = min(n, jsonapiMaxPageSize)
		}
	}
	return out
}

// paged is a collection document's links and meta for one page of count
// items, of which items are on this page: first, last, prev and next keep
// the request's other parameters, and the first page is written without
// page, as the legacy service wrote it.
func (r *request) paged(p pageNumber, count, items int, body object) object {
	pageCount := (count + p.size - 1) / p.size
	at := func(page int) any {
		q := r.Query().without("page")
		if page > 1 {
			q = q.with("page", strconv.Itoa(page))
		}
		return absoluteURL(r.HTTP, r.hosts, q)
	}
	var prev, next any
	if p.page > 1 {
		prev = at(min(p.page-1, max(pageCount, 1)))
	}
	if p.page < pageCount {
		next = at(p.page + 1)
	}
	links := r.topLinks().
		set("first", at(1)).
		set("last", at(max(pageCount, 1))).
		set("prev", prev).
		set("next", next)
	pagination := object{}.
		set("count", count).
		set("page", p.page).
		set("page_count", pageCount).
		set("page_items", items).
		set("page_size", p.size)
	return body.set("links", links).set("meta", object{}.set("pagination", pagination))
}
