package auth

import (
	"regexp"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-f]{40}$`)
	seen := make(map[string]bool)
	for range 2 {
		key, digest, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(key) {
			t.Errorf("key %q is not 40 lowercase hex characters", key)
		}
		if !WellFormedKey(key) {
			t.Errorf("WellFormedKey(%q) = false for a key NewToken made", key)
		}
		if digest != Digest(key) {
			t.Errorf("digest %q != Digest(key) %q", digest, Digest(key))
		}
		if seen[key] {
			t.Errorf("NewToken returned %q twice", key)
		}
		seen[key] = true
	}
}

func TestDigest(t *testing.T) {
	tests := []struct{ key, want string }{
		// FIPS 180-2's SHA-256 test vector.
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		// The digest is of the key's text, not of the bytes it encodes
		// (sha256sum of the 40 characters).
		{"9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "5cc1e9113bbaa7040c4e0fbe80ea6aa743e34add380c596abe5fe584ece883ec"},
	}
	for _, tt := range tests {
		if got := Digest(tt.key); got != tt.want {
			t.Errorf("Digest(%q) = %s; want %s", tt.key, got, tt.want)
		}
	}
}

func TestWellFormedKey(t *testing.T) {
	const good = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b" // DRF's documentation example
	tests := []struct {
		name, key string
		want      bool
	}{
		{"DRF-shaped key", good, true},
		{"all digits", strings.Repeat("0", 40), true},
		{"empty", "", false},
		{"39 characters", good[:39], false},
		{"41 characters", good + "0", false},
		{"upper case", strings.ToUpper(good), false},
		{"one upper-case letter", "A" + good[1:], false},
		{"non-hex letter", "g" + good[1:], false},
		{"space inside", good[:20] + " " + good[21:], false},
		{"non-ASCII", "é" + good[2:], false},
		{"NUL", "\x00" + good[1:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WellFormedKey(tt.key); got != tt.want {
				t.Errorf("WellFormedKey(%q) = %v; want %v", tt.key, got, tt.want)
			}
		})
	}
}
