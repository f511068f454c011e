package rest

import "testing"

// TestOpenAPIDocumentsEveryRoute keeps each described dialect's
// documentation and route table in step: every route is documented, every
// documented route is in the table, operationIds are unique, and every
// definition a route names exists.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	for _, name := range Dialects() {
		d := dialectNamed(name)
		if d.Doc == nil {
			continue
		}
		inTable := map[string]bool{}
		ids := map[string]string{}
		for _, rt := range d.Routes {
			key := docKey(rt.Method, rt.Path)
			inTable[key] = true
			rd, ok := d.Doc.Routes[key]
			if !ok {
				t.Errorf("%s: %s has no documentation", name, key)
				continue
			}
			if rd.ID == "" || rd.Tag == "" || rd.Summary == "" || rd.Status == 0 {
				t.Errorf("%s: %s: documentation lacks an id, tag, summary or status: %+v", name, key, rd)
			}
			if other, dup := ids[rd.ID]; dup {
				t.Errorf("%s: operationId %s names both %s and %s", name, rd.ID, other, key)
			}
			ids[rd.ID] = key
			for _, def := range []any{rd.Body, rd.Answer} {
				if s, ok := def.(string); ok && s != "" && d.Doc.Definitions[s] == nil {
					t.Errorf("%s: %s names definition %s, which does not exist", name, key, s)
				}
			}
		}
		for key := range d.Doc.Routes {
			if !inTable[key] {
				t.Errorf("%s: documentation names %s, which the route table lacks", name, key)
			}
		}
	}
}
