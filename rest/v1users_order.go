package rest

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// orderKey is one key of v1users' order_by.
type orderKey struct {
	field      string
	ascending  bool
	nullsFirst *bool
}

// sortV1Users orders users by keys, as Django's order_by would, for the
// orderings GraphQL cannot express; ties keep the store's (id) order.
func sortV1Users(users []v1User, keys []orderKey) {
	slices.SortStableFunc(users, func(a, b v1User) int {
		for _, k := range keys {
			if c := compareOn(a, b, k); c != 0 {
				return c
			}
		}
		return 0
	})
}

func compareOn(a, b v1User, k orderKey) int {
	if k.field == "last_login" && (a.LastLogin == nil || b.LastLogin == nil) {
		if a.LastLogin == nil && b.LastLogin == nil {
			return 0
		}
		nullsFirst := k.ascending // the store's own placement
		if k.nullsFirst != nil {
			nullsFirst = *k.nullsFirst
		}
		if (a.LastLogin == nil) == nullsFirst {
			return -1
		}
		return 1
	}
	c := compareValues(a, b, k.field)
	if !k.ascending {
		c = -c
	}
	return c
}

func compareValues(a, b v1User, field string) int {
	switch field {
	case "pk", "id":
		return cmp.Compare(idNumber(a.ID), idNumber(b.ID))
	case "username":
		return strings.Compare(a.Username, b.Username)
	case "first_name":
		return strings.Compare(a.FirstName, b.FirstName)
	case "last_name":
		return strings.Compare(a.LastName, b.LastName)
	case "email":
		return strings.Compare(a.Email, b.Email)
	case "is_active":
		return compareBool(a.IsActive, b.IsActive)
	case "is_staff":
		return compareBool(a.IsStaff, b.IsStaff)
	case "is_superuser":
		return compareBool(a.IsSuperuser, b.IsSuperuser)
	case "date_joined":
		return a.DateJoined.Compare(b.DateJoined)
	case "last_login":
		return derefTime(a.LastLogin).Compare(derefTime(b.LastLogin))
	}
	return 0
}

// compareBool orders false before true, as databases do.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
