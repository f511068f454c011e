package rest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mount places a dialect at a path prefix, or switches it off.
type Mount struct {
	Dialect string
	// Prefix is where the dialect's paths start ("/api/users"); empty
	// means the dialect is off.
	Prefix string
	// Zone is the time zone its datetimes are written in (DRF's
	// TIME_ZONE); nil means UTC.
	Zone *time.Location
}

// DefaultMounts is seeds/README.md's table: accounts (000) and usermgmt
// (004) share /api/users, accounts without a trailing slash and usermgmt
// with one; v1users (001) at /v1/users; jsonapi (002) at /users; showroom
// (003) at /api/v1/.
const DefaultMounts = "accounts=/api/users,v1users=/v1/users,jsonapi=/users,showroom=/api/v1/,usermgmt=/api/users/"

// Dialects names every dialect the gateway knows, in seed order.
func Dialects() []string { return []string{"accounts", "v1users", "jsonapi", "showroom", "usermgmt"} }

// ParseMounts reads a mounts setting, "accounts=/api/users,usermgmt=off",
// over the defaults (a dialect not named keeps its default mount), and a
// time-zone setting, "usermgmt=Europe/Moscow" (IANA names; UTC when not
// named).
func ParseMounts(mounts, zones string) ([]Mount, error) {
	prefixes, err := parsePairs(DefaultMounts)
	if err != nil {
		return nil, err
	}
	given, err := parsePairs(mounts)
	if err != nil {
		return nil, fmt.Errorf("rest mounts: %w", err)
	}
	for name, prefix := range given {
		switch {
		case prefix == "off":
			prefix = ""
		case !strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "{}*? "):
			return nil, fmt.Errorf("rest mounts: %s=%q: a prefix is a path starting with / (or off)", name, prefix)
		}
		prefixes[name] = prefix
	}
	tz, err := parsePairs(zones)
	if err != nil {
		return nil, fmt.Errorf("rest time zones: %w", err)
	}
	var out []Mount
	for _, name := range Dialects() {
		m := Mount{Dialect: name, Prefix: prefixes[name]}
		if z, ok := tz[name]; ok {
			if m.Zone, err = time.LoadLocation(z); err != nil {
				return nil, fmt.Errorf("rest time zones: %s=%q: %w", name, z, err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// parsePairs reads "name=value,name=value" whose names are dialects.
func parsePairs(s string) (map[string]string, error) {
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || value == "":
			return nil, fmt.Errorf("%q: write dialect=value", part)
		case !slices.Contains(Dialects(), name):
			return nil, fmt.Errorf("%q: unknown dialect %q (known: %s)", part, name, strings.Join(Dialects(), ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%q: %s is named twice", part, name)
		}
		out[name] = value
	}
	return out, nil
}
