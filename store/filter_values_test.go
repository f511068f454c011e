package store_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// fill sets every field of the struct v: a value behind each pointer, two
// items in each list, and every lookup of a lookup struct. It answers how
// many values it set, as Values should count them.
func fill(v reflect.Value, skip ...string) int {
	n := 0
	for i := range v.NumField() {
		f, field := v.Field(i), v.Type().Field(i)
		switch {
		case slices.Contains(skip, field.Name):
		case f.Kind() == reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 2, 2))
			n += 2
		case f.Kind() == reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			if elem := f.Type().Elem(); elem.Kind() == reflect.Struct && elem != reflect.TypeFor[time.Time]() {
				n += fill(f.Elem())
			} else {
				n++
			}
		default:
			panic("a filter field of a kind fill does not know: " + field.Name)
		}
	}
	return n
}

// Every value a filter can hold is counted by its Values, the measure
// the bound on a filter's size reads: a field added to a filter without
// its count fails here. A users filter counts its own values, not those
// of the filters it nests, nor its search (bounded on its own).
func TestFiltersCountEveryValue(t *testing.T) {
	for _, c := range []struct {
		filter interface{ Values() int }
		skip   []string
	}{
		{&store.UserFilter{}, []string{"And", "Or", "Not", "Search"}},
		{&store.ClientFilter{}, nil},
		{&store.MailingFilter{}, nil},
		{&store.MessageFilter{}, nil},
		{&store.LabelFilter{}, nil},
		{&store.PermissionFilter{}, nil},
		{&store.RoleFilter{}, nil},
	} {
		want := fill(reflect.ValueOf(c.filter).Elem(), c.skip...)
		if got := c.filter.Values(); got != want {
			t.Errorf("%T counts %d values, holds %d", c.filter, got, want)
		}
	}
	var none *store.UserFilter
	if none.Values() != 0 {
		t.Error("no filter holds values")
	}
}
